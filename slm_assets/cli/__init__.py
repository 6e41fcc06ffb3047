"""``slm-bench``: the command line for people and CI.

Each subcommand lives in its own module here and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed args and returning the exit code).
Exit codes: 0 success/pass, 1 regression (gate), 2 error, 3 inconclusive (gate, when
``comparison.fail_on_inconclusive``).
"""

import argparse
import importlib
import sys

from slm_assets.config import ConfigError

_COMMANDS = (
    "generate_logs",
    "ingest",
    "register",
    "import_base_model",
    "evaluate",
    "profile",
    "gate",
    "plan",
    "finetune",
    "demo",
    "recommend",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slm-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="YAML config (default: $SLM_CONFIG, else configs/default.yaml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"slm_assets.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"slm_assets.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
