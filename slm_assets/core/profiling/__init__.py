"""Separate trackers for latency, memory and energy, plus the environment fingerprint."""
