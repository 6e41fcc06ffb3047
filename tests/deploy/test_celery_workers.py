"""The per-version job on real Celery workers: Redis broker, PostgreSQL instance, two worker
processes with distinct names. Steps of concurrent runs land on both workers and their metrics
equal an in-process run; a worker SIGKILLed in the middle of a step loses nothing: Redis
redelivers the step to the other worker and the run ends with the same metrics."""

import json

import dagster as dg
import pandas as pd
import pytest

from slm_assets.config import load_settings
from slm_assets.core.evaluation.cache import PostgresPredictionCache
from slm_assets.core.models.registry import get_registry
from slm_assets.defs.evaluation.assets import model_evaluation
from slm_assets.defs.resources import ModelEngines, SlmSettings
from slm_assets.testing import build_tiny_model
from tests.support.celery_cluster import CeleryCluster, latest_run, step_workers
from tests.support.dagster_live import ROOT, wait_for
from tests.support.tiny_project import build_tiny_project
from slm_assets.core import layout

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

VERSIONS = ("tiny@v1", "tiny@v2", "tiny@v3")
KILLED = "tiny@v4"  # its evaluation step is held on the first worker that takes it, which is then killed
METRICS = ("accuracy", "macro_f1", "hallucination_rate", "invalid_rate", "robustness_consistency",
           "n_examples", "per_stratum")
# Steps here last seconds; the shipped 6 hours would make the test wait that long for redelivery.
VISIBILITY_TIMEOUT = 45


@pytest.fixture(scope="module")
def cluster(postgres, redis_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("celery")
    postgres.create_database("dagster_celery")
    models = {key: build_tiny_model(root / "models" / key, seed=i, initializer_range=0.25)
              for i, key in enumerate((*VERSIONS, KILLED))}
    gate = root / "gate"
    gate.mkdir()
    cluster = CeleryCluster.create(
        root, postgres.env("dagster_celery"), redis_server.url(0), redis_server.url(1),
        config=build_tiny_project(root / "project", models), logs=ROOT / "test-artifacts" / "celery",
        visibility_timeout=VISIBILITY_TIMEOUT, SLM_TEST_GATE_DIR=str(gate), SLM_TEST_GATE_PARTITION=KILLED,
    )
    cluster.defs_module = "tests.deploy.celery_defs"
    cluster.gate = gate
    cluster.reference = build_tiny_project(root / "reference", models)
    cluster.cache_url = postgres.url("dagster_celery")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in postgres.env("dagster_celery").items():
            mp.setenv(key, value)
        with cluster.instance() as instance:
            cluster.prepare(instance, [*VERSIONS, KILLED])
            cluster.dagster = instance
            yield cluster


@pytest.fixture
def two_workers(cluster):
    for name in ("w1", "w2"):
        cluster.start_worker(name)
    cluster.wait_until_ready()
    yield cluster.workers
    cluster.stop_workers()


def _in_process(config, key: str) -> dict:
    """The same evaluation as an ordinary in-process Dagster run (SQLite cache, ephemeral instance)."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("model_versions", [key])
        result = dg.materialize([model_evaluation], partition_key=key, instance=instance,
                                resources={"slm": SlmSettings(config_path=str(config)), "engines": ModelEngines()})
    assert result.success
    return _outcome(config, key)


def _outcome(config, key: str) -> dict:
    settings = load_settings(config)
    folder = layout.evaluations_root(settings) / key / settings.golden.version
    metrics = json.loads((folder / "metrics.json").read_text())
    predictions = pd.read_parquet(folder / "predictions.parquet").sort_values(["example_id", "variant"])
    return {
        **{name: metrics[name] for name in METRICS},
        "answers": predictions[["example_id", "variant", "raw_output", "prediction", "correct"]].values.tolist(),
    }


def _assert_same_as_in_process(cluster, key: str) -> None:
    assert _outcome(load_settings(cluster.env["SLM_CONFIG"]).config_path, key) == _in_process(cluster.reference, key)
    digest = get_registry(load_settings(cluster.env["SLM_CONFIG"])).get(key).digest
    # The workers shared the instance's PostgreSQL cache, one row per prompt.
    n_prompts = len(_outcome(cluster.reference, key)["answers"])
    assert PostgresPredictionCache(cluster.cache_url).count(digest) == n_prompts


def test_steps_run_on_both_workers_and_equal_an_in_process_run(cluster, two_workers):
    procs = [cluster.launch(key) for key in VERSIONS]
    for proc in procs:
        cluster.finish(proc)
    seen = set()
    for key in VERSIONS:
        run = latest_run(cluster.dagster, key)
        assert run.status == dg.DagsterRunStatus.SUCCESS, key
        steps = step_workers(cluster.dagster, run.run_id)
        assert "model_evaluation" in {step for step, _ in steps}
        seen |= {worker for _, worker in steps}
        _assert_same_as_in_process(cluster, key)
    assert seen == {"w1", "w2"}


def test_a_killed_worker_s_step_is_retried_on_the_other(cluster, two_workers):
    proc = cluster.launch(KILLED)
    held = wait_for(lambda: (cluster.gate / "held").exists() and (cluster.gate / "held").read_text(), 600,
                    "a worker to hold the evaluation step", interval=0.2)
    two_workers[held].kill()
    (cluster.gate / "release").touch()  # nobody waits any more; the redelivered step passes the gate anyway
    cluster.finish(proc)

    run = latest_run(cluster.dagster, KILLED)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    other = ({"w1", "w2"} - {held}).pop()
    evaluation = [worker for step, worker in step_workers(cluster.dagster, run.run_id) if step == "model_evaluation"]
    assert evaluation == [held, other]
    _assert_same_as_in_process(cluster, KILLED)
