"""The comparison stage: baseline_comparison (+ its blocking no_regression check), model_promotion and
evaluation_report."""

import dagster as dg

from slm_assets.defs.comparison.assets import baseline_comparison, evaluation_report
from slm_assets.defs.comparison.checks import no_regression
from slm_assets.defs.comparison.promotion import model_promotion

defs = dg.Definitions(assets=[baseline_comparison, model_promotion, evaluation_report], asset_checks=[no_regression])
