import dagster as dg

from slm_assets.defs.profiling.assets import hardware_profile

defs = dg.Definitions(assets=[hardware_profile])
