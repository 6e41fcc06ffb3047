"""Baseline resolution and audited promotion against a real folder registry."""

from datetime import UTC, datetime, timedelta

import pytest

from slm_assets.core.comparison.compare import promote_if_passed, resolve_baseline
from slm_assets.core.models.registry import FolderRegistry
from slm_assets.core.models.versions import ModelCard, ModelRef, RegistryError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path, tiny_model_dir):
    reg = FolderRegistry(tmp_path / "registry")
    # Same files under three versions is fine for the registry: versions are names.
    for i, version in enumerate(["v1", "v2", "v3"]):
        reg.register(tiny_model_dir, "m", version, ModelCard(task="t", created_at=T0 + timedelta(days=i)))
    return reg


def _result(verdict, candidate="m@v3", baseline="m@v2"):
    return {"verdict": verdict, "candidate": candidate, "baseline": baseline, "golden_version": "v1"}


def test_baseline_resolution(registry):
    cand = ModelRef("m", "v3")
    assert resolve_baseline(registry, cand, "production") is None  # no alias yet: first model
    registry.set_alias("m", "production", "v1")
    assert resolve_baseline(registry, cand, "production") == ModelRef("m", "v1")
    assert resolve_baseline(registry, cand, "previous") == ModelRef("m", "v2")
    assert resolve_baseline(registry, ModelRef("m", "v1"), "previous") is None
    assert resolve_baseline(registry, cand, "m@v2") == ModelRef("m", "v2")
    with pytest.raises(RegistryError, match="not registered"):
        resolve_baseline(registry, cand, "m@v9")


def test_promotion_moves_the_alias_only_on_pass(registry, make_settings):
    settings = make_settings(comparison={"promote_on_pass": True})
    registry.set_alias("m", "production", "v2")
    assert promote_if_passed(registry, _result("regression"), settings, "c.json") is None
    assert registry.aliases("m")["production"] == "v2"
    entry = promote_if_passed(registry, _result("pass"), settings, "comparisons/m@v3/comparison.json")
    assert registry.aliases("m")["production"] == "v3"
    last = registry.audit_log("m")[-1]
    assert last == entry
    assert last["verdict"] == "pass" and last["version"] == "v3" and last["previous"] == "v2"
    assert last["who"] and last["at"] and "promote m@v3" in last["what"]
    assert last["comparison"] == "comparisons/m@v3/comparison.json"
    # Already production: nothing moves, nothing is audited twice.
    assert promote_if_passed(registry, _result("pass"), settings, "c.json") is None
    assert len(registry.audit_log("m")) == 2


def test_no_promotion_when_disabled(registry, make_settings):
    settings = make_settings()
    assert promote_if_passed(registry, _result("pass"), settings, "c.json") is None
    assert registry.aliases("m") == {}


def test_first_model_is_promoted_when_enabled(registry, make_settings):
    settings = make_settings(comparison={"promote_on_pass": True})
    promote_if_passed(registry, _result("no_baseline", candidate="m@v1", baseline=None), settings, "c.json")
    assert registry.aliases("m") == {"production": "v1"}
    assert registry.audit_log("m")[-1]["verdict"] == "no_baseline"
