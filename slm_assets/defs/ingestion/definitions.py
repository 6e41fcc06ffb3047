"""Ingestion stage: production_logs and quarantined_logs."""

import dagster as dg

from slm_assets.defs.ingestion.assets import ingest_production_logs

defs = dg.Definitions(assets=[ingest_production_logs])
