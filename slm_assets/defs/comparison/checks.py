"""``no_regression``: the blocking gate on ``baseline_comparison``, and promotion when it passes."""

import json

import dagster as dg

from slm_assets.core.comparison.compare import promote_if_passed
from slm_assets.core import layout
from slm_assets.core.models.registry import get_registry
from slm_assets.defs.resources import SlmSettings


@dg.asset_check(
    asset=dg.AssetKey("baseline_comparison"),
    blocking=True,
    description="Fails when the comparison's verdict is regression; passes with a note when there is no "
    "baseline yet. On pass, moves the production alias to the candidate if comparison.promote_on_pass (audited).",
)
def no_regression(context: dg.AssetCheckExecutionContext, slm: SlmSettings) -> dg.AssetCheckResult:
    settings = slm.get()
    path = layout.comparison_file(settings, context.partition_key)
    result = json.loads(path.read_text(encoding="utf-8"))
    passed = result["verdict"] != "regression"
    metadata: dict = {
        "verdict": result["verdict"],
        "baseline": result["baseline"] or "none",
        "regressions": ", ".join(result["regressions"]) or "none",
        "path": dg.MetadataValue.path(str(path)),
    }
    if result["verdict"] == "no_baseline":
        description = f"no baseline ({result['baseline_spec']!r} resolves to nothing): the first model passes"
    elif passed:
        description = f"no regression against {result['baseline']}"
    else:
        description = f"regression against {result['baseline']}: {', '.join(result['regressions'])}"
    if passed:
        entry = promote_if_passed(get_registry(settings), result, settings, str(path))
        metadata["promoted"] = "no" if entry is None else f"production -> {entry['version']} (was {entry['previous']})"
        if entry:
            context.log.info(f"promoted {result['candidate']} to production")
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, description=description, metadata=metadata)
