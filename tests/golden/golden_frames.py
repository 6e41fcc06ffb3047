"""Canonical log frames (LOG_SCHEMA columns) built in memory for the golden tests."""

import hashlib
from datetime import UTC, datetime, timedelta

import pandas as pd

from slm_assets.core.schema import LOG_SCHEMA


def log_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows need ``input``; everything else gets a canonical default."""
    out = []
    for i, row in enumerate(rows):
        text = row["input"]
        full = {
            "example_id": f"ex-{i}",
            "reference": "a",
            "timestamp": None,
            "stratum": "all",
            "group_id": None,
            "split": None,
            "content_hash": hashlib.sha256(text.encode()).hexdigest(),
            "occurrences": 1,
            "source_file": "logs.jsonl",
            "source_line": i + 1,
            "metadata": None,
            **row,
        }
        out.append(full)
    frame = pd.DataFrame(out, columns=[*LOG_SCHEMA.names, *[k for k in rows[0] if k not in LOG_SCHEMA.names]])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return frame


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
