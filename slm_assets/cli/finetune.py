"""``slm-bench finetune``: the reference fine-tune of a base SLM on golden_train, registered as a new version."""

import argparse
import json
import sys

from slm_assets.config import load_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a registered model on golden_train and register the result",
        description=(
            "Fine-tunes NAME@VERSION on the train split of a frozen golden version (validation split for "
            "the best checkpoint; the test split is never read) and registers NAME@<new version> with a "
            "card naming its base and training data. Options default to the config's `finetune` section."
        ),
    )
    parser.add_argument("--base", required=True, metavar="NAME@VERSION", help="registered model to start from")
    parser.add_argument("--golden", metavar="VERSION", help="golden set version (default: golden.version)")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: finetune.steps)")
    parser.add_argument("--version", help="version of the result (default: ft-<golden>-<UTC time>)")
    parser.add_argument("--json", metavar="PATH", help="also write the training summary as JSON here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from slm_assets.core.models.finetune import FinetuneError, finetune
    from slm_assets.core.golden.store import GoldenSetError
    from slm_assets.core.io import atomic_write_json
    from slm_assets.core.models.loading import ModelLoadError
    from slm_assets.core.models.registry import get_registry
    from slm_assets.core.models.versions import ModelRef, RegistryError

    settings = load_settings(args.config)
    if args.steps is not None and args.steps < 1:
        print("slm-bench finetune: --steps must be at least 1", file=sys.stderr)
        return 2
    try:
        base = ModelRef.parse(args.base)
        if args.version:
            target = ModelRef.parse(f"{base.name}@{args.version}")
            existing = get_registry(settings).list_ready()
            if any(v.ref == target for v in existing):
                print(f"{target.key} is already registered: nothing to do (pass another --version to train again)")
                return 0
        result = finetune(settings, base.key, golden_version=args.golden, steps=args.steps, version=args.version)
    except (FinetuneError, GoldenSetError, ModelLoadError, RegistryError, ValueError) as exc:
        print(f"slm-bench finetune: {exc}", file=sys.stderr)
        return 2
    summary = result.to_dict()
    if args.json:
        atomic_write_json(args.json, summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
    return 0
