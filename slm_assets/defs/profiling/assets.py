"""``hardware_profile``: latency, throughput, memory, energy and the SLO scorecard per model version."""

import dagster as dg

from slm_assets.core.profiling.scorecard import scorecard_markdown
from slm_assets.core.profiling.version_profile import profile_version
from slm_assets.defs.evaluation.assets import model_evaluation
from slm_assets.defs.partitions import ACCELERATOR_POOL, model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from slm_assets.defs.tracking import track


def _metadata(profile: dict, path) -> dict:
    meta: dict = {}
    for name, value in profile["summary"].items():
        if isinstance(value, bool):
            meta[name] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            meta[name] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            meta[name] = dg.MetadataValue.float(value)
        elif isinstance(value, str):
            meta[name] = dg.MetadataValue.text(value)
    for row in profile["scorecard"]:
        meta[f"slo_{row['name']}"] = dg.MetadataValue.text(row["status"])
    meta["energy_note"] = dg.MetadataValue.text(profile["energy"].get("note") or "")
    meta["noise_reasons"] = dg.MetadataValue.text("; ".join(profile["noise"]["reasons"]) or "none")
    meta["device"] = dg.MetadataValue.text(profile["model"]["device"])
    meta["scorecard"] = dg.MetadataValue.md(scorecard_markdown(profile["scorecard"]))
    meta["path"] = dg.MetadataValue.path(str(path))
    return meta


@dg.asset(
    partitions_def=model_versions,
    pool=ACCELERATOR_POOL,
    group_name="profiling",
    deps=[model_evaluation],
    kinds={"pytorch"},
    description="Warm-up, batch-1 latency percentiles on golden_test prompts, throughput per batch size, "
    "peak memory, energy per inference, roofline and environment; profiles/<name@version>/profile.json.",
)
def hardware_profile(context: dg.AssetExecutionContext, slm: SlmSettings, engines: ModelEngines) -> dg.MaterializeResult:
    settings = slm.get()
    run = profile_version(settings, context.partition_key, progress=context.log.info, engines=engines.get())
    if run.profile["noise"]["noisy"]:
        context.log.warning("noisy profile: " + "; ".join(run.profile["noise"]["reasons"]))
    track(context, settings, "profile", run.profile, [run.path])
    return dg.MaterializeResult(metadata=_metadata(run.profile, run.path))
