"""Thin Dagster wiring: a folder per stage, each exposing ``defs`` in its definitions.py."""
