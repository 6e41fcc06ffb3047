"""Ingestion: log files -> canonical rows kept or quarantined, and the synthetic log generator.

Owns reading (JSONL/CSV/Parquet, streaming), per-row validation and quarantine reasons.
May import: ``core.io``, ``core.schema``, ``core.normalize``, ``core.layout``.
"""
