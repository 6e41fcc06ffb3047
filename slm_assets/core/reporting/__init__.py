"""Reporting: HTML reports, the leaderboard, the demo summary and MLflow tracking.

Reads stored artifacts only; never runs a model. May import every stage's artifact readers.
"""
