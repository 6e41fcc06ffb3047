"""Reporting stage (cross-version): the leaderboard."""
