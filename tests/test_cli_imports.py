"""The CLI's start-up stays light: neither `import slm_assets.cli` nor any `slm-bench COMMAND --help`
imports torch, Dagster, scikit-learn or transformers (fresh interpreters: this process has them all)."""

import json
import subprocess
import sys

from slm_assets.cli import COMMANDS
from slm_assets.config import PROJECT_ROOT

HEAVY = ("torch", "dagster", "sklearn", "transformers")

_PROBE = """
import contextlib, io, json, sys
import slm_assets.cli
loaded = {"import": sorted(m for m in %(heavy)r if m in sys.modules)}
for argv in [["--help"]] + [[name, "--help"] for name in slm_assets.cli.COMMANDS]:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            slm_assets.cli.main(argv)
        except SystemExit:
            pass
    loaded[" ".join(argv)] = sorted(m for m in %(heavy)r if m in sys.modules)
print(json.dumps(loaded))
"""


def test_cli_help_imports_nothing_heavy():
    out = subprocess.run([sys.executable, "-c", _PROBE % {"heavy": HEAVY}], cwd=PROJECT_ROOT, check=True,
                         capture_output=True, text=True).stdout
    loaded = json.loads(out)
    assert set(loaded) == {"import", "--help", *(f"{name} --help" for name in COMMANDS)}
    assert {call: mods for call, mods in loaded.items() if mods} == {}


def test_every_command_module_registers_under_its_name():
    import argparse
    import importlib

    for name, (module, help_text) in COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert list(sub.choices) == [name], module
        assert help_text
