"""The CI gate workflow cannot be steered by a pull request (issue 17): values derived from it
reach scripts only through environment variables and files, and model names and versions are
checked against the registry's rules before a shell sees them."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
# Contexts a pull request's author controls (directly, or through files, branch names, titles...).
PR_CONTROLLED = re.compile(r"github\.(event|head_ref|base_ref)|steps\.[^}]*\.outputs|needs\.[^}]*\.outputs|inputs\.")


def _steps(path: Path):
    workflow = yaml.safe_load(path.read_text())
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_run_step_interpolates_expressions(path):
    for job, step in _steps(path):
        script = step.get("run", "")
        found = re.findall(r"\$\{\{[^}]*\}\}", script)
        pr = [expr for expr in found if PR_CONTROLLED.search(expr)]
        assert not pr, f"{path.name}: job {job}, step {step.get('name')!r} pastes {pr} into its script; use env:"
        assert not found, f"{path.name}: job {job}, step {step.get('name')!r} interpolates {found}; use env:"


def test_the_gate_job_keeps_fork_pull_requests_off_the_runner():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "slm-gate.yml").read_text())
    assert "head.repo.full_name == github.repository" in workflow["jobs"]["gate"]["if"]


def test_changed_versions_keeps_only_names_the_registry_accepts():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from changed_model_versions import changed_versions
    finally:
        sys.path.pop(0)
    paths = ["models/tiny/v2/config.json", "models/tiny/v2/model.safetensors", "models/README.md",
             "models/$(touch pwned)/v1/card.json", "models/a/v1\necho=x/card.json", "models/../etc/v1/x",
             "models/ok/`id`/card.json"]
    keys, refused = changed_versions(b"\0".join(p.encode() for p in paths))
    assert keys == ["tiny@v2"]
    assert len(refused) == 4 and all("invalid model" in r for r in refused)


def _gate_script() -> str:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "slm-gate.yml").read_text())
    return next(s["run"] for s in workflow["jobs"]["gate"]["steps"] if s.get("name", "").startswith("Register and gate"))


def test_gate_step_refuses_a_hostile_line_without_running_it(tmp_path):
    """The real step script, with a recording stand-in for slm-bench: a line that slipped past the
    first check is refused again by the shell, and nothing in it is executed."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "slm-bench"
    fake.write_text('#!/bin/bash\nprintf "%s\\n" "$*" >> "$CALLS"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "dagster.yaml").write_text("{}\n")
    (tmp_path / "changed-versions.txt").write_text("tiny@v2\n$(touch pwned)@v1\nx@`touch pwned2`\n")
    env = {"PATH": os.environ["PATH"], "CALLS": str(tmp_path / "calls.txt"), "DAGSTER_HOME": str(tmp_path / "dh"),
           "SLM_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(["bash", "-e", "-c", _gate_script()], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert calls == ["register models/tiny/v2 --name tiny --version v2 --card models/tiny/v2/card.json",
                     "gate --candidate tiny@v2 --json gate-results/tiny@v2.json"]
    assert proc.stdout.count("refusing model version") == 2
