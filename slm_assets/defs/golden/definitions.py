"""The golden stage: the frozen splits and their blocking checks."""

import dagster as dg

from slm_assets.defs.golden.assets import golden_splits

try:
    from slm_assets.defs.golden.checks import golden_checks
except ModuleNotFoundError as exc:  # the checks module is built separately; wire it once it exists
    if exc.name != "slm_assets.defs.golden.checks":
        raise
    golden_checks = []

defs = dg.Definitions(assets=[golden_splits], asset_checks=golden_checks)
