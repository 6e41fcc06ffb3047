"""The golden stage: the frozen splits and their blocking checks."""

import dagster as dg

from slm_assets.defs.golden.assets import golden_splits
from slm_assets.defs.golden.checks import golden_checks

defs = dg.Definitions(assets=[golden_splits], asset_checks=golden_checks)
