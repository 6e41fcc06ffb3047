"""Ingestion: log files -> canonical rows kept or quarantined, and the synthetic log generator.

Owns reading (JSONL/CSV/Parquet, compressed or not, streaming), per-row validation, quarantine
reasons and publishing the outputs as one unit. Modules, one job each: ``logs`` (the entry point,
``ingest_logs``), ``run`` (one pass), ``sources`` (which files), ``compression``, ``readers``
(JSONL, Parquet), ``csv_reader``, ``mapping`` (one row), ``batches`` (a group of rows, the
parallel workers), ``writer`` (Parquet output), ``publish`` (versioned folder + pointer;
``published_dir`` for readers), ``report`` (reason codes, the report), ``synthetic``.
May import: ``core.io``, ``core.schema``, ``core.normalize``, ``core.layout``.
"""
