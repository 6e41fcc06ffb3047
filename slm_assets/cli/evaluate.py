"""``slm-bench evaluate NAME@VERSION``: model_evaluation from the command line (no Dagster run)."""

import argparse
import json
import sys

from slm_assets.config import load_settings

_SHOWN = ("n_examples", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_f1", "token_f1",
          "hallucination_rate", "invalid_rate", "error_rate", "robustness_worst_family",
          "robustness_worst_family_accuracy", "robustness_consistency", "cached_examples", "generated_examples")


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="evaluate a model version on golden_test (quality, robustness)")
    parser.add_argument("model", metavar="NAME@VERSION")
    parser.add_argument("--max-examples", type=int, help="stratified subset of golden_test (default: evaluation.max_examples)")
    parser.add_argument("--batch-size", type=int, help="default: evaluation.batch_size")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: evaluation.device")
    parser.add_argument("--no-robustness", action="store_true", help="skip the prompt-variant families")
    parser.add_argument("--json", action="store_true", help="print the whole metrics.json")
    parser.set_defaults(func=run)


def _overrides(args: argparse.Namespace, base) -> dict:
    evaluation = {}
    if args.max_examples is not None:
        evaluation["max_examples"] = args.max_examples
    if args.batch_size is not None:
        evaluation["batch_size"] = args.batch_size
    if args.device:
        evaluation["device"] = args.device
    if args.no_robustness:
        evaluation["robustness"] = {**base.evaluation.robustness.model_dump(), "enabled": False}
    return {"evaluation": evaluation} if evaluation else {}


def run(args: argparse.Namespace) -> int:
    from slm_assets.core.evaluation.contamination import ContaminationError
    from slm_assets.core.evaluation.run import evaluate_model
    from slm_assets.core.golden.store import GoldenSetError
    from slm_assets.core.models.loading import ModelLoadError
    from slm_assets.core.models.registry import get_registry
    from slm_assets.core.models.versions import RegistryError

    base = load_settings(args.config)
    settings = load_settings(base.config_path, overrides=_overrides(args, base))
    try:
        version = get_registry(settings).get(args.model)
        result = evaluate_model(settings, version, progress=lambda m: print(m, file=sys.stderr))
    except ContaminationError as exc:
        print(f"slm-bench evaluate: blocked: {exc}", file=sys.stderr)
        return 2
    except (RegistryError, ModelLoadError, GoldenSetError, OSError, ValueError) as exc:
        print(f"slm-bench evaluate: {exc}", file=sys.stderr)
        return 2
    metrics = result.metrics
    if args.json:
        print(json.dumps(metrics, indent=2, sort_keys=True, default=str))
        return 0
    print(f"# evaluation {args.model} on golden {metrics['golden_version']}\n")
    for name in _SHOWN:
        value = metrics.get(name)
        print(f"{name:34} {value:.4f}" if isinstance(value, float) else f"{name:34} {value}")
    print(f"\nwrote {result.metrics_path}\n      {result.predictions_path}")
    return 0
