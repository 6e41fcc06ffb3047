"""The project's definitions: everything under ``slm_assets/defs/`` is loaded from the folder
(Dagster 1.13's ``load_from_defs_folder``); the shared resource comes from ``defs/resources.py``."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
