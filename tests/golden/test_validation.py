"""The Great Expectations suite: a clean split passes, each kind of bad value is caught and shown."""

import pandas as pd
import pytest
from golden_frames import synthetic_logs

from slm_assets.core.golden.validation import validate_splits


@pytest.fixture
def settings(make_settings):
    return make_settings(task={"labels": ["a", "b", "c"]}, golden={"min_input_chars": 5, "max_input_chars": 200})


def failures_by_expectation(outcome) -> dict[tuple[str, str], dict]:
    return {(f["expectation"], f["column"]): f for f in outcome.examples}


def test_clean_splits_pass(settings):
    frame = synthetic_logs(60)
    outcome = validate_splits({"train": frame, "test": frame.copy()}, settings)
    assert outcome.passed, outcome.description
    assert outcome.counts["failed_expectations"] == 0
    assert outcome.counts["expectations"] == 2 * (12 + 3 + 1 + 1 + 1 + 1)  # columns, nulls, unique, length, labels, time


def test_each_bad_value_is_reported(settings):
    frame = synthetic_logs(60)
    frame.loc[1, "reference"] = "not-a-label"
    frame.loc[2, "reference"] = None
    frame.loc[3, "input"] = "x" * 500
    frame.loc[4, "input"] = "hey"
    frame.loc[5, "example_id"] = "ex-6"
    frame.loc[7, "timestamp"] = pd.Timestamp("2999-01-01", tz="UTC")
    frame.loc[8, "timestamp"] = pd.Timestamp("1970-01-01", tz="UTC")
    outcome = validate_splits({"test": frame}, settings)
    assert not outcome.passed and outcome.severity == "error"
    found = failures_by_expectation(outcome)
    assert set(found) == {
        ("expect_column_values_to_be_in_set", "reference"),
        ("expect_column_values_to_not_be_null", "reference"),
        ("expect_column_value_lengths_to_be_between", "input"),
        ("expect_column_values_to_be_unique", "example_id"),
        ("expect_column_values_to_be_between", "timestamp"),
    }
    assert found[("expect_column_values_to_be_in_set", "reference")]["unexpected_values"] == ["not-a-label"]
    lengths = found[("expect_column_value_lengths_to_be_between", "input")]
    assert lengths["unexpected_count"] == 2 and "hey" in lengths["unexpected_values"]
    assert max(len(v) for v in lengths["unexpected_values"]) <= 160  # long texts are truncated
    times = found[("expect_column_values_to_be_between", "timestamp")]["unexpected_values"]
    assert sorted(times) == ["1970-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"]
    assert outcome.counts["test_failed_expectations"] == 5
    assert "test: expect_column_values_to_be_in_set(reference) 1 unexpected" in outcome.description


def test_missing_column_and_optional_expectations(make_settings):
    frame = synthetic_logs(20, with_time=False).drop(columns=["group_id"])
    frame.loc[0, "reference"] = "anything"  # no labels configured: any reference is allowed
    outcome = validate_splits({"validation": frame}, make_settings())
    found = failures_by_expectation(outcome)
    assert set(found) == {("expect_column_to_exist", "group_id")}
    assert outcome.counts["expectations"] == 12 + 3 + 1 + 1  # no label set, no timestamps
