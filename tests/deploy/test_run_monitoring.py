"""A killed run cannot wedge the queue (issue 17): with the shipped dagster.yaml's run monitoring,
a run whose process is SIGKILLed while it holds the only ``accelerator`` slot is marked failed
and its slot freed, so the next queued run starts. Real ``dagster dev`` (webserver, daemon, code
server) in a temp DAGSTER_HOME; only the timeouts are shortened."""

import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from tests.support.dagster_live import ROOT, LiveDagster, wait_for

# The shipped file's settings, with timeouts a test can wait for.
FAST = {"poll_interval_seconds": 1, "free_slots_after_run_end_seconds": 1}


def _instance_home(tmp_path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert raw["run_monitoring"]["enabled"] is True
    assert raw["run_monitoring"]["free_slots_after_run_end_seconds"] > 0
    assert raw["concurrency"]["pools"]["default_limit"] == 1
    raw["run_monitoring"].update(FAST)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(raw))
    return home


@pytest.mark.slow
def test_killed_run_releases_its_pool_slot(tmp_path):
    from dagster import DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(_instance_home(tmp_path)), "POOL_TEST_DIR": str(pids),
           "PYTHONPATH": str(ROOT)}
    live = LiveDagster(env, tmp_path / "dagster.log", target=["-m", "tests.support.pool_defs"])
    with live:
        client = DagsterGraphQLClient("127.0.0.1", port_number=live.port, timeout=60)
        first = client.submit_job_execution("hold_accelerator_job")
        pid = int(wait_for(lambda: _read(pids / f"{first}.pid"), 180, "the first run to hold the slot"))
        second = client.submit_job_execution("hold_accelerator_job")
        # Queued (run-level pool check) or started with its op waiting: either way held back by the slot.
        waiting = {DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}
        wait_for(lambda: client.get_run_status(second) in waiting, 60, "the second run to be submitted")
        time.sleep(FAST["poll_interval_seconds"] * 5)
        assert client.get_run_status(second) in waiting and not (pids / f"{second}.pid").exists()

        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: client.get_run_status(first) == DagsterRunStatus.FAILURE, 60, "the killed run to fail")
        # poll_interval + free_slots_after_run_end, plus the op's own slot polling: well under a minute
        wait_for(lambda: (pids / f"{second}.pid").exists(), 60, "the queued run to get the freed slot")
        os.kill(int(_read(pids / f"{second}.pid")), signal.SIGKILL)


def _read(path: Path) -> str | None:
    try:
        return path.read_text() or None
    except FileNotFoundError:
        return None
