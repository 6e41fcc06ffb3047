"""Live-traffic drop detection: the production version on recent labelled rows outside the golden set,
a two-proportion test against golden_test, and exactly one alert when its live accuracy drops."""

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm_assets.config import LiveTrafficConfig
from slm_assets.core import layout
from slm_assets.core.automation.live import live_rows, two_proportion_drop
from slm_assets.core.evaluation.run import evaluate_model
from slm_assets.core.golden.store import write_golden
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from slm_assets.core.reporting.history import NIGHTLY_TRIGGER, read_history
from slm_assets.core.schema import LOG_SCHEMA
from slm_assets.defs.automation.sensors import quality_alerts
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import SlmSettings
from slm_assets.defs.tags import TRIGGER_TAG
from tests.support.log_rows import log_rows

LATER = pd.Timestamp("2026-03-01", tz="UTC")


def test_two_proportion_drop_with_its_interval():
    cfg = LiveTrafficConfig(min_rows=30, alpha=0.05, min_drop=0.02)
    drop = two_proportion_drop(60, 100, 85, 100, cfg)
    assert drop.significant_drop and drop.difference == pytest.approx(-0.25)
    assert drop.ci[0] < -0.25 < drop.ci[1] < 0 and drop.p_value < 0.001
    same = two_proportion_drop(84, 100, 85, 100, cfg)
    assert not same.significant_drop and same.ci[0] < 0 < same.ci[1]
    better = two_proportion_drop(95, 100, 85, 100, cfg)
    assert not better.significant_drop and better.p_value > 0.9
    few = two_proportion_drop(0, 10, 85, 100, cfg)
    assert few.difference is None and "min_rows=30" in few.describe()


@pytest.fixture(scope="module")
def lively_dir(tmp_path_factory):
    from slm_assets.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("lively") / "model", seed=3, initializer_range=0.25)


def _sections(data_dir):
    return {
        "data_dir": str(data_dir),
        "task": {"type": "generation", "max_new_tokens": 3, "stop": ["\n"]},
        "evaluation": {"batch_size": 8, "device": "cpu", "robustness": {"enabled": False}},
        "alerts": {"live_traffic": {"window_days": 60, "max_rows": 40, "min_rows": 20, "min_drop": 0.1}},
    }


def _register(settings, model_dir):
    return get_registry(settings).register(model_dir, "tiny", "v1", ModelCard(task=settings.task.name))


def _answers(make_settings, tmp_path, model_dir, frame) -> dict[str, str]:
    """What the model answers each row (a scratch data dir): the references that make it right."""
    scratch = make_settings("scratch.yaml", **_sections(tmp_path / "scratch"))
    write_golden(scratch, {"train": frame.head(2), "validation": frame.head(2), "test": frame}, source_fingerprint="t")
    result = evaluate_model(scratch, _register(scratch, model_dir), show_progress=False, contamination=None)
    return dict(zip(result.predictions["example_id"], result.predictions["prediction"], strict=True))


def _write_logs(settings, frames):
    path = layout.production_logs_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(pd.concat(frames), schema=LOG_SCHEMA, preserve_index=False), path)


def _nightly(settings, instance, key):
    from slm_assets.definitions import defs

    job = defs().resolve_job_def("nightly_production")
    result = job.execute_in_process(
        instance=instance, partition_key=key, tags={TRIGGER_TAG: NIGHTLY_TRIGGER},
        asset_selection=[dg.AssetKey("model_evaluation"), dg.AssetKey("live_traffic_evaluation")],
    )
    assert result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="quality_alerts", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
        resources={"slm": SlmSettings(config_path=str(settings.config_path))},
    )
    quality_alerts(context)
    return result


def test_a_live_accuracy_drop_sends_exactly_one_alert(make_settings, tmp_path, lively_dir, webhook_server,
                                                      monkeypatch, one_torch_thread):
    url, received = webhook_server
    monkeypatch.setenv("SLM_ALERT_WEBHOOK_URL", url + "/hooks/slack")
    golden_test, live = log_rows(40, seed=1), log_rows(40, seed=2, start=LATER.to_pydatetime())
    answers = _answers(make_settings, tmp_path, lively_dir, pd.concat([golden_test, live]))
    golden_test, live = ((f.assign(reference=f["example_id"].map(answers))) for f in (golden_test, live))
    golden_test, live = golden_test[golden_test["reference"] != ""], live[live["reference"] != ""]
    assert len(golden_test) >= 20 and len(live) >= 20, "the tiny model must answer most rows"

    settings = make_settings(**_sections(tmp_path / "data"))
    monkeypatch.setenv("SLM_CONFIG", str(settings.config_path))  # the project's resource reads it
    train, validation = log_rows(6, seed=3), log_rows(4, seed=4)
    write_golden(settings, {"train": train, "validation": validation, "test": golden_test}, source_fingerprint="t")
    version = _register(settings, lively_dir)
    get_registry(settings).set_alias("tiny", "production", "v1")
    _write_logs(settings, [train, validation, golden_test, live])
    rows, window = live_rows(settings)
    assert set(rows["example_id"]) == set(live["example_id"])  # golden rows are never live rows
    assert window["outside_golden"] == len(live)

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(model_versions.name, [version.key])
    healthy = _nightly(settings, instance, version.key)
    checks = {c.check_name: c for c in healthy.get_asset_check_evaluations()}
    assert checks["live_accuracy_holds"].passed and checks["answers_unchanged"].passed
    assert received == []

    # The world moved on: recent traffic is now labelled differently from what the model answers.
    _write_logs(settings, [train, validation, golden_test, live.assign(reference="relabelled")])
    dropped = _nightly(settings, instance, version.key)
    checks = {c.check_name: c for c in dropped.get_asset_check_evaluations()}
    assert not checks["live_accuracy_holds"].passed and checks["answers_unchanged"].passed
    [(path, content_type, payload)] = received  # exactly one alert
    assert path == "/hooks/slack" and content_type == "application/json"
    assert payload["check"] == "live_accuracy_holds" and payload["partition"] == version.key
    assert payload["text"].startswith("ALERT production accuracy dropped on live traffic")
    assert "SIGNIFICANT DROP" in payload["text"] and "95% CI" in payload["text"]
    assert payload["figures"]["live_accuracy"] == 0.0
    live_history = read_history(settings).select(kind="live", model=version.key, trigger=NIGHTLY_TRIGGER)
    assert [r["metrics"]["live_accuracy"] for r in live_history] == [1.0, 0.0]
