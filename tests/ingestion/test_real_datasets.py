"""Both shared real datasets go through ingestion with nothing but a column mapping."""

from tests.conftest import shared_dataset

from .helpers import run


def test_banking77_train(make_settings, tmp_path):
    path = shared_dataset("banking77", "train.csv")
    settings = make_settings(
        logs={"sources": [{"path": str(path), "split": "train"}], "columns": {"input": "text", "reference": "category"}}
    )
    report, kept, quarantined = run(settings, tmp_path / "out")
    assert report.rows_read == 10_003
    assert report.rows_kept + report.rows_quarantined == 10_003
    assert report.labelled_rows == report.unique_rows
    assert all(r["timestamp"] is None and r["split"] == "train" for r in kept)
    # Whatever the published file holds (repeats, conflicting labels), every row is accounted for.
    assert {q["reason"] for q in quarantined} <= {"duplicate_id_conflict"}


def test_nlbse_issues_train(make_settings, tmp_path):
    path = shared_dataset("nlbse24_issues", "issues_train.csv")
    settings = make_settings(
        logs={
            "sources": [{"path": str(path)}],
            "columns": {"input": ["title", "body"], "reference": "label", "timestamp": "created_at", "strata": ["repo"]},
            "assume_timezone": "UTC",
        }
    )
    report, kept, quarantined = run(settings, tmp_path / "out")
    assert report.rows_read == 1_500
    assert report.rows_kept + report.rows_quarantined == 1_500
    assert len({r["repo"] for r in kept}) == 5
    assert {r["reference"] for r in kept} == {"bug", "feature", "question"}
    assert report.time_min.startswith("201") and report.time_max.startswith("2023")
    assert max(len(r["input"]) for r in kept) > 100_000  # the huge bodies survive intact
