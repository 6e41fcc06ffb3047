"""A user's own config end to end with the README's commands: Banking77 (../shared/datasets) through
`slm-bench ingest`, the golden splits by `dg launch --assets` (what `make materialize` runs) on the
config's own instance, and `slm-bench evaluate` of a tiny model; its data and instance apart from the default's."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import yaml

from slm_assets.cli import main
from slm_assets.config import DEFAULT_CONFIG, PROJECT_ROOT, default_dagster_home
from tests.conftest import shared_dataset
from tests.demo.test_demo_cli import TINY

GOLDEN = "production_logs,quarantined_logs,golden_train,golden_validation,golden_test"


def _banking77_config(tmp_path):
    """configs/banking77.yaml as it is, with its data under tmp_path and the tiny run settings."""
    body = yaml.safe_load((PROJECT_ROOT / "configs" / "banking77.yaml").read_text(encoding="utf-8"))
    body["data_dir"] = str(tmp_path / "data" / "banking77")
    for section in ("evaluation", "profiling"):
        body[section] = {**body.get(section, {}), **TINY[section]}
    folder = tmp_path / "configs"
    folder.mkdir()
    path = folder / "banking77.yaml"  # the name gives the instance its folder, as in the Makefile
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def test_banking77_ingest_golden_evaluate_with_the_documented_commands(tmp_path, tiny_model_dir, monkeypatch, capsys):
    datasets = shared_dataset("banking77", "train.csv").parent.parent
    monkeypatch.setenv("SLM_DATASETS_DIR", str(datasets))
    config = _banking77_config(tmp_path)
    data = tmp_path / "data" / "banking77"

    assert main(["--config", str(config), "ingest"]) == 0
    assert "rows read              13,083" in capsys.readouterr().out

    home = tmp_path / ".dagster_home" / "banking77"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    venv = Path(sys.executable).parent
    env = {**os.environ, "SLM_CONFIG": str(config), "DAGSTER_HOME": str(home), "PYTHONPATH": str(PROJECT_ROOT),
           "VIRTUAL_ENV": str(venv.parent)}
    done = subprocess.run([str(venv / "dg"), "launch", "--assets", GOLDEN], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr, done.stderr[-3000:]
    manifest = json.loads((data / "golden" / "v1" / "manifest.json").read_text(encoding="utf-8"))
    assert sum(manifest["rows"].values()) > 12_000
    assert list((home / "storage").iterdir()), "the runs are on the config's own instance"

    assert main(["--config", str(config), "register", str(tiny_model_dir), "--name", "tiny", "--version", "v1"]) == 0
    assert main(["--config", str(config), "evaluate", "tiny@v1", "--max-examples", "8", "--no-robustness"]) == 0
    assert "# evaluation tiny@v1 on golden v1" in capsys.readouterr().out
    assert (data / "evaluations" / "tiny@v1" / "v1" / "metrics.json").is_file()


def test_each_config_has_its_own_data_and_instance(capsys):
    paths = {}
    for config in (DEFAULT_CONFIG, PROJECT_ROOT / "configs" / "banking77.yaml"):
        assert main(["--config", str(config), "config", "paths"]) == 0
        paths[config.stem] = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert paths["default"]["data_dir"] == str(PROJECT_ROOT / "data")
    assert paths["banking77"]["data_dir"] == str(PROJECT_ROOT / "data" / "banking77")
    assert paths["banking77"]["DAGSTER_HOME"] == str(default_dagster_home("configs/banking77.yaml"))
    assert paths["default"]["DAGSTER_HOME"] != paths["banking77"]["DAGSTER_HOME"]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_the_makefile_derives_the_same_instance_and_sets_no_data_dir():
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "SLM_CONFIG", "SLM_DATA_DIR")}
    for config in ("configs/default.yaml", "configs/banking77.yaml"):
        shown = subprocess.run(["make", "-s", "-n", "instance", f"SLM_CONFIG={config}"], cwd=PROJECT_ROOT, env=env,
                               capture_output=True, text=True, check=True).stdout
        assert f"mkdir -p {default_dagster_home(config)}\n" in shown
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "SLM_DATA_DIR" not in [line.split()[1] for line in makefile.splitlines() if line.startswith("export ")]
