"""One real tick of ``new_model_version_sensor`` by Dagster's own sensor daemon code, as `make ui` runs it."""

import logging
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration

from slm_assets.config import PROJECT_ROOT
from slm_assets.defs.models.sensors import SENSOR_NAME


def daemon_sensor_tick(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs the daemon's sensor iteration once on ``instance`` (code location loaded from
    ``slm_assets.definitions`` in a subprocess, reading $SLM_CONFIG) and returns the runs it created."""
    before = {run.run_id for run in instance.get_runs()}
    target = ModuleTarget(module_name="slm_assets.definitions", attribute=None,
                          working_directory=str(PROJECT_ROOT), location_name="slm_assets")
    with create_test_daemon_workspace_context(target, instance) as workspace:
        with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=1) as submit_pool:
            futures: dict = {}
            list(execute_sensor_iteration(workspace, logging.getLogger("sensor-tick"), pool, submit_pool, futures))
            for future in futures.values():
                future.result()
    ticks = instance.get_ticks(_origin_id(instance), _selector_id(instance))
    assert ticks, "the sensor did not tick"
    return [run for run in instance.get_runs() if run.run_id not in before]


def _state(instance):
    states = [s for s in instance.all_instigator_state() if s.name == SENSOR_NAME]
    assert states, f"no state for {SENSOR_NAME}"
    return states[0]


def _origin_id(instance):
    return _state(instance).instigator_origin_id


def _selector_id(instance):
    return _state(instance).selector_id
