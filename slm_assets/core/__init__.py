"""Plain-Python logic (no Dagster import): each module one concern, tested directly."""
