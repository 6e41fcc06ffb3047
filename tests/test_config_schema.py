"""`slm-bench config schema` (JSON Schema from the pydantic models) and the data-directory precedence."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from slm_assets.cli import main
from slm_assets.config import PROJECT_ROOT, load_settings

CONFIGS = sorted((PROJECT_ROOT / "configs").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(_schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_text() -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["config", "schema"]) == 0
    return out.getvalue()


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_every_example_config_validates(validator, config):
    body = yaml.safe_load(config.read_text(encoding="utf-8"))
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == []


@pytest.mark.parametrize("bad, where", [
    ({"golden": {"strategi": "temporal"}}, "golden"),
    ({"golden": {"strategy": "random"}}, "golden.strategy"),
    ({"evaluation": {"batch_size": "eight"}}, "evaluation.batch_size"),
    ({"no_such_section": {}}, ""),
])
def test_the_schema_rejects_what_loading_rejects(validator, bad, where):
    errors = list(validator.iter_errors(bad))
    assert errors and ".".join(map(str, errors[0].path)) == where


def test_schema_carries_the_field_docs(validator):
    mlflow = validator.schema["$defs"]["MlflowConfig"]["properties"]["enabled"]
    assert "MLflow" in mlflow["description"]


def test_schema_to_a_file(tmp_path):
    out = tmp_path / "slm-config.schema.json"
    assert main(["config", "schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["title"].startswith("slm_assets configuration")


def _config(tmp_path: Path, data_dir: str | None) -> Path:
    path = tmp_path / "cfg" / f"{'with' if data_dir else 'without'}-data-dir.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"data_dir": data_dir} if data_dir else {}), encoding="utf-8")
    return path


def test_data_dir_precedence_cli_then_env_then_config_then_default(tmp_path, monkeypatch, capsys):
    config = _config(tmp_path, "../from-config")
    assert load_settings(_config(tmp_path, None)).data_dir == PROJECT_ROOT / "data"
    assert load_settings(config).data_dir == tmp_path / "from-config"
    monkeypatch.setenv("SLM_DATA_DIR", str(tmp_path / "from-env"))  # restored after the test, --data-dir too
    assert load_settings(config).data_dir == tmp_path / "from-env"
    assert main(["--config", str(config), "--data-dir", str(tmp_path / "from-cli"), "config", "paths"]) == 0
    assert f"data_dir       {tmp_path / 'from-cli'}" in capsys.readouterr().out
