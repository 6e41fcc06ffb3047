"""Nightly consistency: changed answers of a frozen model are flagged, identical ones are not."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from slm_assets.core.automation.nightly import (
    HISTORY_KEEP,
    archive_predictions,
    check_and_archive,
    compare_predictions,
    latest_archived,
)


def write(folder, answers, digest="d1", extra=None):
    folder.mkdir(parents=True, exist_ok=True)
    n = len(answers)
    frame = pd.DataFrame(
        {
            "example_id": [f"e{i}" for i in range(n)],
            "variant": ["original"] * n,
            "prediction": answers,
            "model_digest": [digest] * n,
            "latency_ms": list(range(n)) if extra is None else extra,  # varies run to run: ignored
        }
    )
    frame.to_parquet(folder / "predictions.parquet")
    return folder / "predictions.parquet"


def test_identical_answers_pass_and_history_is_kept(tmp_path):
    folder = tmp_path / "evaluations" / "m@v1" / "v1"
    write(folder, ["a", "b", "c"])
    passed, first = check_and_archive(folder)
    assert passed and first.previous is None and "first evaluation" in first.note
    write(folder, ["a", "b", "c"], extra=[9, 9, 9])
    passed, second = check_and_archive(folder)
    assert passed and second.compared == 3 and second.changed == 0 and second.previous is not None
    assert len(list((folder / "history").glob("*.parquet"))) == 2


def test_changed_answers_are_flagged_with_examples(tmp_path):
    folder = tmp_path / "eval"
    write(folder, ["a", "b", "c", "d"])
    check_and_archive(folder)
    write(folder, ["a", "x", "c", None])
    passed, result = check_and_archive(folder)
    assert not passed
    assert result.changed == 2 and result.changed_rate == pytest.approx(0.5)
    assert {e["previous"] for e in result.examples} == {"b", "d"}
    # A tolerance lets a configured share through.
    write(folder, ["a", "x", "c", "d"])
    passed, result = check_and_archive(folder, max_changed_rate=0.3)
    assert passed and result.changed == 1


def test_different_model_or_example_sets_are_reported_not_flagged(tmp_path):
    old = write(tmp_path / "a", ["a", "b"], digest="d1")
    new = write(tmp_path / "b", ["x", "y"], digest="d2")
    result = compare_predictions(old, new)
    assert not result.comparable and "digest changed" in result.note
    new = write(tmp_path / "c", ["a", "b", "c"], digest="d1")
    result = compare_predictions(old, new)
    assert result.changed == 0 and result.only_current == 1


def test_history_is_pruned_and_bad_files_are_named(tmp_path):
    folder = tmp_path / "eval"
    write(folder, ["a"])
    for i in range(HISTORY_KEEP + 3):
        archive_predictions(folder, now=datetime(2026, 1, 1, 0, 0, i, tzinfo=UTC))
    assert len(list((folder / "history").glob("*.parquet"))) == HISTORY_KEEP
    assert latest_archived(folder).name.startswith("20260101T000032")
    pd.DataFrame({"example_id": ["e1"]}).to_parquet(folder / "predictions.parquet")
    with pytest.raises(ValueError, match="predictions.parquet: predictions need columns"):
        check_and_archive(folder)
    with pytest.raises(FileNotFoundError, match="evaluate the model first"):
        check_and_archive(tmp_path / "nothing")
