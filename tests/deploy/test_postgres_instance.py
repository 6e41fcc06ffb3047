"""The Dagster instance on a real PostgreSQL 15 server: the sensor-triggered, partitioned
evaluation runs on it, and run history, partitions and the sensor cursor survive a restart."""

import os
import shutil

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType

from slm_assets.config import load_settings
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from slm_assets.testing import build_tiny_model
from tests.support.dagster_live import ROOT, LiveDagster, wait_for
from tests.support.tiny_project import build_tiny_project

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _runs(instance, partition):
    return instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition}))


def _sensor_state(instance):
    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    return next(s for s in states if s.instigator_name == "new_model_version_sensor")


def _ticks(instance):
    state = _sensor_state(instance)
    return instance.get_ticks(state.instigator_origin_id, state.selector_id)


def _succeeded(instance, partition):
    runs = _runs(instance, partition)
    failed = [r for r in runs if r.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)]
    if failed:
        raise AssertionError(f"run {failed[0].run_id} for {partition} ended {failed[0].status}")
    return [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]


def test_sensor_and_runs_survive_a_restart_on_postgres(postgres, tmp_path, monkeypatch):
    postgres.create_database("dagster_e2e")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    config = build_tiny_project(tmp_path / "project")
    settings = load_settings(config)
    registry = get_registry(settings)
    registry.register(build_tiny_model(tmp_path / "m1", seed=0), "tiny", "v1", ModelCard(task=settings.task.name))
    env = {**os.environ, **postgres.env("dagster_e2e"), "DAGSTER_HOME": str(home), "SLM_CONFIG": str(config)}
    for key, value in postgres.env("dagster_e2e").items():
        monkeypatch.setenv(key, value)
    instance = dg.DagsterInstance.from_config(str(home))
    assert "Postgres" in type(instance.run_storage).__name__

    logs = ROOT / "test-artifacts" / "postgres"
    logs.mkdir(parents=True, exist_ok=True)
    with LiveDagster(env, logs / "dagster-1.log"):
        wait_for(lambda: _succeeded(instance, "tiny@v1"), 900, "the sensor-triggered run of tiny@v1")
    runs_before = {r.run_id for r in _runs(instance, "tiny@v1")}
    cursor_before = _sensor_state(instance).instigator_data.cursor
    ticks_before = len(_ticks(instance))
    assert "tiny@v1" in cursor_before
    assert instance.get_dynamic_partitions("model_versions") == ["tiny@v1"]

    # A new process on the same storage: no run repeated, then exactly one run for a new version.
    fresh = dg.DagsterInstance.from_config(str(home))
    with LiveDagster(env, logs / "dagster-2.log"):
        wait_for(lambda: len(_ticks(fresh)) > ticks_before, 180, "a sensor tick after the restart")
        assert {r.run_id for r in _runs(fresh, "tiny@v1")} == runs_before
        assert _sensor_state(fresh).instigator_data.cursor == cursor_before
        registry.register(build_tiny_model(tmp_path / "m2", seed=1), "tiny", "v2", ModelCard(task=settings.task.name))
        wait_for(lambda: _succeeded(fresh, "tiny@v2"), 900, "the sensor-triggered run of tiny@v2")
    assert len(_runs(fresh, "tiny@v2")) == 1
    assert len(_runs(fresh, "tiny@v1")) == len(runs_before) == 1
    assert sorted(fresh.get_dynamic_partitions("model_versions")) == ["tiny@v1", "tiny@v2"]
    evaluation = fresh.get_latest_materialization_event(dg.AssetKey("model_evaluation"))
    assert evaluation is not None and "accuracy" in evaluation.asset_materialization.metadata
