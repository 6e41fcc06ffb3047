import dagster as dg

from slm_assets.defs.evaluation.assets import model_evaluation

defs = dg.Definitions(assets=[model_evaluation])
