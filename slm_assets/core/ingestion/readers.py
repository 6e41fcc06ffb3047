"""Streaming readers for log files: JSON Lines and Parquet (CSV: ``csv_reader``), and what they share.

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

Compressed files (gzip, zstd, bzip2, xz) are recognised by their first bytes and read as
streams (``core.ingestion.compression``). Row-level hostility is a reject, never an
exception: JSON nested too deep for the parser (``nested_too_deep``), an object with a
key twice (``duplicate_key``), a CSV quote that is never closed (``unterminated_quote``,
see ``csv_reader``), a Parquet value outside Python's range (``bad_timestamp``/``wrong_type``).
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from slm_assets.core.ingestion import compression

Reject = tuple[str, str | None, str]
Record = tuple[int, bytes | None, dict[str, Any] | None, Reject | None]

BOM = b"\xef\xbb\xbf"
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class FileRejected(Exception):
    """A whole file that yields no rows; becomes one file-level quarantine entry."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def nul_detail(raw: bytes) -> str:
    return f"NUL byte at offset {raw.index(0)}"


def is_log_name(name: str) -> bool:
    """Whether a file in a source folder is read: a log suffix, maybe under a compression suffix."""
    return Path(compression.strip_suffix(name)).suffix.lower() in FORMATS


def format_of(path: Path, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    suffix = Path(compression.strip_suffix(path.name)).suffix
    try:
        return FORMATS[suffix.lower()]
    except KeyError:
        raise FileRejected(
            "unreadable_file", f"unknown extension {suffix!r} (expected one of {', '.join(sorted(FORMATS))})"
        ) from None


def codec_of(path: Path) -> str | None:
    """The file's compression by its magic bytes; an archive is rejected (``compressed_file``)."""
    try:
        return compression.sniff(path)
    except compression.Refused as exc:
        raise FileRejected("compressed_file", str(exc)) from None


def jsonl_chunks(path: Path, chunk_bytes: int, codec: str | None = None) -> Iterator[tuple[int, bytes]]:
    """``(number of its first line, bytes)`` pieces of a file, each ending at a line end.

    A line is never split, however long; pieces can be parsed independently (in parallel).
    Read in blocks of 64 KiB, so a stream that breaks part-way (a truncated gzip)
    still yields the whole lines before the break, then raises.
    """
    line_no = 1
    block = min(chunk_bytes, 1 << 16)
    pending = bytearray()
    with compression.open_stream(path, codec) as fh:
        first = True
        try:
            while data := fh.read(block):
                if first and data.startswith(BOM):
                    data = data[3:]
                first = False
                pending += data
                if len(pending) >= chunk_bytes and (cut := pending.rfind(b"\n") + 1):
                    chunk = bytes(pending[:cut])
                    del pending[:cut]
                    yield line_no, chunk
                    line_no += chunk.count(b"\n")
        except BaseException:
            if cut := pending.rfind(b"\n") + 1:
                yield line_no, bytes(pending[:cut])
            raise
    if pending:
        yield line_no, bytes(pending)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _DuplicateKey(key)
    return obj


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)


def parse_jsonl_chunk(chunk: bytes, first_line: int) -> Iterator[Record]:
    """One JSON object per line, from bytes, so every bad line is rejected on its own."""
    for line_no, line in enumerate(chunk.split(b"\n"), start=first_line):
        raw = line[:-1] if line.endswith(b"\r") else line
        if not raw.strip():
            continue
        if b"\x00" in raw:
            yield line_no, raw, None, ("nul_byte", None, nul_detail(raw))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield line_no, raw, None, ("invalid_utf8", None, f"invalid UTF-8 at byte {exc.start}: {exc.reason}")
            continue
        try:
            obj = _DECODER.decode(text)
        except _DuplicateKey as exc:
            yield line_no, raw, None, ("duplicate_key", exc.key[:200], f"key {exc.key[:60]!r} appears twice in one object")
            continue
        except ValueError as exc:
            yield line_no, raw, None, ("bad_json", None, f"not valid JSON: {str(exc)[:200]}")
            continue
        except RecursionError:
            yield line_no, raw, None, ("nested_too_deep", None, "JSON nested deeper than the parser's recursion limit")
            continue
        if type(obj) is not dict:
            yield line_no, raw, None, ("not_an_object", None, f"a JSON {type(obj).__name__}, not an object")
            continue
        yield line_no, raw, obj, None


def jsonl_line(chunk_lines: list[bytes], first_line: int, line_no: int) -> bytes:
    """The raw bytes of one line of a chunk split on newlines (as ``parse_jsonl_chunk`` reads it)."""
    line = chunk_lines[line_no - first_line]
    return line[:-1] if line.endswith(b"\r") else line


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
    codec = codec_of(path)
    if codec is not None:
        raise FileRejected("compressed_file", f"a {codec} stream, not a Parquet file (decompress it; Parquet compresses inside)")
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
        try:
            rows = batch.to_pylist()
        except (ValueError, OverflowError, pa.ArrowException):
            rows = None  # a value Python cannot hold (a timestamp past year 9999): row by row
        if rows is not None:
            for row in rows:
                row_no += 1
                yield row_no, None, row, None
            continue
        for i in range(batch.num_rows):
            row_no += 1
            yield (row_no, None, *_parquet_row(batch, i))


def _parquet_row(batch: pa.RecordBatch, i: int) -> tuple[dict[str, Any], Reject | None]:
    """One row as Python values; a value out of Python's range is shown as its stored number."""
    row: dict[str, Any] = {}
    reject: Reject | None = None
    for name, column in zip(batch.schema.names, batch.columns):
        scalar = column[i]
        try:
            row[name] = scalar.as_py()
        except (ValueError, OverflowError, pa.ArrowException) as exc:
            stored = getattr(scalar, "value", None)
            row[name] = f"<{column.type} {stored}>"
            if reject is None:
                temporal = pa.types.is_temporal(column.type)
                detail = f"{column.type} value {stored} in {name!r} is outside what can be read ({exc})"
                reject = ("bad_timestamp" if temporal else "wrong_type", name, detail)
    return row, reject
