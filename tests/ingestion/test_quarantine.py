"""One test per kind of bad input: each lands in quarantined_logs with its reason, field and line."""

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm_assets.core.ingestion.logs import IngestError

from .helpers import COLUMNS, GOOD_1, GOOD_3, ingest, line, only

@pytest.mark.parametrize(
    "bad, reason, field",
    [
        (b'{"id": "b", "text": "where is my ord', "bad_json", None),
        (b'["b", "where is my order"]', "not_an_object", None),
        (b'"just a string"', "not_an_object", None),
        (json.dumps({"id": "b", "intent": None, "ts": "2025-03-01T10:00:00Z"}).encode(), "missing_field", "text"),
        (json.dumps({"id": "b", "text": 42, "ts": "2025-03-01T10:00:00Z"}).encode(), "wrong_type", "text"),
        (json.dumps({"id": "b", "text": ["a"], "ts": "2025-03-01T10:00:00Z"}).encode(), "wrong_type", "text"),
        (json.dumps({"id": "b", "text": "ok", "intent": 3.5, "ts": "2025-03-01T10:00:00Z"}).encode(), "wrong_type", "intent"),
        (json.dumps({"id": "b", "text": " \t\u00a0\n", "ts": "2025-03-01T10:00:00Z"}).encode(), "empty_input", "text"),
        (json.dumps({"id": "b", "text": None, "ts": "2025-03-01T10:00:00Z"}).encode(), "empty_input", "text"),
        (b'{"id": "b", "text": "caf\xe9 au lait", "ts": "2025-03-01T10:00:00Z"}', "invalid_utf8", None),
        (b'{"id": "b", "text": "nul\x00here", "ts": "2025-03-01T10:00:00Z"}', "nul_byte", None),
        (json.dumps({"id": "b", "text": "nul\u0000here", "ts": "2025-03-01T10:00:00Z"}).encode(), "nul_byte", "text"),
        (json.dumps({"id": "b", "text": "lone \ud800 surrogate", "ts": "2025-03-01T10:00:00Z"}).encode(), "invalid_utf8", "text"),
        (json.dumps({"id": "b", "text": "x", "ts": "yesterday 5pm"}).encode(), "bad_timestamp", "ts"),
        (json.dumps({"id": "b", "text": "x", "ts": "2025-13-45T99:00:00Z"}).encode(), "bad_timestamp", "ts"),
        (json.dumps({"id": "b", "text": "x", "ts": 1700000000}).encode(), "wrong_type", "ts"),
        (json.dumps({"id": "b", "text": "x", "ts": None}).encode(), "missing_field", "ts"),
        (json.dumps({"id": "b", "text": "x", "ts": "2025-03-01T10:00:00"}).encode(), "naive_timestamp", "ts"),
        (json.dumps({"text": "x", "ts": "2025-03-01T10:00:00Z"}).encode(), "missing_field", "id"),
        (json.dumps({"id": {"x": 1}, "text": "x", "ts": "2025-03-01T10:00:00Z"}).encode(), "wrong_type", "id"),
    ],
)
def test_bad_jsonl_line_is_quarantined_with_reason_field_and_line(make_settings, tmp_path, bad, reason, field):
    report, kept, quarantined = ingest(make_settings, tmp_path, {"logs.jsonl": GOOD_1 + bad + b"\n" + GOOD_3})
    row = only(quarantined)
    assert (row["reason"], row["field"], row["source_line"]) == (reason, field, 2)
    assert row["source_file"].endswith("logs.jsonl")
    assert row["raw"] == bad and row["raw_bytes"] == len(bad)
    assert row["raw_sha256"] == hashlib.sha256(bad).hexdigest()
    assert row["detail"]
    assert [r["example_id"] for r in kept] == ["a", "c"]
    assert report.quarantined_by_reason == {reason: 1}


def test_field_of_50_mb_is_quarantined_and_raw_is_capped(make_settings, tmp_path):
    huge = line("b", "x" * 50_000_000).rstrip(b"\n")
    report, kept, quarantined = ingest(make_settings, tmp_path, {"logs.jsonl": GOOD_1 + huge + b"\n" + GOOD_3})
    row = only(quarantined)
    assert (row["reason"], row["field"], row["source_line"]) == ("field_too_large", "text", 2)
    assert row["raw_bytes"] == len(huge) and len(row["raw"]) == 4096
    assert row["raw_sha256"] == hashlib.sha256(huge).hexdigest()
    assert "max_field_bytes" in row["detail"]
    assert report.rows_kept == 2


def test_naive_timestamp_is_read_in_the_assumed_zone(make_settings, tmp_path):
    naive = line("b", "x", ts="2025-03-01T10:00:00")
    _, kept, quarantined = ingest(
        make_settings, tmp_path, {"logs.jsonl": GOOD_1 + naive}, assume_timezone="Europe/Berlin"
    )
    assert quarantined == []
    assert kept[1]["timestamp"].isoformat() == "2025-03-01T09:00:00+00:00"  # CET is UTC+1


def test_offsets_are_converted_to_utc(make_settings, tmp_path):
    _, kept, _ = ingest(make_settings, tmp_path, {"logs.jsonl": line("a", ts="2025-03-01T10:00:00-05:00")})
    assert kept[0]["timestamp"].isoformat() == "2025-03-01T15:00:00+00:00"


def test_duplicate_id_with_different_content_is_a_conflict(make_settings, tmp_path):
    other_text = line("a", "a completely different request")
    other_label = line("a", "I want a refund please", intent="billing_invoice")
    report, kept, quarantined = ingest(make_settings, tmp_path, {"logs.jsonl": GOOD_1 + other_text + other_label})
    assert [(q["reason"], q["field"], q["source_line"]) for q in quarantined] == [
        ("duplicate_id_conflict", "id", 2),
        ("duplicate_id_conflict", "id", 3),
    ]
    assert "line 1" in quarantined[0]["detail"] and "input" in quarantined[0]["detail"]
    assert "reference" in quarantined[1]["detail"]
    assert len(kept) == 1


