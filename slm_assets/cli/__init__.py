"""``slm-bench``: the command line for people and CI.

Each subcommand lives in its own module here, named in ``COMMANDS`` with its one-line
help, and exposes ``register(subparsers)``, which adds its parser and sets ``func``
(a callable taking the parsed args and returning the exit code).
Exit codes: 0 success/pass, 1 regression (gate), 2 error.

Only the chosen command's module is imported, and a command module imports nothing heavy
(torch, Dagster, scikit-learn, pandas...) at its top: those imports live inside ``run``, so
``slm-bench --help`` and ``slm-bench COMMAND --help`` answer at once
(``benchmarks/bench_cli.py`` measures it, ``tests/test_cli_imports.py`` guards it).
"""

import argparse
import importlib
import os
import sys
from pathlib import Path

# name -> (module, help shown by `slm-bench --help`). A new command is one line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate-logs": ("slm_assets.cli.generate_logs", "write synthetic support-router logs (JSONL, seeded)"),
    "ingest": ("slm_assets.cli.ingest", "ingest the configured log sources into <data_dir>/ingested"),
    "register": ("slm_assets.cli.register", "add a model folder to the registry as NAME@VERSION (immutable)"),
    "import-base-model": ("slm_assets.cli.import_base_model", "register the bundled SmolLM2-135M-Instruct (idempotent)"),
    "evaluate": ("slm_assets.cli.evaluate", "evaluate a model version on golden_test (quality, robustness)"),
    "profile": ("slm_assets.cli.profile", "profile a model version (latency, throughput, memory, energy)"),
    "gate": ("slm_assets.cli.gate", "gate a model version against its baseline (CI)"),
    "finetune": ("slm_assets.cli.finetune", "fine-tune a registered model on golden_train and register the result"),
    "demo": ("slm_assets.cli.demo", "run the whole loop end to end and print a summary"),
    "config": ("slm_assets.cli.config", "print the resolved paths, or the config's JSON Schema"),
}


def _chosen_command(argv: list[str]) -> str | None:
    """The subcommand named on the command line, if any, found without importing any command."""
    pre = argparse.ArgumentParser(add_help=False)
    _global_options(pre)
    pre.add_argument("command", nargs="?")
    known, _ = pre.parse_known_args(argv)
    return known.command


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config (default: $SLM_CONFIG, else configs/default.yaml)")
    parser.add_argument("--data-dir", help="output root; wins over $SLM_DATA_DIR and the config's data_dir")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the command named in ``argv`` gets its full parser (and its module imported)."""
    parser = argparse.ArgumentParser(prog="slm-bench", description=__doc__.splitlines()[0])
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen_command(list(sys.argv[1:] if argv is None else argv))
    for name, (module_name, help_text) in COMMANDS.items():
        if name == chosen:
            importlib.import_module(module_name).register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    if args.data_dir:
        # The environment carries it to every reader, the in-process Dagster resources included.
        os.environ["SLM_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    from slm_assets.config import ConfigError

    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"slm-bench: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slm-bench: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
