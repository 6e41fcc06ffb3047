"""Plain-Python logic (no Dagster import), grouped by stage like ``defs/`` and ``tests/``.

``ingestion`` -> ``golden`` -> ``models`` -> ``inference`` -> ``evaluation`` -> ``profiling``
-> ``comparison`` -> ``reporting``; ``automation`` serves the schedules and sensors.
Shared by all: ``io`` (atomic writes), ``schema`` (canonical rows), ``normalize`` (the one text
normaliser), ``layout`` (every artifact path). A stage imports only stages before it.
"""
