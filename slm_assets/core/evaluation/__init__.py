"""Evaluation: one model version on golden_test -- prompts, robustness variants, metrics, cache.

Owns ``metrics.json``/``predictions.parquet`` (through ``core.layout``) and the metric table.
May import: ``core.golden``, ``core.models``, ``core.inference``, ``core.layout``.
"""
