"""Canonical log frames (LOG_SCHEMA columns) built in memory for the golden tests."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from tests.support.log_rows import log_frame

__all__ = ["day", "log_frame", "synthetic_logs"]


def day(n: float) -> datetime:
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)


def synthetic_logs(n: int = 300, labels=("a", "b", "c"), strata=("x", "y"), with_time: bool = True) -> pd.DataFrame:
    """Distinct texts, one row a day, labels and strata cycling."""
    return log_frame(
        [
            {
                "input": f"request number {i} about topic {i % 7} with words {i * 31 % 101}",
                "reference": labels[i % len(labels)],
                "stratum": f"product={strata[(i // len(labels)) % len(strata)]}",
                "timestamp": day(i) if with_time else None,
            }
            for i in range(n)
        ]
    )
