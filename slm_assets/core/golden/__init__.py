"""Golden set: splitting labelled rows, freezing them, leakage checks, expectations and drift.

Owns ``<data>/golden/<version>/`` (through ``core.layout``) and every check on the splits.
May import: ``core.io``, ``core.schema``, ``core.normalize``, ``core.layout``, ``core.ingestion``.
"""
