"""Automation: nightly re-evaluation logic and alerts (webhook), used by Dagster schedules/sensors.

May import: ``core.evaluation``, ``core.golden``, ``core.layout``.
"""
