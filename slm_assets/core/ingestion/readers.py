"""Streaming readers for log files: JSON Lines, CSV and Parquet.

Each reader yields one ``Record`` per row, never a whole file in Python objects:
``(line, raw, values, reject)`` where ``line`` is the 1-based line (JSONL), the
record number with the header as 1 (CSV) or the 1-based row (Parquet); ``raw``
the row's bytes (``None`` for Parquet, whose rows are re-serialised only when
quarantined); ``values`` the row as a dict (``None`` when rejected); ``reject``
``(reason, field, detail)`` when the row cannot even be parsed.

``.json`` and ``.ndjson`` files are read as JSON Lines too (one object per line).
Blank lines (JSONL) and blank records (CSV) are layout, not rows: they are not
counted. JSON Lines come in pieces (``jsonl_chunks``) that ``parse_jsonl_chunk`` turns into
records, so large files can be parsed by several processes. A CSV or Parquet file
with no row at all raises ``FileRejected`` (``empty_file``), as does a file that
cannot be opened as its format (``unreadable_file``); the caller treats a JSONL file
without rows the same way.
"""

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Reject = tuple[str, str | None, str]
Record = tuple[int, bytes | None, dict[str, Any] | None, Reject | None]

_BOM = b"\xef\xbb\xbf"
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

# Real issue bodies exceed the csv module's 128 KiB default; sizes are checked by the
# ingestion itself (max_field_bytes), so the reader must never be the one to refuse.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class FileRejected(Exception):
    """A whole file that yields no rows; becomes one file-level quarantine entry."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _nul_detail(raw: bytes) -> str:
    return f"NUL byte at offset {raw.index(0)}"


def format_of(path: Path, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise FileRejected(
            "unreadable_file", f"unknown extension {path.suffix!r} (expected one of {', '.join(sorted(FORMATS))})"
        ) from None


def jsonl_chunks(path: Path, chunk_bytes: int) -> Iterator[tuple[int, bytes]]:
    """``(number of its first line, bytes)`` pieces of a file, each ending at a line end.

    A line is never split, however long; pieces can be parsed independently (in parallel).
    """
    line_no = 1
    with open(path, "rb") as fh:
        if fh.read(3) != _BOM:
            fh.seek(0)
        while chunk := fh.read(chunk_bytes):
            if not chunk.endswith(b"\n"):
                chunk += fh.readline()
            yield line_no, chunk
            line_no += chunk.count(b"\n")


def parse_jsonl_chunk(chunk: bytes, first_line: int) -> Iterator[Record]:
    """One JSON object per line, from bytes, so every bad line is rejected on its own."""
    for line_no, line in enumerate(chunk.split(b"\n"), start=first_line):
        raw = line[:-1] if line.endswith(b"\r") else line
        if not raw.strip():
            continue
        if b"\x00" in raw:
            yield line_no, raw, None, ("nul_byte", None, _nul_detail(raw))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield line_no, raw, None, ("invalid_utf8", None, f"invalid UTF-8 at byte {exc.start}: {exc.reason}")
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield line_no, raw, None, ("bad_json", None, f"not valid JSON: {exc}")
            continue
        if type(obj) is not dict:
            yield line_no, raw, None, ("not_an_object", None, f"a JSON {type(obj).__name__}, not an object")
            continue
        yield line_no, raw, obj, None


def jsonl_line(chunk_lines: list[bytes], first_line: int, line_no: int) -> bytes:
    """The raw bytes of one line of a chunk split on newlines (as ``parse_jsonl_chunk`` reads it)."""
    line = chunk_lines[line_no - first_line]
    return line[:-1] if line.endswith(b"\r") else line


def read_csv(path: Path) -> Iterator[Record]:
    """CSV with a header row, streamed line by line; each record keeps its raw bytes.

    CSV has no null: an empty field is read as ``None``.
    """
    raw_lines: list[bytes] = []
    bad_utf8: list[int] = []

    def decoded_lines(fh: Any) -> Iterator[str]:
        for i, line in enumerate(fh):
            if i == 0 and line.startswith(_BOM):
                line = line[3:]
            raw_lines.append(line)
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad_utf8.append(exc.start)
                yield line.decode("utf-8", "replace")

    with open(path, "rb") as fh:
        reader = csv.reader(decoded_lines(fh))
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise FileRejected("unreadable_file", f"CSV header cannot be parsed: {exc}") from None
        if not header or bad_utf8:
            raise FileRejected(
                "empty_file" if not header else "unreadable_file",
                "the file has no header row" if not header else "the header row is not valid UTF-8",
            )
        raw_lines.clear()
        width = len(header)
        record_no, rows = 1, 0
        while True:
            try:
                fields = next(reader)
                error = None
            except StopIteration:
                break
            except csv.Error as exc:
                fields, error = None, str(exc)
            record_no += 1
            raw = b"".join(raw_lines).rstrip(b"\r\n")
            raw_lines.clear()
            if fields == [] or (fields is not None and not raw.strip()):
                record_no -= 1  # a blank line is layout, not a record
                continue
            rows += 1
            if bad_utf8:
                yield record_no, raw, None, ("invalid_utf8", None, f"invalid UTF-8 at byte {bad_utf8[0]} of a line")
                bad_utf8.clear()
            elif b"\x00" in raw:
                yield record_no, raw, None, ("nul_byte", None, _nul_detail(raw))
            elif error is not None:
                yield record_no, raw, None, ("bad_csv", None, f"CSV record cannot be parsed: {error}")
            elif len(fields) != width:
                yield record_no, raw, None, (
                    "ragged_row",
                    None,
                    f"{len(fields)} fields where the header has {width}",
                )
            else:
                yield record_no, raw, {k: (v if v != "" else None) for k, v in zip(header, fields)}, None
    if rows == 0:
        raise FileRejected("empty_file", "the file has a header but no records")


def _compatible(field: pa.Field, kind: str) -> bool:
    t = field.type
    if kind == "text":
        return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)
    if kind == "timestamp":
        return pa.types.is_timestamp(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)
    return True


def read_parquet(path: Path, required: dict[str, str], optional: list[str], batch_rows: int) -> Iterator[Record]:
    """Rows of a Parquet file in batches.

    ``required`` maps column -> kind ("text", "timestamp", "any"). A file missing a
    required column, or holding it with an incompatible type, has every row rejected
    as ``schema_mismatch`` (with the row re-serialised as its raw bytes).
    """
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected("unreadable_file", f"not a readable Parquet file: {exc}") from None
    if pf.metadata.num_rows == 0:
        raise FileRejected("empty_file", "the Parquet file has no rows")
    schema = pf.schema_arrow
    problems: dict[str, str] = {}
    for name, kind in required.items():
        idx = schema.get_field_index(name)
        if idx < 0:
            problems[name] = f"column {name!r} is missing"
        elif not _compatible(schema.field(idx), kind):
            problems[name] = f"column {name!r} is {schema.field(idx).type}, expected {kind}"
    if problems:
        detail = "wrong schema: " + "; ".join(problems.values())
        field = next(iter(problems))
        row_no = 0
        for batch in pf.iter_batches(batch_size=batch_rows):
            for row in batch.to_pylist():
                row_no += 1
                yield row_no, None, row, ("schema_mismatch", field, detail)
        return
    columns = [c for c in dict.fromkeys([*required, *optional]) if schema.get_field_index(c) >= 0]
    row_no = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
        for row in batch.to_pylist():
            row_no += 1
            yield row_no, None, row, None
