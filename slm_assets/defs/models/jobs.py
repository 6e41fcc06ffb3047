"""The per-model-version job the sensor launches: everything partitioned by ``model_versions``."""

import dagster as dg

from slm_assets.defs.executors import per_version_executor

# Every asset in these groups must be partitioned by ``model_versions``: the job's
# partitioning is inferred from them (cross-version assets such as a leaderboard belong elsewhere).
PER_VERSION_GROUPS = ("evaluation", "profiling", "comparison")

evaluate_model_version_job = dg.define_asset_job(
    "evaluate_model_version",
    selection=dg.AssetSelection.groups(*PER_VERSION_GROUPS),
    # In-process by default; Celery workers when SLM_EXECUTOR=celery (deploy/celery.yaml).
    executor_def=per_version_executor(),
    tags={"slm/accelerator": "gpu"},  # matched by tag_concurrency_limits in deploy/*.yaml
    description="Evaluate, profile and compare one model version (partition NAME@VERSION).",
)
