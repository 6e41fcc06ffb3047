"""deploy/celery.yaml is valid for dagster-celery's executor and workers, and SLM_EXECUTOR picks
the per-version job's executor (the slow worker tests run it for real)."""

from pathlib import Path

import dagster as dg
import pytest
from dagster._config import validate_config
from dagster_celery import celery_executor

from slm_assets.defs.executors import celery_executor_config, per_version_executor

CELERY_YAML = Path(__file__).resolve().parents[2] / "deploy" / "celery.yaml"


def test_the_shipped_file_is_valid_executor_config():
    config = celery_executor_config(CELERY_YAML)
    result = validate_config(celery_executor.config_schema.config_type, config)
    assert result.success, [e.message for e in result.errors]
    # Broker URLs may hold a password: only ever from the environment.
    assert config["broker"] == {"env": "SLM_CELERY_BROKER"} and config["backend"] == {"env": "SLM_CELERY_BACKEND"}
    source = config["config_source"]
    # A step survives its worker only if acknowledged at the end, and redelivery must not
    # start a second copy of a step that is merely slow.
    assert source["task_acks_late"] and source["task_reject_on_worker_lost"]
    assert source["worker_prefetch_multiplier"] == 1 and source["worker_concurrency"] == 1
    assert source["broker_transport_options"]["visibility_timeout"] >= 3600


def test_in_process_unless_told(monkeypatch):
    monkeypatch.delenv("SLM_EXECUTOR", raising=False)
    assert per_version_executor() is dg.in_process_executor


def test_celery_from_the_shipped_file(monkeypatch):
    monkeypatch.setenv("SLM_EXECUTOR", "celery")
    monkeypatch.setenv("SLM_CELERY_CONFIG", str(CELERY_YAML))
    assert per_version_executor().name == "celery"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLM_EXECUTOR": "k8s"}, "expected 'in_process' or 'celery'"),
        ({"SLM_EXECUTOR": "celery"}, "needs SLM_CELERY_CONFIG"),
        ({"SLM_EXECUTOR": "celery", "SLM_CELERY_CONFIG": "/nonexistent/celery.yaml"}, "execution.config"),
    ],
)
def test_a_wrong_setting_says_what_to_fix(monkeypatch, env, message):
    monkeypatch.delenv("SLM_CELERY_CONFIG", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(dg.DagsterInvariantViolationError, match=message):
        per_version_executor()
