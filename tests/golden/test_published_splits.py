"""The official train/test files of both shared datasets, audited by the checks alone.

Neither published split is clean: Banking77's test set repeats training queries
(exactly, and with small edits), and the NLBSE'24 split is not temporal. The
example configs run them under the ``predefined`` strategy, and the checks must
find this without being told.
"""

import pyarrow.parquet as pq
from tests.conftest import SHARED_DATASETS, shared_dataset

from slm_assets.config import PROJECT_ROOT, load_settings
from slm_assets.core.golden.leakage import exact_overlap, near_duplicate_overlap, stratum_coverage, temporal_order
from slm_assets.core.ingestion.logs import ingest_logs
from slm_assets.core.golden.splits import build_splits
from slm_assets.core import layout


def published_splits(config: str, tmp_path, monkeypatch):
    monkeypatch.setenv("SLM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLM_DATASETS_DIR", str(SHARED_DATASETS))
    settings = load_settings(PROJECT_ROOT / "configs" / config)
    ingest_logs(settings, layout.ingested_dir(settings))
    frame = pq.read_table(layout.ingested_dir(settings) / "production_logs.parquet").to_pandas()
    splits, _ = build_splits(frame, settings)
    return settings, splits


def test_banking77_official_split_has_exact_and_near_duplicates(tmp_path, monkeypatch):
    shared_dataset("banking77", "train.csv")
    settings, splits = published_splits("banking77_predefined.yaml", tmp_path, monkeypatch)
    exact = exact_overlap(splits)
    near = near_duplicate_overlap(splits, settings.golden.near_duplicate)
    print(f"\nbanking77: {exact.description}\nbanking77: {near.description}")
    assert not exact.passed and exact.counts["train_test_shared_values"] >= 1
    assert exact.examples[0]["right"]["source"].startswith(str(SHARED_DATASETS / "banking77" / "test.csv"))
    assert not near.passed
    # edited re-sends, not only identical texts
    assert near.counts["train_test_pairs"] > near.counts["train_test_exact_pairs"] >= exact.counts["train_test_shared_values"]
    assert "not applicable" in temporal_order(splits, settings.golden.embargo_days, "predefined").description


def test_nlbse24_official_split_is_not_temporal(tmp_path, monkeypatch):
    shared_dataset("nlbse24_issues", "issues_train.csv")
    settings, splits = published_splits("nlbse24_predefined.yaml", tmp_path, monkeypatch)
    order = temporal_order(splits, settings.golden.embargo_days, settings.golden.strategy)
    near = near_duplicate_overlap(splits, settings.golden.near_duplicate)
    print(f"\nnlbse24: {order.description}\nnlbse24: {near.description}")
    assert not order.passed and order.severity == "error"
    assert order.counts["train_test_test_rows_too_early"] > len(splits["test"]) // 2
    assert order.counts["train_test_gap_days"] < -365  # test issues years older than training ones
    assert not near.passed and near.counts["train_test_pairs"] >= 1
    assert stratum_coverage(splits).passed  # all five repos on both sides
