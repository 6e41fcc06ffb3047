"""`slm-bench gate` during an outage (issue 17): the instance database down, or the registry or
the golden set broken, is exit 2 with a one-line reason on stderr, never exit 1 (a regression)
with a traceback."""

import json
import subprocess
import sys

import pytest
import yaml

from slm_assets.core import layout
from tests.evaluation.helpers import eval_sections, register, write_test_golden
from tests.support.dagster_live import ROOT, free_port


@pytest.fixture
def project(make_settings, tiny_model_dir):
    settings = make_settings(**eval_sections())
    write_test_golden(settings, test_rows=6)
    register(settings, tiny_model_dir, "tiny", "v1")
    return settings


def _gate(settings, tmp_path, env_extra: dict) -> tuple[int, str, dict]:
    out = tmp_path / "gate.json"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), **env_extra}
    proc = subprocess.run(
        [sys.executable, "-m", "slm_assets", "--config", str(settings.config_path), "gate", "--candidate", "tiny@v1",
         "--json", str(out)], env=env, capture_output=True, text=True, timeout=300,
    )
    return proc.returncode, proc.stderr, json.loads(out.read_text())


def _one_line_error(code: int, stderr: str) -> str:
    assert code == 2, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    return [line for line in stderr.splitlines() if line.startswith("slm-bench gate:")][-1]


def test_instance_database_down_is_exit_2_not_a_regression(project, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    storage = {"postgres": {"postgres_db": {"hostname": "127.0.0.1", "port": free_port(), "username": "u",
                                            "password": "p", "db_name": "d"}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage}))
    code, stderr, result = _gate(project, tmp_path, {"DAGSTER_HOME": str(home)})
    line = _one_line_error(code, stderr)
    assert "infrastructure error, no verdict" in line and "DB connection" in line, line
    assert result["status"] == "error" and result["exit_code"] == 2
    assert "ERROR" in (tmp_path / "summary.md").read_text()


def test_missing_golden_set_is_exit_2(project, tmp_path):
    for path in sorted(layout.golden_root(project).rglob("*"), reverse=True):
        path.chmod(0o755)
    (layout.golden_dir(project) / "test.parquet").unlink()
    code, stderr, result = _gate(project, tmp_path, {})
    line = _one_line_error(code, stderr)
    assert "test.parquet" in line and result["status"] == "error", line
