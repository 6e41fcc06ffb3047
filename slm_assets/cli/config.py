"""``slm-bench config {paths,schema}``: where a config puts things, and its JSON Schema for editors."""

import argparse
import json
import os
import sys

from slm_assets.config import config_json_schema, default_dagster_home, load_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("config", help="print the resolved paths, or the config's JSON Schema",
                                   description=__doc__)
    action = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    action.add_parser("paths", help="the config file, data directory, registry and Dagster instance in use")
    schema = action.add_parser("schema", help="the JSON Schema of a config file (YAML language servers read it)")
    schema.add_argument("--out", help="write it to this file instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "schema":
        text = json.dumps(config_json_schema(), indent=2) + "\n"
        if args.out:
            from slm_assets.core.io import atomic_write_text

            atomic_write_text(args.out, text)
            print(f"wrote {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    settings = load_settings(args.config)
    home = os.environ.get("DAGSTER_HOME") or default_dagster_home(settings.config_path)
    print(f"config         {settings.config_path}")
    print(f"data_dir       {settings.data_dir}")
    print(f"registry_dir   {settings.registry_dir}")
    print(f"DAGSTER_HOME   {home}")
    return 0
