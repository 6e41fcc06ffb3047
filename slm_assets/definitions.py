"""The one ``dg.Definitions`` of the project: every stage's defs plus the shared resource."""

import dagster as dg

from slm_assets.defs.automation import definitions as automation
from slm_assets.defs.comparison import definitions as comparison
from slm_assets.defs.evaluation import definitions as evaluation
from slm_assets.defs.golden import definitions as golden
from slm_assets.defs.ingestion import definitions as ingestion
from slm_assets.defs.models import definitions as models
from slm_assets.defs.profiling import definitions as profiling
from slm_assets.defs.reporting import definitions as reporting
from slm_assets.defs.resources import SlmSettings

# Modules, not their Definitions objects, at module scope: Dagster refuses a module holding several.
STAGES = (ingestion, golden, models, evaluation, profiling, comparison, reporting, automation)

defs = dg.Definitions.merge(*(stage.defs for stage in STAGES), dg.Definitions(resources={"slm": SlmSettings()}))
