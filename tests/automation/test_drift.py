"""Drift of recent production inputs against the golden set: warns on a shift, passes on a look-alike."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm_assets.core.golden.drift import (
    DriftThresholds,
    categorical_psi,
    compute_drift,
    numeric_psi,
    read_recent_logs,
    total_variation,
)
from slm_assets.core.schema import INPUT, REFERENCE, STRATUM, TIMESTAMP

THRESHOLDS = DriftThresholds(
    max_label_tv=0.15,
    max_length_psi=0.25,
    length_mean_ratio_bounds=(0.8, 1.25),
    max_unseen_vocabulary_share=0.2,
    max_stratum_psi=0.25,
    min_recent_rows=50,
)
WORDS = "refund invoice login password order status address cancel upgrade plan card payment".split()
NEW_WORDS = "crypto wallet staking airdrop nft bridge swap gas fee token".split()


def rows(n, seed, labels=("refund", "login", "order"), words=WORDS, length=(4, 12), weights=None):
    rng = random.Random(seed)
    return pd.DataFrame(
        {
            INPUT: [" ".join(rng.choice(words) for _ in range(rng.randint(*length))) for _ in range(n)],
            REFERENCE: rng.choices(labels, weights=weights, k=n),
            STRATUM: [rng.choice(["product=app", "product=web"]) for _ in range(n)],
        }
    )


def test_distances_on_known_values():
    assert total_variation(Counter(a=5, b=5), Counter(a=5, b=5)) == 0
    assert total_variation(Counter(a=10), Counter(b=10)) == pytest.approx(1.0)
    assert total_variation(Counter(a=3, b=1), Counter(a=1, b=1)) == pytest.approx(0.25)
    assert categorical_psi(Counter(a=50, b=50), Counter(a=50, b=50)) == pytest.approx(0)
    # (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5)
    assert categorical_psi(Counter(a=50, b=50), Counter(a=80, b=20)) == pytest.approx(0.3 * np.log(1.6) + 0.3 * np.log(2.5))
    same = np.arange(1000, dtype=float)
    assert numeric_psi(same, same) == pytest.approx(0, abs=1e-9)
    assert numeric_psi(same, same * 3) > 1


def test_similar_production_inputs_pass():
    report = compute_drift(rows(400, seed=1), rows(300, seed=2), THRESHOLDS)
    assert report.representative, report.breaches
    assert report.label_tv < 0.1 and report.length_psi < 0.1 and report.unseen_vocabulary_share == 0
    assert 0.9 < report.length_mean_ratio < 1.1


def test_shifted_production_inputs_warn_with_each_reason():
    golden = rows(300, seed=2)
    shifted = rows(400, seed=3, words=WORDS + NEW_WORDS * 3, length=(20, 40), weights=(0.9, 0.05, 0.05))
    report = compute_drift(shifted, golden, THRESHOLDS)
    assert not report.representative
    text = " | ".join(report.breaches)
    for reason in ("label total variation", "input length PSI", "mean ratio", "unseen vocabulary share"):
        assert reason in text
    assert report.unseen_vocabulary_share > 0.5


def test_unlabelled_production_has_no_label_shift_and_few_rows_are_not_judged():
    recent = rows(400, seed=4).assign(**{REFERENCE: None})
    report = compute_drift(recent, rows(300, seed=2), THRESHOLDS)
    assert report.label_tv is None and report.recent_labelled_rows == 0 and report.representative
    tiny = compute_drift(rows(10, seed=5, words=NEW_WORDS), rows(300, seed=2), THRESHOLDS)
    assert tiny.representative and "too few" in tiny.note and tiny.unseen_vocabulary_share == 1.0


def test_recent_window_ends_at_newest_log(tmp_path):
    end = datetime(2026, 3, 1, tzinfo=UTC)
    frame = rows(100, seed=6)
    frame[TIMESTAMP] = [end - timedelta(days=i) for i in range(100)]
    path = tmp_path / "production_logs.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    recent, start, newest = read_recent_logs(path, window_days=10)
    assert len(recent) == 10 and newest.startswith("2026-03-01") and start.startswith("2026-02-19")
    frame[TIMESTAMP] = pd.Series([None] * 100, dtype="datetime64[us, UTC]")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    recent, start, newest = read_recent_logs(path, window_days=10)
    assert len(recent) == 100 and start is None and newest is None
    with pytest.raises(FileNotFoundError, match="not materialized"):
        read_recent_logs(tmp_path / "missing.parquet", 10)
