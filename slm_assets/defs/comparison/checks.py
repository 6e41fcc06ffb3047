"""``no_regression``: the blocking gate on ``baseline_comparison`` (it judges; it never promotes)."""

import dagster as dg

from slm_assets.core.comparison.decision import gate_outcome
from slm_assets.core.comparison.run import load_comparison
from slm_assets.defs.resources import SlmSettings


@dg.asset_check(
    asset=dg.AssetKey("baseline_comparison"),
    blocking=True,
    description="Fails when the comparison's verdict is regression (and on inconclusive when "
    "comparison.fail_on_inconclusive); passes with a note when there is no baseline yet.",
)
def no_regression(context: dg.AssetCheckExecutionContext, slm: SlmSettings) -> dg.AssetCheckResult:
    settings = slm.get()
    path, result = load_comparison(settings, context.partition_key)
    passed, description = gate_outcome(result, settings.comparison.fail_on_inconclusive)
    power = (result.get("power") or {}).get("sentence")
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.ERROR, description=description,
        metadata={
            "verdict": result["verdict"],
            "baseline": result["baseline"] or "none",
            "regressions": ", ".join(result["regressions"]) or "none",
            "inconclusive": ", ".join(result.get("inconclusive") or []) or "none",
            "power": power or "n/a",
            "path": dg.MetadataValue.path(str(path)),
        },
    )
