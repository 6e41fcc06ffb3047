"""Resources shared by every stage: the validated settings."""

import dagster as dg
from pydantic import PrivateAttr

from slm_assets.config import Settings, load_settings


class SlmSettings(dg.ConfigurableResource):
    """The project configuration (``SLM_CONFIG``, else configs/default.yaml).

    ``config_path`` may be set in the launchpad to run one job against another config.
    """

    config_path: str | None = None
    _settings: Settings | None = PrivateAttr(default=None)

    def get(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"slm": SlmSettings()})
