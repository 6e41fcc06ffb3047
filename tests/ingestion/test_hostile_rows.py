"""Rows that used to stop an ingestion (or slip through it): each is now one quarantine reason."""

import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .helpers import GOOD_1, GOOD_3, ingest, line, only

@pytest.mark.parametrize(
    "bad, reason, field",
    [
        (b'{"id": "b", "text": "x", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested_too_deep", None),
        (b'{"id": "b", "text": "first", "text": "second", "ts": "2025-03-01T10:00:00Z"}', "duplicate_key", "text"),
        (b'{"id": "b", "text": "x", "ts": "2025-03-01T10:00:00Z", "m": {"k": 1, "k": 2}}', "duplicate_key", "k"),
        # A zone shift past year 1 or year 9999 used to raise OverflowError out of the ingestion.
        (json.dumps({"id": "b", "text": "x", "ts": "0001-01-01T00:00:00+05:00"}).encode(), "bad_timestamp", "ts"),
        (json.dumps({"id": "b", "text": "x", "ts": "9999-12-31T23:00:00-05:00"}).encode(), "bad_timestamp", "ts"),
        # Year 9999 in UTC was kept: it froze into a golden set and pinned the drift window.
        (json.dumps({"id": "b", "text": "x", "ts": "9999-12-31T00:00:00Z"}).encode(), "implausible_timestamp", "ts"),
        (json.dumps({"id": "b", "text": "x", "ts": "1900-01-01T00:00:00Z"}).encode(), "implausible_timestamp", "ts"),
        (json.dumps({"id": "\ud800", "text": "x", "ts": "2025-03-01T10:00:00Z"}).encode(), "invalid_utf8", "id"),
    ],
)
def test_hostile_jsonl_line_is_one_quarantine_reason(make_settings, tmp_path, bad, reason, field):
    report, kept, quarantined = ingest(make_settings, tmp_path, {"logs.jsonl": GOOD_1 + bad + b"\n" + GOOD_3})
    row = only(quarantined)
    assert (row["reason"], row["field"], row["source_line"]) == (reason, field, 2)
    assert row["raw_bytes"] == len(bad) and row["detail"]
    assert [r["example_id"] for r in kept] == ["a", "c"]


def test_timestamp_window_is_configurable(make_settings, tmp_path):
    old = line("b", "an old archived request", ts="1985-06-01T00:00:00Z")
    window = {"not_before": "1980-01-01T00:00:00Z", "not_after": "2030-01-01"}
    _, kept, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1 + old}, timestamp_window=window)
    assert quarantined == [] and len(kept) == 2
    future = line("d", "from next year", ts="2031-01-01T00:00:00Z")
    _, _, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1 + future}, timestamp_window=window)
    assert [(q["reason"], q["field"]) for q in quarantined] == [("implausible_timestamp", "ts")]
    assert "2030-01-01" in quarantined[0]["detail"]


def test_future_rows_beyond_the_tolerance_are_quarantined(make_settings, tmp_path):
    tomorrow = datetime.now(timezone.utc).replace(microsecond=0)
    soon = line("b", "clock a little ahead", ts=tomorrow.isoformat())
    far = line("d", "next year", ts=tomorrow.replace(year=tomorrow.year + 1).isoformat())
    _, kept, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1 + soon + far})
    assert [r["example_id"] for r in kept] == ["a", "b"]
    assert [q["source_line"] for q in quarantined] == [3]


def test_out_of_range_parquet_timestamp_is_quarantined(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    millis = pa.array([1_740_000_000_000, 10**16, 1_740_000_100_000], pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    table = pa.table({"id": ["p1", "p2", "p3"], "text": ["one", "two", "three"], "ts": millis})
    pq.write_table(table, src / "logs.parquet")
    report, kept, quarantined = ingest(make_settings, tmp_path, {})
    assert [r["example_id"] for r in kept] == ["p1", "p3"]
    row = only(quarantined)
    assert (row["reason"], row["field"], row["source_line"]) == ("bad_timestamp", "ts", 2)
    assert str(10**16) in row["detail"]


def test_unterminated_csv_quote_does_not_swallow_the_file(make_settings, tmp_path):
    rows = [f"r{i},request number {i},2025-03-01T10:00:00Z\n" for i in range(20_000)]
    data = ("id,text,ts\nr-a,fine,2025-03-01T10:00:00Z\n" + 'r-b,"never closed,2025-03-01T10:00:00Z\n' + "".join(rows)).encode()
    columns = {"input": "text", "timestamp": "ts", "id": "id"}
    report, kept, quarantined = ingest(make_settings, tmp_path, {"a.csv": data}, columns=columns)
    assert report.rows_read == 20_002
    assert report.rows_kept == 20_001
    row = only(quarantined)
    assert (row["reason"], row["source_line"]) == ("unterminated_quote", 3)
    assert row["raw"] == b'r-b,"never closed,2025-03-01T10:00:00Z'
    assert "without closing" in row["detail"]


def test_csv_quote_closed_far_below_is_cut_at_the_size_cap(make_settings, tmp_path):
    rows = "".join(f"r{i},request {i}\n" for i in range(2000))
    data = f'id,text\nr-a,fine\nr-b,"opens here\n{rows}r-z,"closes" late\n'.encode()
    columns = {"input": "text", "id": "id"}
    report, kept, quarantined = ingest(make_settings, tmp_path, {"a.csv": data}, columns=columns, max_field_bytes=1000)
    reasons = [q["reason"] for q in quarantined]
    assert reasons[0] == "unterminated_quote" and quarantined[0]["source_line"] == 3
    assert report.rows_kept >= 2000  # the swallowed rows are read again, one by one


def test_legit_multiline_csv_record_is_kept(make_settings, tmp_path):
    data = b'id,text\na,"line one\nline ""two"", still quoted"\nb,next\n'
    _, kept, quarantined = ingest(make_settings, tmp_path, {"a.csv": data}, columns={"input": "text", "id": "id"})
    assert quarantined == [] and [r["example_id"] for r in kept] == ["a", "b"]


def test_csv_header_naming_a_column_twice_is_rejected(make_settings, tmp_path):
    report, kept, _ = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1, "b.csv": b"id,text,text\na,x,y\n"})
    assert [(f["reason"], "'text'" in f["detail"]) for f in report.files_rejected] == [("unreadable_file", True)]
    assert len(kept) == 1


def test_a_row_arrow_cannot_hold_is_quarantined_alone(make_settings, tmp_path, monkeypatch):
    from slm_assets.core.ingestion.mapping import Mapper

    real_map = Mapper.map

    def map_with_a_bug(self, values, *args):
        identity, fp, reference, row = real_map(self, values, *args)
        if values["id"] == "b":  # a mapper bug: a stratum that is not text
            row = (*row[:4], object(), *row[5:])
        return identity, fp, reference, row

    monkeypatch.setattr(Mapper, "map", map_with_a_bug)
    _, kept, quarantined = ingest(make_settings, tmp_path, {"a.jsonl": GOOD_1 + line("b", "second") + GOOD_3})
    assert [r["example_id"] for r in kept] == ["a", "c"]
    row = only(quarantined)
    assert (row["reason"], row["source_line"]) == ("unexpected_error", 2) and row["raw"] == line("b", "second").rstrip()
