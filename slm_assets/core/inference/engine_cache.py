"""The engines one run has loaded: each version loaded once per run, whatever asks for it."""

import json
from contextlib import contextmanager
from typing import Any

from slm_assets.core.inference.base import Engine
from slm_assets.core.inference.registry import load_engine


class EngineCache:
    """Loaded engines keyed by version digest, engine and options; ``close`` frees them all."""

    def __init__(self, loader=load_engine):
        self._loader = loader
        self._engines: dict[tuple, Engine] = {}

    def get(self, version: Any, defaults: dict[str, Any] | None = None, **overrides: Any) -> Engine:
        """The version's engine, loaded on first use (arguments as ``load_engine``'s)."""
        key = (version.digest, version.card.engine,
               json.dumps([version.card.engine_options, defaults or {}, overrides], sort_keys=True, default=str))
        if key not in self._engines:
            self._engines[key] = self._loader(version, defaults=defaults, **overrides)
        return self._engines[key]

    def __len__(self) -> int:
        return len(self._engines)

    def close(self) -> None:
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()

    def __enter__(self) -> "EngineCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def engines_for(cache: EngineCache | None):
    """``cache`` when the caller holds one (a run's), else a cache closed on exit."""
    if cache is not None:
        yield cache
        return
    with EngineCache() as own:
        yield own
