"""``no_regression``: the blocking gate on ``baseline_comparison`` (it judges; it never promotes)."""

import json

import dagster as dg

from slm_assets.core.comparison.run import comparison_path
from slm_assets.defs.resources import SlmSettings


def check_outcome(result: dict, fail_on_inconclusive: bool) -> tuple[bool, str]:
    """Whether the gate passes, and why, from a comparison record."""
    if result["verdict"] == "no_baseline":
        return True, f"no baseline ({result['baseline_spec']!r} resolves to nothing): the first model passes"
    if result["verdict"] == "regression":
        return False, f"regression against {result['baseline']}: {', '.join(result['regressions'])}"
    if result["verdict"] == "inconclusive":
        unsure = ", ".join(result.get("inconclusive") or [])
        return not fail_on_inconclusive, f"inconclusive against {result['baseline']}: {unsure} undecided"
    return True, f"no regression against {result['baseline']}"


@dg.asset_check(
    asset=dg.AssetKey("baseline_comparison"),
    blocking=True,
    description="Fails when the comparison's verdict is regression (and on inconclusive when "
    "comparison.fail_on_inconclusive); passes with a note when there is no baseline yet.",
)
def no_regression(context: dg.AssetCheckExecutionContext, slm: SlmSettings) -> dg.AssetCheckResult:
    settings = slm.get()
    path = comparison_path(settings, context.partition_key)
    result = json.loads(path.read_text(encoding="utf-8"))
    passed, description = check_outcome(result, settings.comparison.fail_on_inconclusive)
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
