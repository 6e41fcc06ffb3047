"""The reporting stage: the cross-version leaderboard."""

import dagster as dg

from slm_assets.defs.reporting.assets import leaderboard

defs = dg.Definitions(assets=[leaderboard])
