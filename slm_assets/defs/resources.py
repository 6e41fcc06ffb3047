"""Resources shared by every stage: the validated settings, and the run's loaded engines."""

import dagster as dg
from pydantic import PrivateAttr

from slm_assets.config import Settings, load_settings
from slm_assets.core.inference.engine_cache import EngineCache


def instance_database_url(instance: dg.DagsterInstance | None) -> str | None:
    """The PostgreSQL URL of the instance's run storage, None for SQLite (or no instance)."""
    return getattr(getattr(instance, "run_storage", None), "postgres_url", None)


class SlmSettings(dg.ConfigurableResource):
    """The project configuration (``SLM_CONFIG``, else configs/default.yaml).

    ``config_path`` may be set in the launchpad to run one job against another config.
    When the instance stores its runs in PostgreSQL and no ``evaluation.cache_url`` is set,
    the prediction cache lives in that database too: steps on several machines share it.
    """

    config_path: str | None = None
    _settings: Settings | None = PrivateAttr(default=None)
    _instance_db_url: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._instance_db_url = instance_database_url(context.instance)

    def get(self) -> Settings:
        if self._settings is None:
            settings = load_settings(self.config_path)
            if self._instance_db_url and not settings.evaluation.cache_url:
                evaluation = settings.evaluation.model_copy(update={"cache_url": self._instance_db_url})
                settings = settings.model_copy(update={"evaluation": evaluation})
            self._settings = settings
        return self._settings


class ModelEngines(dg.ConfigurableResource):
    """The run's loaded inference engines: each model version loaded once per run, whichever
    assets of the run (evaluation, profile, comparison) ask for it, and freed when the run ends.
    Run-scoped under the in-process executor of the per-version job (one resource per step
    process otherwise)."""

    _cache: EngineCache | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._cache = EngineCache()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._cache is not None:
            self._cache.close()

    def get(self) -> EngineCache:
        if self._cache is None:  # used outside a run (direct invocation in tests)
            self._cache = EngineCache()
        return self._cache


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"slm": SlmSettings(), "engines": ModelEngines()})
