"""The comparison stage: baseline_comparison (+ its blocking no_regression check) and evaluation_report."""

import dagster as dg

from slm_assets.defs.comparison.assets import baseline_comparison, evaluation_report
from slm_assets.defs.comparison.checks import no_regression

defs = dg.Definitions(assets=[baseline_comparison, evaluation_report], asset_checks=[no_regression])
