"""Property: thousands of randomly corrupted lines never stop an ingestion, and every row is
accounted for (rows read == kept + quarantined, every reason a known code). Seeded and fast."""

import codecs
import json
import random

import pytest

from slm_assets.core.ingestion import run as ingestion_run
from slm_assets.core.ingestion.logs import REASONS

from .helpers import COLUMNS, ingest

TIMESTAMPS = [
    "2025-03-01T10:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T00:00:00Z",
    "2025-02-30T00:00:00Z", "1899-12-31T00:00:00Z", "2025-03-01T10:00:00", "", "2025-03-01T10:00:00+99:00",
]


def _pick(rng: random.Random, usual, *odd):
    """Mostly the usual value, sometimes an odd one, so that corruption has rows to corrupt."""
    return usual if rng.random() < 0.8 else rng.choice(odd)


def _valid(rng: random.Random, i: int) -> bytes:
    row = {
        "id": _pick(rng, f"r{i}", f"r{i % 50}", i, None, True, {"x": 1}),
        "text": _pick(rng, f"refund number {i}", "caf\u00e9 \u2603 \U0001f600", "", None, 7, "\ud800"),
        "intent": _pick(rng, "refund", "order", None, 3.5, ["a"]),
        "ts": _pick(rng, TIMESTAMPS[0], *TIMESTAMPS[1:]),
    }
    return json.dumps(row, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def _corrupt(rng: random.Random, raw: bytes) -> bytes:
    kind = rng.randrange(10)
    if kind == 0:  # truncation
        return raw[: rng.randrange(len(raw) + 1)]
    if kind == 1:  # byte flips
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 2:  # deep nesting
        depth = rng.choice([10, 900, 5000, 60_000])
        return b'{"id": "d", "text": "x", "deep": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == 3:  # huge numbers
        number = rng.choice([b"1e999999", b"-1e400", b"9" * 5000, b"123456789012345678901234567890", b"NaN", b"Infinity"])
        field = rng.choice([b"id", b"text", b"ts", b"intent"])
        return b'{"' + field + b'": ' + number + b', "text": "x", "ts": "2025-03-01T10:00:00Z", "id": "n"}'
    if kind == 4:  # odd encodings
        text = raw.decode("utf-8", "surrogatepass")
        encoding = rng.choice(["utf-16", "utf-16-le", "latin-1", "cp1252", "utf-32"])
        return codecs.BOM_UTF8 + raw if encoding == "utf-32" and rng.random() < 0.5 else text.encode(encoding, "replace")
    if kind == 5:  # duplicate keys
        return raw[:-1] + b', "text": "again"}'
    if kind == 6:  # NUL and control bytes
        cut = rng.randrange(len(raw))
        return raw[:cut] + rng.choice([b"\x00", b"\x1b[2J", b"\xff\xfe", b"\r"]) + raw[cut:]
    if kind == 7:  # not an object
        return rng.choice([b"[]", b"null", b'"text"', b"42", b"{}", b"{" * 3])
    return raw


@pytest.mark.parametrize("seed, workers", [(1, 1), (2, 2)])
def test_random_corruption_never_stops_ingestion(make_settings, tmp_path, monkeypatch, seed, workers):
    if workers > 1:  # the same lines through the parallel workers, many small chunks
        monkeypatch.setattr(ingestion_run, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(ingestion_run, "CHUNK_BYTES", 50_000)
    rng = random.Random(seed)
    lines = [_corrupt(rng, _valid(rng, i)) for i in range(3000)]
    data = b"\n".join(lines) + b"\n" + json.dumps({"id": "ok", "text": "always one good row", "ts": TIMESTAMPS[0]}).encode()
    report, kept, quarantined = ingest(make_settings, tmp_path, {"logs.jsonl": data}, workers=workers)
    assert report.rows_read == report.rows_kept + report.rows_quarantined
    assert report.rows_read <= data.count(b"\n") + 1
    assert report.rows_quarantined > 1000 and report.rows_kept > 100
    assert set(report.quarantined_by_reason) <= set(REASONS)
    assert "unexpected_error" not in report.quarantined_by_reason, [q["detail"] for q in quarantined if q["reason"] == "unexpected_error"][:3]


def test_random_csv_corruption_never_stops_ingestion(make_settings, tmp_path):
    rng = random.Random(7)
    rows, intact = [b"id,text,intent,ts"], {"ok"}
    for i in range(3000):
        row = f'r{i},"request {i}, please",refund,2025-03-01T10:00:00Z'.encode()
        kind = rng.randrange(8)
        if kind == 0:
            row = row.replace(b'"', b"", 1)  # a stray quote
        elif kind == 1:
            row = row[: rng.randrange(len(row) + 1)]  # often a quote opened, never closed
        elif kind == 2:
            row = row + b',"extra' + b"\n" * rng.randint(1, 3) + b'field"'
        elif kind == 3:
            row = row.replace(b"request", "d\u00e9j\u00e0".encode("latin-1"))
        else:
            intact.add(f"r{i}")
        rows.append(row)
    rows.append(b'ok,"always one good row",refund,2025-03-01T10:00:00Z')
    report, kept, _ = ingest(make_settings, tmp_path, {"logs.csv": b"\n".join(rows) + b"\n"}, columns={**COLUMNS, "id": "id"})
    assert report.rows_read == report.rows_kept + report.rows_quarantined
    assert intact <= {r["example_id"] for r in kept}  # no broken quote swallows the rows after it
    assert set(report.quarantined_by_reason) <= set(REASONS)
