"""``slm-bench gate --candidate NAME@VERSION``: the CI regression gate.

Materializes in-process what the candidate needs (golden splits verified with their
checks, its evaluation and profile when missing or stale, the comparison and its
blocking ``no_regression`` check, the report), prints a Markdown summary, writes
JSON, appends to ``$GITHUB_STEP_SUMMARY`` when set.
Exit 0 pass (or no baseline yet), 1 regression, 2 error; a one-line reason on stderr.
An infrastructure failure (instance database down, registry, missing or unreadable files)
is always 2, never 1: CI must not read an outage as a regression.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from slm_assets.config import ConfigError, Settings, load_settings
from slm_assets.core import layout
from slm_assets.core.io import atomic_write_json
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelChangedError, ModelRef, ModelVersion, RegistryError

# Dagster and pandas are imported inside the functions that need them, so that
# `slm-bench gate --help` stays instant (see slm_assets/cli/__init__.py).

PASS, REGRESSION, ERROR = 0, 1, 2
CHECK = "no_regression"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gate", help="gate a model version against its baseline (CI)", description=__doc__)
    parser.add_argument("--candidate", required=True, metavar="NAME@VERSION")
    parser.add_argument("--baseline", help="alias, 'previous' or NAME@VERSION (default: comparison.baseline)")
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="write the gate result as JSON here")
    parser.add_argument("--log-level", default="INFO", help="Dagster console log level (default INFO)")
    parser.set_defaults(func=run)


def _needed(settings: Settings, version: ModelVersion) -> list[str]:
    """The per-version assets to (re)materialize: evaluation and profile only when missing or stale."""
    keys = [] if layout.is_current(settings, "evaluation", version.key, version.digest) else ["model_evaluation"]
    keys += [] if layout.is_current(settings, "profile", version.key, version.digest) else ["hardware_profile"]
    return keys + ["baseline_comparison", "evaluation_report"]


def _instance():
    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _materialize(settings, instance, key: str, selection: list[str], baseline: str | None, log_level: str):
    import dagster as dg

    from slm_assets.defs.resources import SlmSettings
    from slm_assets.definitions import defs as load_defs
    defs = load_defs()

    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level.upper()}}}}
    if baseline and "baseline_comparison" in selection:
        run_config["ops"] = {"baseline_comparison": {"config": {"baseline": baseline}}}
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=dg.AssetSelection.assets(*selection),
        partition_key=key,
        instance=instance,
        resources={**defs.resources, "slm": SlmSettings(config_path=str(settings.config_path))},
        run_config=run_config,
        raise_on_error=False,
    )


def _failure_reason(result) -> tuple[int, str]:
    """Exit code and one-line reason of a failed run: a regression, a failed check, or a step error."""
    import dagster as dg

    failed_checks = [
        e for e in result.get_asset_check_evaluations() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    for evaluation in failed_checks:
        if evaluation.check_name == CHECK:
            return REGRESSION, f"regression: {evaluation.description}"
    if failed_checks:
        names = ", ".join(f"{e.asset_key.to_user_string()}:{e.check_name}" for e in failed_checks)
        return ERROR, f"check failed: {names}"
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            cause = error.cause or error
            message = (cause.message or error.message).strip().splitlines()
            return ERROR, f"{event.step_key} failed: {message[-1] if message else cause.cls_name}"
    return ERROR, "the run failed (see the Dagster log above)"


def _summary(candidate: str, code: int, reason: str, comparison: dict | None, report: Path | None) -> str:
    from slm_assets.core.comparison.compare import markdown_table

    status = {PASS: "PASS", REGRESSION: "REGRESSION", ERROR: "ERROR"}[code]
    parts = [f"## SLM gate: {candidate}: {status}", "", reason]
    if comparison is not None:
        parts += ["", markdown_table(comparison)]
    if report is not None:
        parts += ["", f"Report: `{report}`"]
    return "\n".join(parts) + "\n"


def _finish(args, candidate: str, code: int, reason: str, comparison: dict | None = None, report: Path | None = None) -> int:
    summary = _summary(candidate, code, reason, comparison, report)
    print(summary)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write(summary)
    if args.json_path:
        atomic_write_json(args.json_path, {
            "candidate": candidate,
            "exit_code": code,
            "status": {PASS: "pass", REGRESSION: "regression", ERROR: "error"}[code],
            "reason": reason,
            "verdict": comparison["verdict"] if comparison else None,
            "baseline": comparison["baseline"] if comparison else None,
            "report": str(report) if report else None,
            "comparison": comparison,
        })
    print(f"slm-bench gate: {reason}", file=sys.stderr)
    return code


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def run(args: argparse.Namespace) -> int:
    try:
        return _gate(args)
    except ConfigError:
        raise  # exit 2 in cli.main, with every invalid key listed
    except Exception as exc:  # anything outside the verdict is infrastructure: exit 2 with one line
        reason = f"infrastructure error, no verdict: {_one_line(exc)}"
        try:
            return _finish(args, args.candidate, ERROR, reason)
        except Exception as second:  # the summary or JSON file cannot be written either
            print(f"slm-bench gate: {reason}; and writing the result failed: {_one_line(second)}", file=sys.stderr)
            return ERROR


def _gate(args: argparse.Namespace) -> int:
    from slm_assets.defs.partitions import model_versions

    settings = load_settings(args.config)
    try:
        version = get_registry(settings).get(ModelRef.parse(args.candidate))
    except ModelChangedError as exc:
        return _finish(args, args.candidate, ERROR, f"registered model changed: {exc}")
    except RegistryError as exc:
        return _finish(args, args.candidate, ERROR, f"unknown model: {exc}")
    key = version.key
    instance = _instance()
    if not instance.has_dynamic_partition(model_versions.name, key):
        instance.add_dynamic_partitions(model_versions.name, [key])
    golden = ["golden_train", "golden_validation", "golden_test"]
    result = _materialize(settings, instance, key, golden + _needed(settings, version), args.baseline, args.log_level)
    code, reason = (PASS, "") if result.success else _failure_reason(result)
    comparison_file = layout.comparison_file(settings, key)
    comparison = None
    if code != ERROR and comparison_file.is_file():
        comparison = json.loads(comparison_file.read_text(encoding="utf-8"))
    report = layout.report_file(settings, key)
    if code == REGRESSION:
        # The blocking check kept the report from running in that run: draw it on its own.
        _materialize(settings, instance, key, ["evaluation_report"], None, args.log_level)
    if code == PASS:
        reason = (f"no baseline yet ({comparison['baseline_spec']!r}): passes as the first model"
                  if comparison["verdict"] == "no_baseline" else f"pass against {comparison['baseline']}")
    return _finish(args, key, code, reason, comparison, report if report.is_file() and code != ERROR else None)
