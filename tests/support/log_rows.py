"""Canonical production-log rows (LOG_SCHEMA columns) for tests: labelled, timestamped hourly."""

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pandas as pd

from slm_assets.core.schema import LOG_SCHEMA

WORDS = "refund invoice login password order status address cancel upgrade plan card payment".split()


def log_rows(n, seed, words=WORDS, length=(4, 12), labels=("refund", "login", "order"), start=datetime(2026, 1, 1, tzinfo=UTC)):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(*length))) + f" #{seed}-{i}"
        rows.append(
            {"example_id": f"{seed}-{i}", "input": text, "reference": rng.choice(labels),
             "timestamp": start + timedelta(hours=i), "stratum": "all", "group_id": None, "split": None,
             "content_hash": hashlib.sha256(text.encode()).hexdigest(), "occurrences": 1,
             "source_file": "logs.jsonl", "source_line": i + 1, "metadata": None}
        )
    frame = pd.DataFrame(rows, columns=LOG_SCHEMA.names)
    frame["timestamp"] = frame["timestamp"].astype("datetime64[us, UTC]")
    return frame
