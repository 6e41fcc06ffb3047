"""``model_promotion``: moves the ``production`` alias to a candidate whose comparison passed.

Its own step, downstream of ``baseline_comparison``: the blocking ``no_regression`` check keeps
it from running after a failed gate, and it re-reads the verdict itself, so materializing it by
hand cannot promote a regression. Every move is an audit entry in the registry.
"""

import dagster as dg

from slm_assets.core.comparison.baseline import promote_if_passed
from slm_assets.core.comparison.run import load_comparison
from slm_assets.core.models.registry import ModelRef, get_registry
from slm_assets.defs.comparison.assets import baseline_comparison
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import SlmSettings


class PromotionError(RuntimeError):
    """A comparison that no longer describes the registered weights."""


@dg.asset(
    partitions_def=model_versions,
    group_name="comparison",
    deps=[baseline_comparison],
    description="Moves production to this version when comparison.promote_on_pass and its verdict is PASS "
    "(or it is the first model); audited in registry/<name>/audit.jsonl. Never on REGRESSION or INCONCLUSIVE.",
)
def model_promotion(context: dg.AssetExecutionContext, slm: SlmSettings) -> dg.MaterializeResult:
    settings = slm.get()
    path, result = load_comparison(settings, context.partition_key)
    registry = get_registry(settings)
    digest = registry.get(ModelRef.parse(result["candidate"])).digest
    if (result.get("digests") or {}).get("candidate") not in (None, digest):
        raise PromotionError(f"{path}: compares other weights than {result['candidate']} has now; run baseline_comparison again")
    entry = promote_if_passed(registry, result, settings, str(path))
    if entry:
        context.log.info(f"promoted {result['candidate']} to production (was {entry['previous']})")
    return dg.MaterializeResult(metadata={
        "verdict": result["verdict"],
        "promoted": "no" if entry is None else f"production -> {entry['version']} (was {entry['previous']})",
        "promote_on_pass": settings.comparison.promote_on_pass,
    })
