"""Resources shared by every stage: the validated settings."""

import dagster as dg
from pydantic import PrivateAttr

from slm_assets.config import Settings, load_settings


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
