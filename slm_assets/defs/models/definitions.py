"""Model registry stage: the new-version sensor and the per-version job it launches."""

import dagster as dg

from slm_assets.defs.models.jobs import evaluate_model_version_job
from slm_assets.defs.models.sensors import new_model_version_sensor

defs = dg.Definitions(jobs=[evaluate_model_version_job], sensors=[new_model_version_sensor])
