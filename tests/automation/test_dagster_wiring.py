"""The automation stage in Dagster: drift asset + warning check, answers_unchanged on real runs,
schedules evaluated to their RunRequests, and the run-failure sensor posting to a local webhook."""

import random
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm_assets.core.golden import store as golden_store
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from slm_assets.core.schema import LOG_SCHEMA
from slm_assets.defs.automation.assets import production_drift
from slm_assets.defs.automation.checks import answers_unchanged, golden_set_still_representative
from slm_assets.defs.automation.schedules import nightly_reevaluation
from slm_assets.defs.tags import REFRESH_CACHE_TAG
from slm_assets.defs.automation.sensors import run_failure_alert
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import SlmSettings
from slm_assets.core import layout
from tests.support.log_rows import log_frame

WORDS = "refund invoice login password order status address cancel upgrade plan card payment".split()
ALIEN = "crypto wallet staking airdrop nft bridge swap gas fee token".split()


def log_rows(n, seed, words=WORDS, length=(4, 12), labels=("refund", "login", "order"), start=datetime(2026, 1, 1, tzinfo=UTC)):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(*length))) + f" #{seed}-{i}"
        rows.append({"example_id": f"{seed}-{i}", "input": text, "reference": rng.choice(labels), "timestamp": start + timedelta(hours=i)})
    return log_frame(rows)


def run_job(settings, selection, assets, checks, instance=None, partition=None):
    defs = dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[dg.define_asset_job("t", selection=selection)],
        resources={"slm": SlmSettings(config_path=str(settings.config_path))},
    )
    return defs.resolve_job_def("t").execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), partition_key=partition
    )


@pytest.fixture
def golden_settings(make_settings):
    settings = make_settings(alerts={"drift": {"window_days": 30, "min_recent_rows": 50}})
    golden_store.write_golden(
        settings, {"train": log_rows(60, 1), "validation": log_rows(20, 2), "test": log_rows(200, 3)}, "fp"
    )
    return settings


@pytest.mark.parametrize("shifted", [False, True])
def test_production_drift_and_its_warning(golden_settings, shifted):
    settings = golden_settings
    recent = log_rows(300, 4, words=WORDS + ALIEN * 3, length=(20, 40), labels=("refund",)) if shifted else log_rows(300, 4)
    old = log_rows(100, 5, start=datetime(2025, 1, 1, tzinfo=UTC), words=ALIEN)  # outside the window: ignored
    layout.ingested_dir(settings).mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(pd.concat([old, recent]), schema=LOG_SCHEMA, preserve_index=False),
                   layout.ingested_dir(settings) / "production_logs.parquet")
    result = run_job(settings, dg.AssetSelection.assets("production_drift"),
                     [production_drift], [golden_set_still_representative])
    assert result.success
    meta = result.asset_materializations_for_node("production_drift")[0].metadata
    assert meta["recent_rows"].value == 300 and meta["golden_rows"].value == 200
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "golden_set_still_representative"
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.passed is (not shifted)
    if shifted:
        assert "should get a new version" in evaluation.description
        assert evaluation.metadata["unseen_vocabulary_share"].value > 0.2
        assert evaluation.metadata["label_tv"].value > 0.15
    else:
        assert evaluation.metadata["unseen_vocabulary_share"].value < 0.05


def test_answers_unchanged_runs_after_each_evaluation(make_settings):
    settings = make_settings()
    answers = {"current": ["a", "b", "c"]}

    @dg.asset(name="model_evaluation", partitions_def=model_versions)
    def fake_evaluation(context: dg.AssetExecutionContext):
        folder = layout.evaluations_root(settings) / context.partition_key / settings.golden.version
        folder.mkdir(parents=True, exist_ok=True)
        n = len(answers["current"])
        pd.DataFrame({"example_id": [f"e{i}" for i in range(n)], "variant": ["original"] * n,
                      "prediction": answers["current"], "model_digest": ["d"] * n}).to_parquet(folder / "predictions.parquet")

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("model_versions", ["m@v1"])
    evaluations = []
    for current in (["a", "b", "c"], ["a", "b", "c"], ["a", "z", "c"]):
        answers["current"] = current
        result = run_job(settings, dg.AssetSelection.assets("model_evaluation"), [fake_evaluation],
                         [answers_unchanged], instance=instance, partition="m@v1")
        evaluations += result.get_asset_check_evaluations()
    first, same, changed = evaluations
    assert first.passed and "first evaluation" in first.description
    assert same.passed and same.metadata["compared"].value == 3 and same.metadata["changed"].value == 0
    assert not changed.passed and changed.severity == dg.AssetCheckSeverity.WARN
    assert changed.metadata["changed"].value == 1 and "environment" in changed.description


