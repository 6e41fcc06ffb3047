"""Partitions: one dynamic partition per registered model version, keyed NAME@VERSION."""

import dagster as dg

model_versions = dg.DynamicPartitionsDefinition(name="model_versions")

# Evaluation and profiling ops run in this pool (limit set in dagster.yaml).
ACCELERATOR_POOL = "accelerator"
