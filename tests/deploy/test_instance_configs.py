"""The shipped dagster.yaml files are valid against Dagster's own config schema.

The Kubernetes and Docker variants cannot run here; validating them (top level and
each configurable class's own schema) is what catches a typo before a deploy does.
"""

import importlib
import shutil
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config

from tests.support.config_tree import leaves

ROOT = Path(__file__).resolve().parents[2]
INSTANCE_FILES = [ROOT / "dagster.yaml", *sorted((ROOT / "deploy").glob("dagster.*.yaml"))]


def _configurable_sections(raw: dict) -> list[tuple[str, dict]]:
    return [(key, value) for key, value in raw.items() if isinstance(value, dict) and "module" in value]


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=lambda p: p.name)
def test_instance_file_is_valid(path, tmp_path):
    shutil.copy(path, tmp_path / "dagster.yaml")
    dagster_instance_config(str(tmp_path))  # raises DagsterInvalidConfigError
    raw = yaml.safe_load(path.read_text())
    for key, section in _configurable_sections(raw):
        klass = getattr(importlib.import_module(section["module"]), section["class"])
        result = validate_config(klass.config_type(), section.get("config", {}))
        assert result.success, f"{path.name}: {key}: {[e.message for e in result.errors]}"


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=lambda p: p.name)
def test_credentials_only_come_from_the_environment(path):
    raw = yaml.safe_load(path.read_text())
    for key, value in leaves(raw):
        if key in {"password", "username", "token"}:
            pytest.fail(f"{path.name}: {key} is a literal {value!r}; use {{env: VAR}}")


def test_a_typo_is_caught(tmp_path):
    raw = yaml.safe_load((ROOT / "deploy" / "dagster.k8s.yaml").read_text())
    raw["run_launcher"]["config"]["job_namspace"] = raw["run_launcher"]["config"].pop("job_namespace")
    klass = getattr(importlib.import_module("dagster_k8s"), "K8sRunLauncher")
    assert not validate_config(klass.config_type(), raw["run_launcher"]["config"]).success
