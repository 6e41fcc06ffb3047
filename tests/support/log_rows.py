"""The one factory for canonical log rows (``LOG_SCHEMA`` columns) that tests build in memory."""

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pandas as pd

from slm_assets.core.schema import LOG_SCHEMA


def log_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows need ``input``; every other canonical column gets a default (``ex-<i>``, label ``a``,
    no timestamp, stratum ``all``, the input's SHA-256...). Extra keys (strata columns) follow
    the canonical ones. Timestamps are UTC microseconds, as ingestion writes them."""
    out = []
    for i, row in enumerate(rows):
        text = row["input"]
        out.append(
            {
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
        )
    extra = [k for k in (rows[0] if rows else {}) if k not in LOG_SCHEMA.names]
    frame = pd.DataFrame(out, columns=[*LOG_SCHEMA.names, *extra])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return frame


WORDS = "refund invoice login password order status address cancel upgrade plan card payment".split()


def log_rows(n, seed, words=WORDS, length=(4, 12), labels=("refund", "login", "order"),
             start=datetime(2026, 1, 1, tzinfo=UTC)) -> pd.DataFrame:
    """``n`` labelled rows of random support words, one an hour from ``start`` (ids ``<seed>-<i>``)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(*length))) + f" #{seed}-{i}"
        rows.append({"example_id": f"{seed}-{i}", "input": text, "reference": rng.choice(labels),
                     "timestamp": start + timedelta(hours=i)})
    return log_frame(rows)
