"""The folder registry: atomic, immutable, content-addressed versions; aliases with an audit trail."""

import json
import shutil

import pytest

from slm_assets.core.models.loading import ModelLoadError, load_model
from slm_assets.core.models.registry import FolderRegistry, content_digest, get_registry
from slm_assets.core.models.versions import ModelCard, ModelRef, RegistryError, read_card


@pytest.fixture
def registry(tmp_path):
    return FolderRegistry(tmp_path / "registry")


def card(**kw):
    return ModelCard(task="support-intent-routing", **kw)


def test_model_ref_parse_and_key():
    ref = ModelRef.parse("smollm2-135m-instruct@base")
    assert (ref.name, ref.version, ref.key) == ("smollm2-135m-instruct", "base", "smollm2-135m-instruct@base")
    assert str(ModelRef("m", "v1.2_rc-1")) == "m@v1.2_rc-1"


@pytest.mark.parametrize(
    "text", ["no-version", "a@", "@v1", "../etc@v1", "a@..", "a@../../x", "a/b@v1", "a@v/1", ".hidden@v1",
             "a@b@c", "a@v1 ", "a@" + "x" * 129, "a..b@v1"]
)
def test_bad_refs_refused(text):
    with pytest.raises(RegistryError, match="invalid model"):
        ModelRef.parse(text)


def test_register_writes_layout_and_card_last(registry, tiny_model_dir):
    version = registry.register(tiny_model_dir, "tiny", "v1", card(description="test"))
    assert version.path == registry.root / "tiny" / "v1"
    assert version.digest == content_digest(tiny_model_dir) == content_digest(version.path)
    stored = json.loads((version.path / "card.json").read_text())
    assert stored["digest"] == version.digest and stored["task"] == "support-intent-routing"
    assert sorted(p.name for p in version.path.iterdir()) == sorted(
        [p.name for p in tiny_model_dir.iterdir()] + ["card.json"]
    )
    assert [v.key for v in registry.list_ready()] == ["tiny@v1"]
    assert not [p for p in (registry.root / "tiny").iterdir() if p.name.startswith(".tmp")]
    assert registry.get("tiny@v1") == version
    version.verify()
    # the registered folder loads, and the loader keeps the version (its digest keys caches)
    assert load_model(version, device="cpu").version == version


def test_same_content_is_a_noop_and_different_content_refused(registry, tiny_model_dir, tmp_path):
    first = registry.register(tiny_model_dir, "tiny", "v1", card())
    mtime = (first.path / "card.json").stat().st_mtime_ns
    again = registry.register(tiny_model_dir, "tiny", "v1", card(description="other card"))
    assert again == first and (first.path / "card.json").stat().st_mtime_ns == mtime
    changed = tmp_path / "changed"
    shutil.copytree(tiny_model_dir, changed)
    (changed / "generation_config.json").write_text('{"max_new_tokens": 3}')
    with pytest.raises(RegistryError, match="tiny@v1 is already registered with different content"):
        registry.register(changed, "tiny", "v1", card())
    assert registry.register(changed, "tiny", "v2", card()).digest != first.digest


def test_bad_model_never_lands_in_registry(registry, tiny_model_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    (bad / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="config.json: missing"):
        registry.register(bad, "tiny", "v1", card())
    assert registry.list_ready() == []
    with pytest.raises(RegistryError, match="invalid model name"):
        registry.register(tiny_model_dir, "../escape", "v1", card())
    assert not (tmp_path / "escape").exists()


def test_list_ready_ignores_half_copied_temp_and_corrupt(registry, tiny_model_dir):
    registry.register(tiny_model_dir, "tiny", "v1", card())
    shutil.copytree(tiny_model_dir, registry.root / "tiny" / "v2")  # manual copy, no card yet
    shutil.copytree(tiny_model_dir, registry.root / "tiny" / ".tmp-v3-abc")
    (registry.root / "tiny" / "v4").mkdir()
    (registry.root / "tiny" / "v4" / "card.json").write_text("{not json")
    (registry.root / "stray-file").write_text("x")
    assert [v.key for v in registry.list_ready()] == ["tiny@v1"]
    with pytest.raises(RegistryError, match="not registered"):
        registry.get("tiny@v2")
    with pytest.raises(RegistryError, match="exists without card.json"):
        registry.register(tiny_model_dir, "tiny", "v2", card())
    with pytest.raises(RegistryError, match=r"v4/card.json: unreadable card"):
        registry.get("tiny@v4")


def test_list_ready_on_missing_root(tmp_path):
    assert FolderRegistry(tmp_path / "nope").list_ready() == []


def test_verify_detects_tampering(registry, tiny_model_dir):
    version = registry.register(tiny_model_dir, "tiny", "v1", card())
    (version.path / "generation_config.json").write_text("{}")
    with pytest.raises(RegistryError, match="content changed since registration"):
        version.verify()


def test_aliases_and_audit(registry, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("SLM_AUDIT_USER", "ci-bot")
    v1 = registry.register(tiny_model_dir, "tiny", "v1", card())
    assert registry.aliases("tiny") == {}
    with pytest.raises(RegistryError, match="no alias 'production'"):
        registry.resolve("tiny", "production")
    registry.set_alias("tiny", "production", "v1", {"verdict": "initial"})
    assert registry.resolve("tiny", "production") == v1
    with pytest.raises(RegistryError, match="tiny@v9 is not registered"):
        registry.set_alias("tiny", "production", "v9", {"verdict": "pass"})
    with pytest.raises(RegistryError, match="invalid model alias"):
        registry.set_alias("tiny", "../x", "v1")
    registry.set_alias("tiny", "staging", "v1", {"verdict": "pass", "reason": "gate"})
    log = registry.audit_log("tiny")
    assert [(e["alias"], e["version"], e["previous"], e["verdict"], e["who"]) for e in log] == [
        ("production", "v1", None, "initial", "ci-bot"),
        ("staging", "v1", None, "pass", "ci-bot"),
    ]
    assert all(e["at"] and e["action"] == "set_alias" for e in log)
    assert registry.aliases("tiny") == {"production": "v1", "staging": "v1"}


def test_card_validation(tmp_path):
    with pytest.raises(ValueError, match="exactly one of golden_version"):
        card(training_data={"golden_version": "v1", "path": "x.jsonl"})
    good = card(training_data={"golden_version": "v1"}, base_model="tiny@v1")
    assert good.training_data.split == "train" and good.allow_pickle is False
    file = tmp_path / "card.json"
    file.write_text(json.dumps({"task": "t", "digest": "ignored", "allow_pickle": True}))
    assert read_card(file).allow_pickle is True
    file.write_text(json.dumps({"task": "t", "unknown_field": 1}))
    with pytest.raises(RegistryError, match=r"(?s)card.json: invalid model card.*unknown_field"):
        read_card(file)


def test_get_registry_uses_settings_dir(make_settings, monkeypatch, tmp_path):
    settings = make_settings()
    assert get_registry(settings).root == settings.data_dir / "registry"
    monkeypatch.setenv("SLM_REGISTRY_DIR", str(tmp_path / "elsewhere"))
    assert get_registry(settings).root == tmp_path / "elsewhere"


def test_concurrent_registrations_of_one_version_agree(registry, tiny_model_dir):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: registry.register(tiny_model_dir, "tiny", "v1", card()), range(4)))
    assert len({r.digest for r in results}) == 1
    assert [p.name for p in (registry.root / "tiny").iterdir()] == ["v1"]  # no temp folder left behind
