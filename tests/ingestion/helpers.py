"""Small builders for ingestion tests: write source files, ingest, read both outputs back."""

import json
from pathlib import Path

import pyarrow.parquet as pq

from slm_assets.core.ingestion.logs import ingest_logs

COLUMNS = {"input": "text", "reference": "intent", "timestamp": "ts", "id": "id"}


def line(id_: str, text: str = "where is my order", intent: str | None = "order_status", ts: str = "2025-03-01T10:00:00Z", **extra) -> bytes:
    return json.dumps({"id": id_, "text": text, "intent": intent, "ts": ts, **extra}).encode() + b"\n"


GOOD_1 = line("a", "I want a refund please")
GOOD_3 = line("c", "cancel my subscription")
"""Good rows around a bad line 2, in the one-bad-line tests."""


def only(quarantined: list[dict]) -> dict:
    assert len(quarantined) == 1, quarantined
    return quarantined[0]


def ingest(make_settings, tmp_path: Path, files: dict[str, bytes], columns=None, **logs):
    """Write ``files`` into one source folder, ingest it, return (report, kept rows, quarantined rows)."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for name, data in files.items():
        (src / name).write_bytes(data)
    settings = make_settings(logs={"sources": [{"path": str(src)}], "columns": columns or COLUMNS, **logs})
    return run(settings, tmp_path / "out")


def run(settings, out: Path):
    report = ingest_logs(settings, out)
    kept = pq.read_table(report.production_path).to_pylist()
    quarantined = pq.read_table(report.quarantine_path).to_pylist()
    check_accounting(report, kept, quarantined)
    return report, kept, quarantined


def check_accounting(report, kept, quarantined) -> None:
    """Every row read is in exactly one output; file-level entries are not rows."""
    assert report.rows_read == report.rows_kept + report.rows_quarantined
    assert sum(r["occurrences"] for r in kept) == report.rows_kept
    assert len(kept) == report.unique_rows
    assert len(quarantined) == report.rows_quarantined + len(report.files_rejected)
    assert sum(report.quarantined_by_reason.values()) == report.rows_quarantined
    assert json.loads(Path(report.report_path).read_text())["rows_read"] == report.rows_read