@pytest.fixture
def registry_settings(make_settings, tiny_model_dir):
    settings = make_settings()
    registry = get_registry(settings)
    for name, version in (("tiny", "base"), ("tiny", "ft1"), ("other", "v1")):
        registry.register(tiny_model_dir, name, version, ModelCard(task="t"))
    return settings


def test_nightly_reevaluation_requests_the_production_partition(registry_settings):
    settings = registry_settings
    # A real (temporary) instance: the schedule reads its dynamic partitions through an instance ref.
    with dg.instance_for_test() as instance:
        check_nightly_ticks(settings, instance)


def check_nightly_ticks(settings, instance):
    resources = {"slm": SlmSettings(config_path=str(settings.config_path))}
    when = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)

    def tick():
        # Closed after use: the context enters an instance from its ref, and an instance left entered
        # keeps its defs-state storage in a context variable after it is garbage collected.
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when, resources=resources) as context:
            return nightly_reevaluation(context)

    assert isinstance(tick(), dg.SkipReason)  # no production alias yet
    get_registry(settings).set_alias("tiny", "production", "ft1")
    skipped = tick()
    assert isinstance(skipped, dg.SkipReason) and "not yet a model_versions partition" in skipped.skip_message
    instance.add_dynamic_partitions("model_versions", ["tiny@base", "tiny@ft1", "other@v1"])
    (request,) = tick()
    assert request.partition_key == "tiny@ft1"
    assert request.run_key == "nightly-2026-03-04-tiny@ft1"
    assert request.tags["slm/trigger"] == "nightly_reevaluation" and request.tags[REFRESH_CACHE_TAG] == "true"


def test_schedules_and_sensors_in_the_project_definitions():
    from slm_assets.definitions import defs as load_defs
    defs = load_defs()

    nightly = defs.resolve_schedule_def("nightly_reevaluation")
    assert nightly.job_name == "evaluate_model_version" and nightly.cron_schedule == "0 2 * * *"
    assert nightly.default_status == dg.DefaultScheduleStatus.STOPPED
    ingest = defs.resolve_schedule_def("ingest_logs_schedule")
    assert ingest.default_status == dg.DefaultScheduleStatus.STOPPED
    ingest_keys = defs.resolve_job_def(ingest.job_name).asset_layer.asset_graph.executable_asset_keys
    assert {dg.AssetKey("production_logs"), dg.AssetKey("production_drift")} <= set(ingest_keys)
    evaluate_checks = defs.resolve_job_def("evaluate_model_version").asset_layer.asset_graph.asset_check_keys
    assert dg.AssetCheckKey(dg.AssetKey("model_evaluation"), "answers_unchanged") in evaluate_checks
    assert defs.resolve_sensor_def("run_failure_alert").default_status == dg.DefaultSensorStatus.RUNNING


def test_run_failure_sensor_posts_the_alert(webhook_server, make_settings, monkeypatch):
    url, received = webhook_server
    monkeypatch.setenv("SLM_ALERT_WEBHOOK_URL", url + "/alerts")
    settings = make_settings()

    @dg.op
    def load_weights():
        raise RuntimeError("model.safetensors is truncated")

    @dg.job
    def evaluate_model_version():
        load_weights()

    instance = dg.DagsterInstance.ephemeral()
    result = evaluate_model_version.execute_in_process(instance=instance, raise_on_error=False)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources={"slm": SlmSettings(config_path=str(settings.config_path))},
    ).for_run_failure()
    run_failure_alert(context)
    ((path, _, payload),) = received
    assert path == "/alerts"
    assert payload["job"] == "evaluate_model_version" and payload["run_id"] == result.run_id
    assert payload["failed_steps"] == ["load_weights"]
    assert "model.safetensors is truncated" in payload["error"]
