"""``slm-bench register PATH --name NAME --version VERSION [--card FILE] [--alias ALIAS]``."""

import argparse
import sys

from slm_assets.config import load_settings
from slm_assets.core.models.loading import ModelLoadError
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard, RegistryError, read_card


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "register", help="add a Hugging Face model folder, or a GGUF (a .gguf file, or a folder holding exactly one), "
        "to the registry as NAME@VERSION (immutable); a GGUF's card runs on the llama_cpp engine"
    )
    parser.add_argument("path", help="model folder (config.json, *.safetensors, tokenizer), a .gguf file, "
                        "or a folder holding one .gguf")
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--card", help="JSON model card (task, prompt_template, base_model, training_data, engine, "
                        "engine_options...); default: a card with the configured task")
    parser.add_argument("--alias", help="point this alias (e.g. production) at the new version, audited")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    try:
        card = read_card(args.card) if args.card else ModelCard(task=settings.task.name)
        registry = get_registry(settings)
        version = registry.register(
            args.path, args.name, args.version, card, progress=lambda msg: print(msg, file=sys.stderr)
        )
        print(f"registered {version.key} at {version.path} (digest {version.digest[:12]})")
        if args.alias:
            registry.set_alias(args.name, args.alias, args.version, {"reason": "slm-bench register --alias"})
            print(f"alias {args.alias} -> {version.key}")
    except (RegistryError, ModelLoadError) as exc:
        print(f"slm-bench register: {exc}", file=sys.stderr)
        return 2
    return 0
