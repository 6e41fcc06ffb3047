"""Each leakage check catches a planted leak and passes a clean set."""

import hashlib

import pandas as pd
import pytest
from golden_frames import day, synthetic_logs

from slm_assets.config import NearDuplicateConfig
from slm_assets.core.golden import leakage
from slm_assets.core.golden.store import write_golden

ND = NearDuplicateConfig(threshold=0.8, num_perm=128, shingle_size=3)


def clean_splits() -> dict[str, pd.DataFrame]:
    """Distinct texts, one row a day; 10-day gaps between splits (more than a 7-day embargo)."""
    frame = synthetic_logs(300)
    frame["group_id"] = [f"customer-{i // 3}" for i in range(300)]  # groups inside one split
    return {
        "train": frame.iloc[:201].reset_index(drop=True),
        "validation": frame.iloc[210:240].reset_index(drop=True),
        "test": frame.iloc[249:].reset_index(drop=True),
    }


def set_text(frame: pd.DataFrame, row: int, text: str) -> None:
    frame.loc[row, "input"] = text
    frame.loc[row, "content_hash"] = hashlib.sha256(text.encode()).hexdigest()


def test_clean_splits_pass_every_check(make_settings):
    settings = make_settings(golden={"embargo_days": 7, "strategy": "temporal"})
    outcomes = leakage.run_leakage_checks(clean_splits(), settings)
    failed = {name: o.description for name, o in outcomes.items() if not o.passed}
    assert failed == {}
    assert all(o.examples == [] for o in outcomes.values())


def test_exact_overlap_names_both_rows():
    splits = clean_splits()
    leaked = splits["train"].loc[5, "input"]
    set_text(splits["test"], 7, leaked)
    out = leakage.exact_overlap(splits)
    assert not out.passed and out.severity == "error"
    assert out.counts["shared_texts"] == 1 and out.counts["train_test_test_rows"] == 1
    [example] = out.examples
    assert example["left"] == {"split": "train", "example_id": "ex-5", "input": leaked, "source": "logs.jsonl:6"}
    assert example["right"]["source"] == "logs.jsonl:257"


def test_near_duplicate_overlap_finds_an_edited_resend():
    splits = clean_splits()
    text = "the customer says the refund for order 7731 never arrived and asks again politely today"
    set_text(splits["train"], 10, text)
    set_text(splits["validation"], 3, text + " thanks")  # 13 of 14 shingles shared
    out = leakage.near_duplicate_overlap(splits, ND)
    assert not out.passed
    assert out.counts["train_validation_pairs"] == 1 and out.counts["train_validation_exact_pairs"] == 0
    assert out.counts["train_test_pairs"] == 0
    assert out.examples[0]["jaccard"] == pytest.approx(13 / 14, abs=1e-4)
    assert out.examples[0]["left"]["example_id"] == "ex-10"
    assert leakage.exact_overlap(splits).passed  # not the same text: only the near-duplicate check sees it


def test_id_overlap_ignores_ids_derived_from_text():
    splits = clean_splits()
    splits["test"].loc[0, "example_id"] = "ex-3"
    out = leakage.id_overlap(splits)
    assert not out.passed and out.counts["shared_ids"] == 1
    assert out.examples[0]["shared"] == "ex-3"

    splits = clean_splits()
    splits["train"].loc[0, "example_id"] = splits["test"].loc[0, "example_id"] = "sha256:abc"
    out = leakage.id_overlap(splits)
    assert out.passed and out.counts["derived_ids_not_compared"] == 2


def test_group_overlap_and_not_applicable_without_groups():
    splits = clean_splits()
    splits["test"].loc[4, "group_id"] = "customer-0"
    out = leakage.group_overlap(splits)
    assert not out.passed and out.counts["train_test_shared_values"] == 1
    assert out.counts["train_test_train_rows"] == 3  # every train row of that customer

    for frame in splits.values():
        frame["group_id"] = None
    out = leakage.group_overlap(splits)
    assert out.passed and "not applicable" in out.description


def test_temporal_order_with_embargo():
    splits = clean_splits()
    assert leakage.temporal_order(splits, 7).passed
    out = leakage.temporal_order(splits, 12)  # gaps are 10 days: inside a 12-day embargo
    assert not out.passed and out.severity == "error"
    assert out.counts["train_validation_validation_rows_too_early"] == 2
    assert out.counts["train_validation_gap_days"] == 10

    splits["test"].loc[0, "timestamp"] = day(1)  # a test row older than training data
    out = leakage.temporal_order(splits, 7)
    assert not out.passed and out.counts["validation_test_test_rows_too_early"] == 1
    assert out.examples[0]["right"]["example_id"] == "ex-249"
    assert leakage.temporal_order(splits, 7, strategy="stratified").severity == "warn"


def test_temporal_order_not_applicable_without_timestamps():
    splits = clean_splits()
    for frame in splits.values():
        frame["timestamp"] = pd.NaT
    out = leakage.temporal_order(splits, 7)
    assert out.passed and "not applicable" in out.description
    assert out.counts["rows_without_timestamp"] == 201 + 30 + 51


def test_stratum_coverage():
    splits = clean_splits()
    assert leakage.stratum_coverage(splits).passed
    splits["test"].loc[[1, 2], "stratum"] = "product=z"
    out = leakage.stratum_coverage(splits)
    assert not out.passed
    assert out.counts["test_strata_missing_from_train"] == 1 and out.counts["test_rows_in_missing_strata"] == 2
    assert out.examples == [{"split": "test", "stratum": "product=z", "rows": 2}]


def test_label_shift_is_a_warning():
    splits = clean_splits()
    out = leakage.label_shift(splits, 0.1)
    assert out.passed and out.counts["train_test_tvd"] < 0.1
    splits["test"]["reference"] = "a"
    out = leakage.label_shift(splits, 0.1)
    assert not out.passed and out.severity == "warn"
    assert out.counts["train_test_tvd"] == pytest.approx(1 - 67 / 201, abs=1e-3)
    assert out.examples[0]["label"] == "a" and out.examples[0]["test_share"] == 1.0


def test_golden_unchanged_detects_tampering(make_settings):
    import pyarrow.parquet as pq

    settings = make_settings()
    manifest = write_golden(settings, clean_splits(), "fingerprint")
    assert leakage.golden_unchanged(settings).passed
    path = manifest.path("test")
    path.parent.chmod(0o755)
    path.chmod(0o644)
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)  # one row removed, still a valid Parquet file
    out = leakage.golden_unchanged(settings)
    assert not out.passed and out.counts["problems"] >= 1
    assert "test.parquet" in out.examples[0]["problem"]
    with open(path, "ab") as fh:  # damaged beyond reading
        fh.write(b"tampered")
    assert not leakage.golden_unchanged(settings).passed


def test_missing_column_is_a_clear_error():
    splits = clean_splits()
    splits["test"] = splits["test"].drop(columns=["content_hash"])
    with pytest.raises(ValueError, match="split 'test' lacks the canonical column.*content_hash"):
        leakage.exact_overlap(splits)
