"""Sources and mappings: CSV, JSONL, Parquet, multi-column input, strata, metadata, splits, PII."""

import csv
import io
import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from slm_assets.core.normalize import text_hash
from slm_assets.core.schema import LOG_SCHEMA

from .helpers import COLUMNS, ingest, line, run


def _csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def test_csv_with_multi_column_input_strata_group_and_metadata(make_settings, tmp_path):
    rows = [
        {"repo": "org/a", "created_at": "2023-08-26 06:33:37", "label": "bug", "title": "Crash", "body": "It\tcrashes\n\non start", "user": "u1", "lang": "en"},
        {"repo": "org/b", "created_at": "2022-01-02 00:00:00", "label": "question", "title": "How to?", "body": "", "user": "u2", "lang": "de"},
    ]
    columns = {
        "input": ["title", "body"],
        "reference": "label",
        "timestamp": "created_at",
        "strata": ["repo", "lang"],
        "group": "user",
        "metadata": ["lang", "user"],
    }
    report, kept, _ = ingest(make_settings, tmp_path, {"issues.csv": _csv(rows)}, columns=columns, assume_timezone="UTC")
    first, second = kept
    assert first["input"] == "Crash It crashes on start"
    assert second["input"] == "How to?"  # an empty body is skipped, not an error
    assert first["stratum"] == "repo=org/a|lang=en" and first["repo"] == "org/a" and first["lang"] == "en"
    assert first["group_id"] == "u1" and first["reference"] == "bug"
    assert json.loads(first["metadata"]) == {"lang": "en", "user": "u1"}
    assert first["timestamp"] == datetime(2023, 8, 26, 6, 33, 37, tzinfo=timezone.utc)
    assert first["example_id"] == "sha256:" + text_hash("Crash It crashes on start")
    assert first["content_hash"] == text_hash(first["input"])
    assert report.time_min.startswith("2022-01-02") and report.time_max.startswith("2023-08-26")
    assert pq.read_schema(report.production_path).names == [*LOG_SCHEMA.names, "repo", "lang"]


def test_parquet_source_with_native_timestamps(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    table = pa.table(
        {
            "id": ["p1", "p2"],
            "text": ["hello  there", "cancel my order"],
            "intent": ["bug_report", None],
            "ts": pa.array([datetime(2025, 1, 1, 12, tzinfo=timezone.utc)] * 2, pa.timestamp("ms", tz="UTC")),
            "unused": [1, 2],
        }
    )
    pq.write_table(table, src / "logs.parquet")
    report, kept, quarantined = ingest(make_settings, tmp_path, {})
    assert quarantined == []
    assert [(r["example_id"], r["input"], r["reference"], r["source_line"]) for r in kept] == [
        ("p1", "hello there", "bug_report", 1),
        ("p2", "cancel my order", None, 2),
    ]
    assert kept[0]["timestamp"] == datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    assert report.labelled_rows == 1


def test_jsonl_csv_and_parquet_sources_together(make_settings, tmp_path):
    src = tmp_path / "more"
    src.mkdir()
    pq.write_table(pa.table({"id": ["p"], "text": ["from parquet"], "ts": ["2025-01-01T00:00:00Z"]}), src / "x.parquet")
    (src / "y.csv").write_bytes(_csv([{"id": "c", "text": "from csv", "ts": "2025-01-02T00:00:00Z"}]))
    (tmp_path / "one.jsonl").write_bytes(line("j", "from jsonl"))
    settings = make_settings(
        logs={"sources": [{"path": str(tmp_path / "one.jsonl")}, {"path": str(src / "*")}], "columns": COLUMNS}
    )
    report, kept, _ = run(settings, tmp_path / "out")
    assert [r["input"] for r in kept] == ["from jsonl", "from parquet", "from csv"]
    assert len(report.files) == 3


def test_predefined_split_from_source_keeps_cross_split_copies(make_settings, tmp_path):
    (tmp_path / "train.csv").write_bytes(_csv([{"text": "same text", "category": "a"}, {"text": "only train", "category": "b"}]))
    (tmp_path / "test.csv").write_bytes(_csv([{"text": "same  text", "category": "a"}]))
    settings = make_settings(
        logs={
            "sources": [{"path": str(tmp_path / "train.csv"), "split": "train"}, {"path": str(tmp_path / "test.csv"), "split": "test"}],
            "columns": {"input": "text", "reference": "category"},
        }
    )
    report, kept, quarantined = run(settings, tmp_path / "out")
    # The same text in train and test is leakage for the golden checks to find, not an ingestion error.
    assert quarantined == []
    assert [(r["input"], r["split"]) for r in kept] == [("same text", "train"), ("only train", "train"), ("same text", "test")]
    assert kept[0]["example_id"] == kept[2]["example_id"]
    assert all(r["timestamp"] is None and r["stratum"] == "all" for r in kept)


def test_split_column_and_bad_split_value(make_settings, tmp_path):
    data = line("a", split="validation") + line("b", "x", split="holdout")
    _, kept, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": data}, columns={**COLUMNS, "split": "split"})
    assert kept[0]["split"] == "validation"
    assert [(q["reason"], q["field"]) for q in quarantined] == [("wrong_type", "split")]


def test_derived_id_same_input_different_label_conflicts(make_settings, tmp_path):
    data = _csv([{"text": "card got stuck", "category": "card_swallowed"}, {"text": "card  got stuck", "category": "card_swallowed"}, {"text": "card got stuck", "category": "atm_support"}])
    report, kept, quarantined = ingest(make_settings, tmp_path, {"b.csv": data}, columns={"input": "text", "reference": "category"})
    assert [r["occurrences"] for r in kept] == [2]
    assert [(q["reason"], q["field"], q["source_line"]) for q in quarantined] == [("duplicate_id_conflict", "text", 4)]
    assert "line 2" in quarantined[0]["detail"]


def test_pii_is_masked_before_writing(make_settings, tmp_path):
    text = "Mail me at jane.doe@example.com or call +1 555-123-4567, card 4111 1111 1111 1111, order #1234567"
    _, kept, _ = ingest(make_settings, tmp_path, {"a.jsonl": line("a", text)})
    assert kept[0]["input"] == "Mail me at <EMAIL> or call <PHONE>, card <CARD>, order #1234567"
    raw = (tmp_path / "out" / "production_logs.parquet").read_bytes()
    assert b"jane.doe" not in raw and b"4111" not in raw


def test_pii_kept_when_masking_is_off(make_settings, tmp_path):
    _, kept, _ = ingest(make_settings, tmp_path, {"a.jsonl": line("a", "mail jane@example.com")}, mask_pii=False)
    assert kept[0]["input"] == "mail jane@example.com"


