"""Which engine runs a version: the card's ``engine`` and ``engine_options``, loaded lazily.

Engines are imported only when a card names them, so llama-cpp-python and an HTTP client are
optional extras; a missing extra is an ``EngineError`` that says which one to install.
"""

import importlib
from typing import Any

from slm_assets.core.inference.base import Engine, EngineError

# Module of each engine package; each exposes ``ENGINE`` (its Engine subclass) and ``EXTRA``.
ENGINE_MODULES = {
    "transformers": "slm_assets.core.inference.transformers",
    "llama_cpp": "slm_assets.core.inference.llama_cpp",
    "openai": "slm_assets.core.inference.openai",
}
ENGINE_NAMES = tuple(ENGINE_MODULES)


def engine_class(name: str) -> type[Engine]:
    if name not in ENGINE_MODULES:
        raise EngineError(f"unknown engine {name!r} (known: {', '.join(ENGINE_NAMES)})")
    try:
        module = importlib.import_module(ENGINE_MODULES[name])
    except ImportError as exc:
        raise EngineError(
            f"engine {name!r} needs an optional dependency that is not installed ({exc.name or exc}); "
            f"install the project's extra: pip install -e '.[{name.replace('_', '-')}]'"
        ) from exc
    return module.ENGINE


def load_engine(version: Any, defaults: dict[str, Any] | None = None, **overrides: Any) -> Engine:
    """Load ``version`` (a registry ``ModelVersion``) on the engine its card names.

    ``defaults``: run-wide settings (e.g. ``device`` from ``evaluation.device``), used only by
    an engine that has that option and only where the card does not set it. ``overrides``
    replace card options (e.g. ``--device`` on the command line); unknown options are errors
    naming the version and the option.
    """
    card = version.card
    cls = engine_class(card.engine)
    known = {k: v for k, v in (defaults or {}).items() if k in cls.config_class.model_fields and v is not None}
    options = {**known, **card.engine_options, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        config = cls.config_class(**options)
    except ValueError as exc:
        raise EngineError(f"{version.key}: invalid engine_options for {card.engine}: {exc}") from exc
    return cls.load(version, config)
