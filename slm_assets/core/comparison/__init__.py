"""Comparison: candidate against baseline -- paired statistics, speed ratios, the verdict, promotion.

May import: ``core.evaluation`` (metric table, artifacts), ``core.profiling``, ``core.models``,
``core.layout``.
"""
