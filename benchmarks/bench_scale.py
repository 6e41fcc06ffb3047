"""Fan-out: four tiny-model versions through the per-version job (evaluation, profiling,
comparison), first with the in-process executor one run after another, then on ONE Celery
worker, then on TWO (each worker one process, one torch thread), the four runs launched at once.

Real parts on 127.0.0.1: a redis-server broker, a PostgreSQL 15 instance (which also holds the
prediction cache), ``dagster-celery`` workers and ``dagster job execute`` run processes, with the
shipped deploy/dagster.celery.yaml and deploy/celery.yaml. Each phase has its own database and
data dir, so every answer is generated (no phase reads another's cache).

- speed-up: the four runs' wall time (first RUN_START to last RUN_SUCCESS) on one worker
  divided by that on two;
- Celery overhead per step, from each Celery phase's events (timestamps written by the run
  process and the worker): dispatch (task submitted -> the worker reports it, which it does after
  loading the code location and planning the step; the smallest value, the one without queueing),
  resource set-up in the worker (report -> STEP_START) and result wait (STEP_SUCCESS -> the run's
  next step submitted: the executor polls results once a second), medians. The headline is the
  two-worker phase, where a worker is often idle when a step arrives (with one worker the four
  runs' steps always queue). The in-process executor has none of these; its median step
  (STEP_START -> STEP_SUCCESS) is given for scale.

    .venv/bin/python benchmarks/bench_scale.py          # a few minutes on 2 cores

Prints a table and writes ``benchmarks/results/bench_scale.json``.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["OMP_NUM_THREADS"] = "1"
for _var in ("SLM_CONFIG", "SLM_DATA_DIR", "SLM_REGISTRY_DIR", "DAGSTER_HOME", "SLM_CACHE_URL"):
    os.environ.pop(_var, None)

import dagster as dg  # noqa: E402

from slm_assets.core.io import atomic_write_json  # noqa: E402
from slm_assets.testing import build_tiny_model  # noqa: E402
from tests.support.celery_cluster import CeleryCluster, latest_run  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402
from tests.support.redis import start_redis  # noqa: E402
from tests.support.tiny_project import TINY_SECTIONS, build_tiny_project  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_scale.json"
VERSIONS = [f"tiny@v{i}" for i in range(1, 5)]
TASK = {**TINY_SECTIONS["task"], "max_new_tokens": 8}
EVENTS = {dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.STEP_START,
          dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.ENGINE_EVENT}


def _step_times(records) -> dict[str, dict[str, float]]:
    """Per step: submitted, picked_up (Celery only), started, succeeded (first of each)."""
    steps: dict[str, dict[str, float]] = {}
    for r in records:
        event = r.dagster_event
        if not r.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            name = "started"
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            name = "succeeded"
        elif "Submitting celery task" in (event.message or ""):
            name = "submitted"
        elif "Celery worker" in event.engine_event_data.metadata:
            name = "picked_up"
        else:
            continue
        steps.setdefault(r.step_key, {}).setdefault(name, r.timestamp)
    return steps


def run_timings(cluster: CeleryCluster) -> dict:
    """Per run: RUN_START and RUN_SUCCESS times and its steps' event times, in order of submission/start."""
    runs = {}
    with cluster.instance() as instance:
        for key in VERSIONS:
            run = latest_run(instance, key)
            if run.status != dg.DagsterRunStatus.SUCCESS:
                raise RuntimeError(f"{key}: run {run.run_id} ended {run.status}; see {cluster.logs}")
            records = instance.all_logs(run.run_id, of_type=EVENTS)
            times = {r.dagster_event.event_type: r.timestamp for r in records if not r.step_key}
            steps = sorted(_step_times(records).values(), key=lambda t: t.get("submitted", t["started"]))
            runs[key] = {"start": times[dg.DagsterEventType.RUN_START], "end": times[dg.DagsterEventType.RUN_SUCCESS],
                         "steps": steps}
    return runs


