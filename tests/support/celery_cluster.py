"""A Celery deployment of the project on one machine, for tests and benchmarks: Dagster runs on a
PostgreSQL instance, their steps on ``dagster-celery`` worker processes over a Redis broker,
each worker in its own process group (so a test can SIGKILL one whole worker)."""

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import celery
import dagster as dg
import yaml

from slm_assets.defs.partitions import ACCELERATOR_POOL
from tests.support.dagster_live import ROOT, wait_for

JOB = "evaluate_model_version"


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and its pool: a lost machine, no goodbye to the broker."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class CeleryCluster:
    home: Path
    env: dict[str, str]
    celery_yaml: Path
    logs: Path
    defs_module: str = "slm_assets.definitions"
    workers: dict[str, Worker] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, pg_env: dict[str, str], broker: str, backend: str, config: Path,
               logs: Path, visibility_timeout: int | None = None, **extra_env: str) -> "CeleryCluster":
        """The shipped deploy/dagster.celery.yaml and deploy/celery.yaml, with a shorter redelivery delay if asked."""
        home = root / "home"
        home.mkdir(parents=True)
        shutil.copy(ROOT / "deploy" / "dagster.celery.yaml", home / "dagster.yaml")
        raw = yaml.safe_load((ROOT / "deploy" / "celery.yaml").read_text())
        if visibility_timeout is not None:
            source = raw["execution"]["config"]["config_source"]
            for key in ("broker_transport_options", "result_backend_transport_options"):
                source[key]["visibility_timeout"] = visibility_timeout
        celery_yaml = root / "celery.yaml"
        celery_yaml.write_text(yaml.safe_dump(raw))
        logs.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ, **pg_env, **extra_env,
            "DAGSTER_HOME": str(home), "SLM_CONFIG": str(config), "SLM_EXECUTOR": "celery",
            "SLM_CELERY_CONFIG": str(celery_yaml), "SLM_CELERY_BROKER": broker, "SLM_CELERY_BACKEND": backend,
            "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
            # dagster-celery starts the `celery` program of this environment.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("SLM_CACHE_URL", None)
        return cls(home=home, env=env, celery_yaml=celery_yaml, logs=logs)

    def instance(self) -> dg.DagsterInstance:
        """An instance on the cluster's storage (the DAGSTER_PG_* variables must be set in this process)."""
        return dg.DagsterInstance.from_config(str(self.home))

    def prepare(self, instance: dg.DagsterInstance, partitions: list[str]) -> None:
        """The partitions to run, and the accelerator pool's row created once: runs starting at the
        same moment on a fresh PostgreSQL instance otherwise race to insert it (UniqueViolation)."""
        instance.add_dynamic_partitions("model_versions", partitions)
        instance.event_log_storage.initialize_concurrency_limit_to_default(ACCELERATOR_POOL)

    def start_worker(self, name: str) -> Worker:
        log = self.logs / f"worker-{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_celery.cli", "worker", "start", "-A", "dagster_celery.app",
             "-y", str(self.celery_yaml), "-n", name],
            cwd=ROOT, env={**self.env, "SLM_TEST_WORKER": name}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers[name] = Worker(name, proc, log)
        return self.workers[name]

    def wait_until_ready(self, timeout: float = 300) -> None:
        """Every started worker answers a ping through the broker."""
        app = celery.Celery(broker=self.env["SLM_CELERY_BROKER"])

        def answered() -> bool:
            for worker in self.workers.values():
                if worker.proc.poll() is not None:
                    raise RuntimeError(f"worker {worker.name} exited; see {worker.log}")
            replies = app.control.ping(timeout=1.0) or []
            names = {host.split("@")[0] for reply in replies for host in reply}
            return names >= set(self.workers)

        wait_for(answered, timeout, f"workers {sorted(self.workers)} to answer", interval=0.5)

    def stop_workers(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.workers.clear()

    def launch(self, partition: str, executor: str = "celery") -> subprocess.Popen:
        """``dagster job execute`` of the per-version job for one partition (its run process orchestrates)."""
        log = self.logs / f"run-{partition}.log"
        return subprocess.Popen(
            [sys.executable, "-m", "dagster", "job", "execute", "-m", self.defs_module, "-a", "defs", "-j", JOB,
             "--tags", json.dumps({"dagster/partition": partition})],
            cwd=ROOT, env={**self.env, "SLM_EXECUTOR": executor}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )

    def finish(self, proc: subprocess.Popen, timeout: float = 900) -> None:
        code = proc.wait(timeout=timeout)
        if code != 0:
            raise AssertionError(f"`dagster job execute` exited {code}; see {self.logs}")


def latest_run(instance: dg.DagsterInstance, partition: str) -> dg.DagsterRun:
    return instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition}), limit=1)[0]


def step_workers(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, worker name) for each time a Celery worker began a step, in order."""
    found = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        metadata = record.dagster_event.engine_event_data.metadata
        if "Celery worker" in metadata:
            found.append((record.step_key, str(metadata["Celery worker"].value).split("@")[0]))
    return found
