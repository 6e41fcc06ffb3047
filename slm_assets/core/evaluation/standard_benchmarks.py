"""Standard benchmarks (lm-evaluation-harness tasks) run on a version through its engine.

``benchmarks.tasks`` names the tasks: hub tasks (``arc_easy``, ``hellaswag``) when the hub is
reachable, or tasks of a local folder (``benchmarks.include_path``) offline. Writes
``benchmarks/<key>/results.json`` (per task: main metric, n, every aggregate lm-eval reports)
and ``examples.parquet`` (task, doc_id, metric, value: one row per example and per-example
metric), which ``comparison/forgetting.py`` pairs with the baseline's.
"""

from typing import Any

import pandas as pd

from slm_assets.config import Settings
from slm_assets.core import layout
from slm_assets.core.evaluation.lm_eval_adapter import engine_lm_class
from slm_assets.core.inference.engine_cache import EngineCache, engines_for
from slm_assets.core.io import atomic_write, atomic_write_json

RESULTS_FILE = "results.json"
FORGETTING_FILE = "forgetting.json"
EXAMPLES_FILE = "examples.parquet"
# Per-example 0/1 metrics, in order of preference: the first one a task reports is its main metric.
MAIN_METRICS = ("acc", "exact_match", "acc_norm")


def main_metric(sample: dict[str, Any]) -> str | None:
    return next((m for m in MAIN_METRICS if m in sample), None)


def example_rows(samples: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    rows = []
    for task, docs in samples.items():
        for sample in docs:
            for metric, value in sample.items():
                if metric in MAIN_METRICS and isinstance(value, int | float | bool):
                    rows.append({"task": task, "doc_id": int(sample["doc_id"]), "metric": metric,
                                 "value": float(value)})
    return pd.DataFrame(rows, columns=["task", "doc_id", "metric", "value"])


def run_standard_benchmarks(settings: Settings, engine, key: str, digest: str | None = None) -> dict[str, Any]:
    """Run the configured tasks with ``engine`` and store the results; returns results.json's content."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    cfg = settings.benchmarks
    if not cfg.tasks:
        raise ValueError(f"{settings.config_path}: benchmarks.tasks is empty: no standard benchmark to run")
    include = str(settings.resolve_path(cfg.include_path)) if cfg.include_path else None
    manager = TaskManager(include_path=include)
    unknown = [t for t in cfg.tasks if t not in manager.all_tasks]
    if unknown:
        where = f" or in {include}" if include else ""
        raise ValueError(f"{settings.config_path}: benchmarks.tasks {unknown}: no such lm-eval task{where}")
    output = simple_evaluate(model=engine_lm_class()(engine, batch_size=cfg.batch_size), tasks=list(cfg.tasks),
                             task_manager=manager, limit=cfg.limit, num_fewshot=cfg.num_fewshot, log_samples=True,
                             bootstrap_iters=0, random_seed=0, numpy_random_seed=0, torch_random_seed=0,
                             fewshot_random_seed=0)
    examples = example_rows(output["samples"])
    tasks = {}
    for task in cfg.tasks:
        mine = examples[examples["task"] == task]
        metric = mine["metric"].iloc[0] if len(mine) else None
        main = mine[mine["metric"] == metric]
        aggregates = {k: v for k, v in output["results"].get(task, {}).items() if isinstance(v, int | float)}
        tasks[task] = {"metric": metric, "value": float(main["value"].mean()) if len(main) else None,
                       "n": len(main), "aggregates": aggregates}
    folder = layout.benchmarks_dir(settings, key)
    atomic_write(folder / EXAMPLES_FILE, lambda tmp: examples.to_parquet(tmp, index=False))
    results = {"model": key, "model_digest": digest, "config_hash": config_hash(settings), "tasks": tasks, "limit": cfg.limit,
               "num_fewshot": cfg.num_fewshot, "lm_eval_version": _lm_eval_version()}
    atomic_write_json(folder / RESULTS_FILE, results)
    return results


def config_hash(settings: Settings) -> str:
    return settings.section_hash("benchmarks")


def is_current(settings: Settings, version) -> bool:
    """Stored results of these weights under today's ``benchmarks`` section."""
    stored = layout.read_artifact(layout.benchmarks_dir(settings, version.key) / RESULTS_FILE)
    return bool(stored) and (stored.get("model_digest"), stored.get("config_hash")) == (version.digest,
                                                                                          config_hash(settings))


def ensure_benchmarks(settings: Settings, version, progress=None, engines: EngineCache | None = None) -> dict | None:
    """Run the tasks on ``version`` (through the engine its card names, from the run's ``engines``)
    unless current results are stored; returns the new results, or None."""
    if is_current(settings, version):
        return None
    if progress:
        progress(f"standard benchmarks {', '.join(settings.benchmarks.tasks)} on {version.key}")
    with engines_for(engines) as cache:
        engine = cache.get(version, defaults={"device": settings.evaluation.device})
        return run_standard_benchmarks(settings, engine, version.key, digest=version.digest)


def load_examples(settings: Settings, key: str) -> pd.DataFrame | None:
    path = layout.benchmarks_dir(settings, key) / EXAMPLES_FILE
    return pd.read_parquet(path) if path.is_file() else None


def _lm_eval_version() -> str:
    from importlib.metadata import version

    return version("lm_eval")