def celery_overhead(runs: dict) -> dict:
    dispatch, setup, result_wait = [], [], []
    for run in runs.values():
        steps = run["steps"]
        for i, step in enumerate(steps):
            dispatch.append(step["picked_up"] - step["submitted"])
            setup.append(step["started"] - step["picked_up"])
            if i + 1 < len(steps):
                result_wait.append(steps[i + 1]["submitted"] - step["succeeded"])
    parts = {"dispatch_and_job_load": min(dispatch), "resource_setup": statistics.median(setup),
             "result_wait": statistics.median(result_wait)}
    return {**{k: round(v, 2) for k, v in parts.items()}, "total": round(sum(parts.values()), 2)}


def phase(name: str, root: Path, pg, redis, models, args, workers: int) -> dict:
    pg.create_database(name)
    os.environ.update(pg.env(name))  # this process reads the phase's instance
    cluster = CeleryCluster.create(root / name, pg.env(name), redis.url(0), redis.url(1),
                                   config=build_tiny_project(root / name / "project", models, test_rows=args.examples,
                                                             sections={"task": TASK}),
                                   logs=root / name / "logs")
    with cluster.instance() as instance:
        cluster.prepare(instance, VERSIONS)
    if workers == 0:
        for key in VERSIONS:  # the in-process executor: one run after another
            cluster.finish(cluster.launch(key, executor="in_process"))
    else:
        for i in range(workers):
            cluster.start_worker(f"worker{i + 1}")
        cluster.wait_until_ready()
        try:
            for proc in [cluster.launch(key) for key in VERSIONS]:
                cluster.finish(proc)
        finally:
            cluster.stop_workers()
    runs = run_timings(cluster)
    wall = max(r["end"] for r in runs.values()) - min(r["start"] for r in runs.values())
    durations = [s["succeeded"] - s["started"] for r in runs.values() for s in r["steps"]]
    return {"workers": workers, "wall_seconds": round(wall, 2),
            "run_seconds": {k: round(r["end"] - r["start"], 2) for k, r in runs.items()},
            "steps": len(durations), "median_step_seconds": round(statistics.median(durations), 2),
            **({"celery_overhead_per_step_seconds": celery_overhead(runs)} if workers else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=48, help="golden_test rows per version")
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    pg, redis = start_postgres(), start_redis()
    try:
        models = {key: build_tiny_model(root / "models" / key, seed=i, hidden_size=args.hidden_size,
                                        layers=args.layers, initializer_range=0.25)
                  for i, key in enumerate(VERSIONS)}
        started = time.time()
        phases = {name: phase(name, root, pg, redis, models, args, workers)
                  for name, workers in (("in_process", 0), ("celery_1_worker", 1), ("celery_2_workers", 2))}
    finally:
        redis.stop()
        pg.stop()
    shutil.rmtree(root, ignore_errors=True)  # kept after a failure: the logs are in it

    one, two, inproc = phases["celery_1_worker"], phases["celery_2_workers"], phases["in_process"]
    results = {
        "versions": len(VERSIONS), "examples": args.examples, "model": {"hidden_size": args.hidden_size, "layers": args.layers},
        "cpus": os.cpu_count(), "load_average_1min_at_end": round(os.getloadavg()[0], 1),
        "torch_threads_per_worker": 1, "phases": phases,
        "speedup_two_vs_one_worker": round(one["wall_seconds"] / two["wall_seconds"], 2),
        "celery_overhead_per_step_seconds": two["celery_overhead_per_step_seconds"]["total"],
        "in_process_median_step_seconds": inproc["median_step_seconds"],
        "benchmark_seconds": round(time.time() - started, 1),
    }
    print(f"{'phase':<18} {'workers':>7} {'wall s':>8} {'steps':>6} {'median step s':>14}")
    for name, p in phases.items():
        print(f"{name:<18} {p['workers']:>7} {p['wall_seconds']:>8.1f} {p['steps']:>6} {p['median_step_seconds']:>14.2f}")
    print(f"speed-up, two workers vs one: {results['speedup_two_vs_one_worker']}x")
    print(f"Celery overhead per step: {two['celery_overhead_per_step_seconds']} s "
          f"(in-process median step: {results['in_process_median_step_seconds']} s)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS, results)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
