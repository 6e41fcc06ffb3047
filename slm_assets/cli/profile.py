"""``slm-bench profile NAME@VERSION``: measure a model version's hardware profile and print it."""

import argparse
import json
import sys
from pathlib import Path

from slm_assets.config import load_settings
from slm_assets.core import layout
from slm_assets.core.models.versions import ModelRef, RegistryError

_SHOWN = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_ms", "tpot_ms", "tokens_per_second",
          "best_batch_size", "peak_memory_mb", "energy_j_per_inference", "energy_method", "load_seconds",
          "size_mb", "parameters", "roofline_share", "noisy")


def register(subparsers) -> None:
    parser = subparsers.add_parser("profile", help="profile a model version (latency, throughput, memory, energy)")
    parser.add_argument("model", metavar="NAME@VERSION")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: evaluation.device")
    parser.add_argument("--inputs", type=Path,
                        help="text file, one request per line, used instead of golden_test (e.g. before a golden set exists)")
    parser.add_argument("--show", action="store_true", help="print the stored profile.json without measuring")
    parser.add_argument("--json", action="store_true", help="print the whole profile as JSON")
    parser.set_defaults(func=run)


def _read_inputs(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    inputs = [line for line in lines if line]
    if not inputs:
        raise ValueError(f"{path}: no non-empty line to use as a request")
    return inputs


def run(args: argparse.Namespace) -> int:
    from slm_assets.core.golden.store import GoldenSetError
    from slm_assets.core.models.loading import ModelLoadError
    from slm_assets.core.profiling.scorecard import scorecard_markdown
    from slm_assets.core.profiling.version_profile import profile_version

    settings = load_settings(args.config)
    try:
        if args.show:
            path = layout.profile_file(settings, ModelRef.parse(args.model).key)
            profile = json.loads(path.read_text(encoding="utf-8"))
        else:
            inputs = _read_inputs(args.inputs) if args.inputs else None
            result = profile_version(settings, args.model, inputs=inputs, device=args.device,
                                     progress=lambda m: print(m, file=sys.stderr))
            profile, path = result.profile, result.path
    except (RegistryError, ModelLoadError, GoldenSetError, OSError, ValueError) as exc:
        print(f"slm-bench profile: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(profile, indent=2, sort_keys=True, default=str))
        return 0
    summary = profile["summary"]
    print(f"# hardware profile {args.model} ({profile['model']['device']})\n")
    for name in _SHOWN:
        value = summary.get(name)
        print(f"{name:26} {value:.4g}" if isinstance(value, float) else f"{name:26} {value}")
    if profile["noise"]["noisy"]:
        print("noise: " + "; ".join(profile["noise"]["reasons"]))
    print(f"energy: {profile['energy'].get('note')}\n")
    print(scorecard_markdown(profile["scorecard"]))
    print(f"\nprofile: {path}")
    return 0
