"""One model load per run: the engine cache, the card's engine fields, and the Dagster resource."""

import dagster as dg
import pytest

from slm_assets.core.inference.base import EngineError
from slm_assets.core.inference.engine_cache import EngineCache
from slm_assets.core.inference.registry import load_engine
from slm_assets.core.models.registry import FolderRegistry
from slm_assets.core.models.versions import ModelCard


@pytest.fixture
def registry(tmp_path, tiny_model_of):
    registry = FolderRegistry(tmp_path / "registry")
    registry.register(tiny_model_of("llama"), "tiny", "v1", ModelCard(task="t"))
    registry.register(tiny_model_of("opt"), "tiny", "bf16",
                      ModelCard(task="t", engine="transformers", engine_options={"dtype": "bfloat16"}))
    return registry


def test_card_names_the_engine_and_its_options(registry):
    version = registry.get("tiny@bf16")
    assert (version.card.engine, version.card.engine_options) == ("transformers", {"dtype": "bfloat16"})
    with load_engine(version, defaults={"device": "cpu", "threads": 4}) as engine:  # threads: not a transformers option
        assert (engine.facts().precision, engine.facts().device) == ("bfloat16", "cpu")
    with pytest.raises(EngineError, match="tiny@v1: invalid engine_options for transformers"):
        load_engine(registry.get("tiny@v1"), threads=4)  # an explicit override must exist
    with pytest.raises(ValueError, match="engine"):
        ModelCard(task="t", engine="vllm")


def test_each_version_loads_once_per_cache_and_closes(registry):
    loads = []

    def loader(version, defaults=None, **overrides):
        loads.append(version.key)
        return load_engine(version, defaults=defaults, **overrides)

    with EngineCache(loader) as cache:
        first = cache.get(registry.get("tiny@v1"), defaults={"device": "cpu"})
        assert cache.get(registry.get("tiny@v1"), defaults={"device": "cpu"}) is first
        cache.get(registry.get("tiny@bf16"), defaults={"device": "cpu"})
        assert loads == ["tiny@v1", "tiny@bf16"] and len(cache) == 2
    assert first.model is None and len(cache) == 0  # closed with the cache


def test_a_run_loads_a_model_once_across_assets(registry, monkeypatch):
    from slm_assets.defs.resources import ModelEngines

    loads = []
    real = EngineCache.get

    def counting(self, version, defaults=None, **overrides):
        before = len(self)
        engine = real(self, version, defaults=defaults, **overrides)
        if len(self) > before:
            loads.append(version.key)
        return engine

    monkeypatch.setattr(EngineCache, "get", counting)

    @dg.asset
    def first(engines: ModelEngines) -> None:
        engines.get().get(registry.get("tiny@v1"), defaults={"device": "cpu"})

    @dg.asset(deps=[first])
    def second(engines: ModelEngines) -> None:
        engine = engines.get().get(registry.get("tiny@v1"), defaults={"device": "cpu"})
        assert engine.generate_until(["refund"], max_new_tokens=2, stop=[], batch_size=1)[0].error is None

    result = dg.materialize([first, second], resources={"engines": ModelEngines()})
    assert result.success and loads == ["tiny@v1"]
