"""The one ``dg.Definitions`` of the project: every stage's defs plus shared resources."""

import importlib

import dagster as dg

from slm_assets.defs.resources import SlmSettings

# Each stage folder exposes ``defs`` in its definitions.py; a stage not built yet is skipped.
_STAGES = ("ingestion", "golden", "models", "evaluation", "profiling", "comparison", "automation")


def _stage_defs() -> list[dg.Definitions]:
    found = []
    for stage in _STAGES:
        try:
            module = importlib.import_module(f"slm_assets.defs.{stage}.definitions")
        except ModuleNotFoundError as exc:
            if exc.name != f"slm_assets.defs.{stage}.definitions":
                raise
            continue
        found.append(module.defs)
    return found


defs = dg.Definitions.merge(*_stage_defs(), dg.Definitions(resources={"slm": SlmSettings()}))
