"""``slm-bench demo``: the whole loop on the default synthetic task, on the persistent Dagster instance.

Stages: synthetic logs (if absent) -> ingestion, golden splits and their checks ->
import SmolLM2-135M-Instruct as ``production`` -> its evaluation, profile, comparison
and report (the ``evaluate_model_version`` job) -> the evaluation and profile of the same model
as it ships, its Q4_1 GGUF on llama.cpp (``@base-q4_1``, in the leaderboard beside it) -> a
reference fine-tune on golden_train -> the same job for the candidate, compared with production -> a printed summary.
Every stage reuses what exists (frozen golden set, registered versions, current
evaluations and profiles, cached predictions), so a second run is much faster.
Exit 0 when the candidate passes, 1 on a regression, 2 on an error.
"""

import argparse
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from slm_assets.config import DEFAULT_CONFIG, PROJECT_ROOT, Settings, default_dagster_home, load_settings
from slm_assets.core import layout
from slm_assets.core.ingestion.synthetic import write_logs
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelRef, ModelVersion, RegistryError

if TYPE_CHECKING:  # Dagster and torch load inside the functions: `slm-bench demo --help` stays instant.
    import dagster as dg

PASS, REGRESSION, ERROR = 0, 1, 2
DATA_ASSETS = ("production_logs", "quarantined_logs", "golden_train", "golden_validation", "golden_test",
               "production_drift")
PER_VERSION_JOB = "evaluate_model_version"


