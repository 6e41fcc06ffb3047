"""The MLflow registry backend against a real local MLflow store (SQLite), never a mock."""

import pytest

from slm_assets.core.models.registry import content_digest, get_registry
from slm_assets.core.models.versions import ModelCard, RegistryError
from slm_assets.testing import build_tiny_model


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("other") / "m", seed=1)


def test_register_get_and_list(mlflow_settings, tiny_model_dir, model_name):
    registry = get_registry(mlflow_settings)
    version = registry.register(tiny_model_dir, model_name, "v1", ModelCard(task="support-intent-routing"))
    assert version.key == f"{model_name}@v1"
    assert version.digest == content_digest(tiny_model_dir)
    assert (version.path / "config.json").exists()  # downloaded into the cache
    assert content_digest(version.path) == version.digest
    assert f"{model_name}@v1" in [v.key for v in registry.list_ready()]


def test_versions_are_immutable(mlflow_settings, tiny_model_dir, other_model, model_name):
    registry = get_registry(mlflow_settings)
    first = registry.register(tiny_model_dir, model_name, "v1", ModelCard(task="t"))
    again = registry.register(tiny_model_dir, model_name, "v1", ModelCard(task="t"))
    assert again.digest == first.digest
    assert [v.key for v in registry.list_ready()].count(f"{model_name}@v1") == 1  # same content again: no-op
    with pytest.raises(RegistryError, match="different content"):
        registry.register(other_model, model_name, "v1", ModelCard(task="t"))


def test_version_without_card_tag_is_not_ready(mlflow_settings, tiny_model_dir, model_name):
    registry = get_registry(mlflow_settings)
    registry.register(tiny_model_dir, model_name, "v1", ModelCard(task="t"))
    mv = registry.client.search_model_versions(f"name = '{model_name}'")[0]
    registry.client.delete_model_version_tag(model_name, mv.version, "slm.card")
    assert f"{model_name}@v1" not in [v.key for v in registry.list_ready()]


def test_aliases_and_audit(mlflow_settings, tiny_model_dir, other_model, model_name):
    registry = get_registry(mlflow_settings)
    registry.register(tiny_model_dir, model_name, "v1", ModelCard(task="t"))
    registry.register(other_model, model_name, "v2", ModelCard(task="t", base_model=f"{model_name}@v1"))
    registry.set_alias(model_name, "production", "v1", {"verdict": "first model"})
    assert registry.aliases(model_name) == {"production": "v1"}
    registry.set_alias(model_name, "production", "v2", {"verdict": "pass"})
    assert registry.resolve(model_name, "production").key == f"{model_name}@v2"
    log = registry.audit_log(model_name)
    assert [(e["version"], e["previous"], e["verdict"]) for e in log] == [("v1", None, "first model"), ("v2", "v1", "pass")]
    with pytest.raises(RegistryError, match="no alias"):
        registry.resolve(model_name, "staging")
    with pytest.raises(RegistryError, match="not a ready version"):
        registry.set_alias(model_name, "production", "v9")


def test_missing_tracking_uri_is_a_clear_error(make_settings, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = make_settings(registry={"backend": "mlflow"})
    with pytest.raises(RegistryError, match="no tracking URI"):
        get_registry(settings)


def test_against_a_real_mlflow_server(make_settings, mlflow_server, tiny_model_dir, tmp_path):
    settings = make_settings(
        registry={"backend": "mlflow", "mlflow_tracking_uri": mlflow_server},
        mlflow={"enabled": True, "tracking_uri": mlflow_server},
    )
    registry = get_registry(settings)
    version = registry.register(tiny_model_dir, "served", "v1", ModelCard(task="t"))
    assert content_digest(version.path) == version.digest
    registry.set_alias("served", "production", "v1", {"verdict": "pass"})
    assert registry.resolve("served", "production").key == "served@v1"
    # A second client (a new process would be the same) sees the same state over HTTP.
    fresh = get_registry(make_settings(name="again.yaml", registry={"backend": "mlflow", "mlflow_tracking_uri": mlflow_server}))
    assert [v.key for v in fresh.list_ready()] == ["served@v1"]