def test_exact_repeats_are_folded_and_counted_not_quarantined(make_settings, tmp_path):
    # A retrying client logged the same line three times; whitespace-only differences count as the same.
    respaced = line("a", "I  want a refund\u00a0please")
    report, kept, quarantined = ingest(make_settings, tmp_path, {"logs.jsonl": GOOD_1 + GOOD_3 + GOOD_1 + respaced})
    assert quarantined == []
    assert {r["example_id"]: r["occurrences"] for r in kept} == {"a": 3, "c": 1}
    assert (report.rows_read, report.rows_kept, report.unique_rows, report.exact_repeats) == (4, 4, 2, 2)
    assert kept[0]["source_line"] == 1  # the first occurrence is the one kept


def test_ragged_csv_row(make_settings, tmp_path):
    csv_text = (
        "id,text,intent,ts\n"
        "a,I want a refund,billing_refund,2025-03-01T10:00:00Z\n"
        "b,too,many,fields,2025-03-01T10:00:00Z\n"
        "c,short row\n"
        'd,"multi\nline text",order_status,2025-03-01T11:00:00Z\n'
    )
    report, kept, quarantined = ingest(make_settings, tmp_path, {"logs.csv": csv_text.encode()})
    assert [(q["reason"], q["source_line"]) for q in quarantined] == [("ragged_row", 3), ("ragged_row", 4)]
    assert quarantined[0]["raw"] == b"b,too,many,fields,2025-03-01T10:00:00Z"
    assert "5 fields where the header has 4" in quarantined[0]["detail"]
    assert [(r["example_id"], r["source_line"], r["input"]) for r in kept] == [
        ("a", 2, "I want a refund"),
        ("d", 5, "multi line text"),
    ]


def test_csv_invalid_utf8_and_nul(make_settings, tmp_path):
    data = b"id,text,intent,ts\na,ok,,2025-03-01T10:00:00Z\nb,caf\xe9,,2025-03-01T10:00:00Z\nc,x\x00y,,2025-03-01T10:00:00Z\n"
    _, kept, quarantined = ingest(make_settings, tmp_path, {"logs.csv": data})
    assert [(q["reason"], q["source_line"]) for q in quarantined] == [("invalid_utf8", 3), ("nul_byte", 4)]
    assert kept[0]["reference"] is None  # an empty CSV field is null: an unlabelled row


def test_parquet_with_wrong_schema_quarantines_every_row(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pq.write_table(pa.table({"id": ["p1", "p2", "p3"], "text": [1, 2, 3], "ts": ["2025-03-01T10:00:00Z"] * 3}), src / "b.parquet")
    report, kept, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1})
    assert [(q["reason"], q["field"], q["source_line"]) for q in quarantined] == [
        ("schema_mismatch", "text", 1),
        ("schema_mismatch", "text", 2),
        ("schema_mismatch", "text", 3),
    ]
    assert "column 'text' is int64" in quarantined[0]["detail"]
    assert json.loads(quarantined[0]["raw"])["id"] == "p1"
    assert report.rows_read == 4 and report.rows_kept == 1


def test_parquet_missing_column_is_a_schema_mismatch(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pq.write_table(pa.table({"id": ["p1"], "body": ["hello"], "ts": ["2025-03-01T10:00:00Z"]}), src / "b.parquet")
    _, _, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1})
    assert [(q["reason"], q["field"]) for q in quarantined] == [("schema_mismatch", "text")]
    assert "column 'text' is missing" in quarantined[0]["detail"]


@pytest.mark.parametrize("name, data", [("b.jsonl", b""), ("b.jsonl", b"\n  \n"), ("b.csv", b""), ("b.csv", b"id,text,intent,ts\n")])
def test_empty_file_is_a_file_level_entry_not_a_row(make_settings, tmp_path, name, data):
    report, kept, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1, name: data})
    row = only(quarantined)
    assert (row["reason"], row["source_line"], row["field"]) == ("empty_file", 0, None)
    assert row["source_file"].endswith(name)
    assert [f["reason"] for f in report.files_rejected] == ["empty_file"]
    assert report.rows_quarantined == 0 and report.rows_read == 1
    assert report.to_metadata()["files_rejected"] == 1 and report.to_metadata()["files"] == 2


def test_empty_parquet_file(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), src / "b.parquet")
    report, _, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1})
    assert [(q["reason"], q["source_line"]) for q in quarantined] == [("empty_file", 0)]


def test_source_where_every_row_is_bad_fails_with_the_top_reasons(make_settings, tmp_path):
    bad = b'{"id": "x", "text": "trunc\n' * 3 + json.dumps({"id": "y", "ts": "2025-03-01T10:00:00Z"}).encode() + b"\n"
    with pytest.raises(IngestError, match=r"every one of its 4 rows was quarantined; top reasons: bad_json \(3\), missing_field \(1\)"):
        ingest(make_settings, tmp_path, {"logs.jsonl": bad})


def test_source_with_no_files_fails(make_settings, tmp_path):
    with pytest.raises(IngestError, match="no log files"):
        ingest(make_settings, tmp_path, {"notes.txt": b"hello"})


def test_wrong_mapping_fails_loudly(make_settings, tmp_path):
    with pytest.raises(IngestError, match=r"missing_field"):
        ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1 + GOOD_3}, columns={**COLUMNS, "input": "message"})