class DemoError(RuntimeError):
    """A stage that failed; the message names it and why."""


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="run the whole loop end to end and print a summary",
                                   description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic log lines when none exist (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic logs (default 0)")
    parser.add_argument("--steps", type=int, help="fine-tune steps (default: finetune.steps)")
    parser.add_argument("--log-level", default="INFO", help="Dagster console log level (default INFO)")
    parser.set_defaults(func=run)


class Stages:
    """Numbered stages with a banner, and the wall-clock and CPU time of each (the summary lists them).

    CPU time is shown too because on a shared machine wall time says more about the neighbours.
    """

    def __init__(self, total: int):
        self.total, self.seconds, self.cpu_seconds = total, {}, {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        print(f"\n==> [{len(self.seconds) + 1}/{self.total}] {name}", flush=True)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - start
            self.cpu_seconds[name] = time.process_time() - cpu
            print(f"<== {name}: {self.seconds[name]:.1f} s (CPU {self.cpu_seconds[name]:.1f} s)", flush=True)


def demo_instance(settings: Settings) -> "dg.DagsterInstance":
    """The persistent instance that ``make ui`` opens: $DAGSTER_HOME, else ``.dagster_home/<config name>``."""
    import dagster as dg

    if not os.environ.get("DAGSTER_HOME"):
        home = default_dagster_home(settings.config_path)
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def ensure_logs(settings: Settings, rows: int, seed: int) -> Path:
    """The default source folder, with synthetic logs written into it when it holds no file; a config
    that reads other sources (``configs/banking77.yaml``) is left to them."""
    folder = layout.logs_dir(settings)
    sources = [settings.resolve_path(source.path) for source in settings.logs.sources]
    if folder not in sources:
        print("the config's own log sources: " + ", ".join(str(path) for path in sources))
        return sources[0]
    if folder.is_dir() and any(p.is_file() for p in folder.iterdir()):
        print(f"reusing the logs in {folder}")
        return folder
    counts = write_logs(folder / "support_logs.jsonl", rows, seed,
                        progress=lambda n: print(f"  {n:,} / {rows:,} rows", flush=True))
    print(f"wrote {counts['rows']:,} synthetic log lines (seed {seed}) to {folder}")
    return folder


def _run_config(log_level: str) -> dict:
    return {"loggers": {"console": {"config": {"log_level": log_level.upper()}}}}


def _check_result(result, what: str) -> None:
    from slm_assets.cli.gate import _failure_reason

    if not result.success:
        raise DemoError(f"{what}: {_failure_reason(result)[1]}")


def materialize_data(instance: "dg.DagsterInstance", log_level: str) -> None:
    """Ingestion, the golden splits (frozen on the first run, verified after) and every check on them."""
    import dagster as dg

    from slm_assets.definitions import defs as load_defs

    defs = load_defs()

    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=dg.AssetSelection.assets(*DATA_ASSETS),
        instance=instance,
        resources=defs.resources,
        run_config=_run_config(log_level),
        raise_on_error=False,
    )
    _check_result(result, "ingestion and golden splits")
    checks = result.get_asset_check_evaluations()
    failed = [f"{e.asset_key.to_user_string()}:{e.check_name}" for e in checks if not e.passed]
    print(f"{len(checks)} asset checks ran, {len(checks) - len(failed)} passed"
          + (f"; warnings: {', '.join(failed)}" if failed else ""))


def run_version_job(settings: Settings, instance: "dg.DagsterInstance", version: ModelVersion, log_level: str,
                    only: tuple[str, ...] | None = None) -> bool:
    """The ``evaluate_model_version`` job on the version's partition, skipping a current evaluation or
    profile (the gate's rule), and any asset not in ``only``; True on success, False when the
    blocking ``no_regression`` check failed.

    Its runs carry ``new_model_version_sensor``'s run key for the version, so the sensor's first tick
    under ``make ui`` finds them done and launches nothing again (one path per version)."""
    import dagster as dg

    from slm_assets.cli.gate import REGRESSION as GATE_REGRESSION
    from slm_assets.cli.gate import _failure_reason, _needed
    from slm_assets.defs.models.sensors import sensor_run_tags
    from slm_assets.defs.partitions import model_versions
    from slm_assets.definitions import defs as load_defs

    defs = load_defs()
    if not instance.has_dynamic_partition(model_versions.name, version.key):
        instance.add_dynamic_partitions(model_versions.name, [version.key])
    job = defs.resolve_job_def(PER_VERSION_JOB)

    def execute(keys: list[str]):
        print(f"{PER_VERSION_JOB} [{version.key}]: {', '.join(keys)}", flush=True)
        return job.execute_in_process(
            instance=instance, partition_key=version.key, asset_selection=[dg.AssetKey(k) for k in keys],
            run_config=_run_config(log_level), raise_on_error=False,
            tags={"slm/source": "demo", **sensor_run_tags(version)},
        )

    keys = [k for k in _needed(settings, version) if only is None or k in only]
    if not keys:
        print(f"{version.key}: {', '.join(only or ())} current, nothing to run")
        return True
    result = execute(keys)
    if result.success:
        return True
    code, reason = _failure_reason(result)
    if code != GATE_REGRESSION:
        raise DemoError(f"{PER_VERSION_JOB} for {version.key}: {reason}")
    print(reason, flush=True)
    # The blocking check kept the report from running: draw it on its own, as the gate does.
    _check_result(execute(["evaluation_report"]), f"evaluation_report for {version.key}")
    return False


def ensure_finetuned(settings: Settings, base: ModelVersion, steps: int) -> ModelVersion:
    """The reference fine-tune of ``base`` on the current golden train split; skipped when registered."""
    from slm_assets.core.models.finetune import finetune

    target = ModelRef(base.ref.name, f"ft-{settings.golden.version}-{steps}")
    registry = get_registry(settings)
    try:
        found = registry.get(target)
        print(f"{target.key} already registered: fine-tune skipped")
        return found
    except RegistryError:
        pass
    result = finetune(settings, base.key, steps=steps, version=target.version)
    print(f"registered {result.ref}: best step {result.best_step}/{result.steps_run}, validation loss "
          f"{result.initial_validation_loss:.3f} -> {result.best_validation_loss:.3f} ({result.seconds:.0f} s)")
    return registry.get(target)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    # The Dagster resource reads the same file: SlmSettings() falls back to $SLM_CONFIG.
    os.environ["SLM_CONFIG"] = str(settings.config_path)
    from slm_assets.core.models.base_model import import_base_model
    from slm_assets.core.reporting.demo_summary import demo_summary

    steps = args.steps or settings.finetune.steps
    stages = Stages(total=7)
    try:
        instance = demo_instance(settings)
        print(f"config {settings.config_path}\ndata   {settings.data_dir}\nDagster instance {os.environ['DAGSTER_HOME']}")
        with stages.stage("production logs"):
            ensure_logs(settings, args.rows, args.seed)
        with stages.stage("ingestion + golden splits + checks"):
            materialize_data(instance, args.log_level)
        with stages.stage("import base model"):
            imported = import_base_model(settings, progress=lambda m: print(m, flush=True))
            baseline = imported.version
            print(f"{baseline.key} {'imported' if imported.imported else 'already registered'}")
        with stages.stage(f"evaluate + profile {baseline.key}"):
            run_version_job(settings, instance, baseline, args.log_level)
        gguf = imported.gguf_version
        with stages.stage(f"evaluate + profile {gguf.key} (GGUF on llama.cpp)"):
            # Evaluation and profile only: the leaderboard, redrawn by the candidate's report,
            # shows it beside the float32 conversion (a comparison would add side-by-side rounds).
            if importlib.util.find_spec("llama_cpp") is None:
                print(f"llama-cpp-python is not installed: {gguf.key} skipped (`make install` builds it)")
            else:
                run_version_job(settings, instance, gguf, args.log_level,
                                only=("model_evaluation", "hardware_profile"))
        with stages.stage(f"fine-tune ({steps} steps)"):
            candidate = ensure_finetuned(settings, baseline, steps)
        with stages.stage(f"evaluate + profile + compare {candidate.key}"):
            passed = run_version_job(settings, instance, candidate, args.log_level)
    except (DemoError, RegistryError, OSError, ValueError) as exc:
        print(f"slm-bench demo: {exc}", file=sys.stderr)
        return ERROR
    summary = demo_summary(settings, candidate.key, baseline.key)
    print(summary.render(stages.seconds, stages.cpu_seconds))
    if settings.config_path != DEFAULT_CONFIG.resolve():
        print(f"This config's runs are on its own instance: SLM_CONFIG={settings.config_path} make ui")
    return PASS if passed else REGRESSION
