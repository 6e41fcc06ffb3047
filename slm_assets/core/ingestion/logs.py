"""Ingestion: log files -> ``production_logs`` + ``quarantined_logs``, every row accounted for.

``ingest_logs(settings, out_dir)`` reads every configured source (streaming; see
``log_readers``), maps its columns onto ``LOG_SCHEMA``, and writes
``production_logs.parquet``, ``quarantined_logs.parquet`` and ``ingest_report.json``
into ``out_dir``, each atomically. Invariant (checked): rows read == rows kept
(the sum of ``occurrences``) + rows quarantined.

Rules a user can rely on:
- Input: the mapped input column(s); several are joined with ``input_separator``
  (a null part is skipped), then normalised (``normalize.normalize_text``) and,
  with ``logs.mask_pii``, PII-masked before anything is written. A missing input
  key is ``missing_field``; a null or blank input is ``empty_input``.
- Timestamps: ISO 8601 strings (or native Parquet timestamps), stored in UTC.
  A timestamp without a zone is quarantined as ``naive_timestamp`` unless
  ``logs.assume_timezone`` names the zone to read it in (e.g. ``UTC``). When a
  timestamp column is mapped it is required; with none mapped every row has a
  null timestamp (only non-temporal split strategies can use such logs).
- Identity: the mapped id column, else ``sha256:<hash of the normalised input>``.
  A row is identified by ``(split, id)``: rows of a predefined split are their own
  namespace, so the same text in train and test is kept twice (that is leakage for
  the golden checks to report, not an ingestion error). A later row with the same
  identity and the same input and reference is an exact repeat: it is folded into
  the first row's ``occurrences`` (the first row's other fields are kept). Same
  identity with a different input or reference is ``duplicate_id_conflict``.
- Strata columns are required (a missing or null value is ``missing_field``) and
  are kept under their own names as well as joined into ``stratum``.
- A field larger than ``logs.max_field_bytes`` (UTF-8) is ``field_too_large``.
- An empty (or unreadable) file is one file-level quarantine entry with
  ``source_line`` 0, counted in ``files_rejected``, not as a row.
- A source in which no row survives raises ``IngestError`` with the top reasons.

Quarantine reason codes are stable: see ``REASONS``.

Speed and memory: JSONL files of ``PARALLEL_MIN_BYTES`` or more are cut into
line-aligned chunks that ``logs.workers`` processes map in parallel; this process
keeps file order, folds repeats and writes, with a bounded number of chunks in
flight. Memory grows only with the identity index (about 150 bytes per unique row).
"""

import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing import get_context
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from glob import glob
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from json.encoder import encode_basestring_ascii as _encode_str  # the C escaper json.dumps uses

from slm_assets.config import LogSource, Settings
from slm_assets.core.ingestion import readers as log_readers
from slm_assets.core.io import atomic_write, atomic_write_json
from slm_assets.core.normalize import mask_pii, normalize_text
from slm_assets.core.schema import (
    CONTENT_HASH,
    EXAMPLE_ID,
    GROUP_ID,
    INPUT,
    LOG_SCHEMA,
    METADATA,
    OCCURRENCES,
    QUARANTINE_SCHEMA,
    REFERENCE,
    SOURCE_FILE,
    SOURCE_LINE,
    SPLIT,
    SPLITS,
    STRATUM,
    TIMESTAMP,
)

PRODUCTION_FILE = "production_logs.parquet"
QUARANTINE_FILE = "quarantined_logs.parquet"
REPORT_FILE = "ingest_report.json"

ROW_REASONS = (
    "bad_json",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "empty_input",
    "invalid_utf8",
    "nul_byte",
    "field_too_large",
    "bad_timestamp",
    "naive_timestamp",
    "duplicate_id_conflict",
    "ragged_row",
    "bad_csv",
    "schema_mismatch",
)
FILE_REASONS = ("empty_file", "unreadable_file")
REASONS = ROW_REASONS + FILE_REASONS

# Rows are built as tuples in this order (fast); fail at import if the schema ever moves.
_ROW_ORDER = [EXAMPLE_ID, INPUT, REFERENCE, TIMESTAMP, STRATUM, GROUP_ID, SPLIT, CONTENT_HASH, OCCURRENCES, SOURCE_FILE, SOURCE_LINE, METADATA]
if LOG_SCHEMA.names != _ROW_ORDER:
    raise ImportError(f"core/logs.py builds rows in the order {_ROW_ORDER}, but LOG_SCHEMA is {LOG_SCHEMA.names}")
_PROGRESS_EVERY = 100_000
CHUNK_BYTES = 4 << 20
PARALLEL_MIN_BYTES = 64 << 20
_BUFFER_BYTES = 64 << 20
"""JSONL files at least this large are parsed by ``logs.workers`` processes."""


class IngestError(RuntimeError):
    """Ingestion cannot produce a usable result; the message says which source and why."""


@dataclass
class IngestReport:
    rows_read: int = 0
    rows_kept: int = 0
    unique_rows: int = 0
    exact_repeats: int = 0
    rows_quarantined: int = 0
    labelled_rows: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    files_rejected: list[dict[str, str]] = field(default_factory=list)
    time_min: str | None = None
    time_max: str | None = None
    seconds: float = 0.0
    production_path: str = ""
    quarantine_path: str = ""
    report_path: str = ""

    def to_metadata(self) -> dict[str, Any]:
        """Flat numbers (and the time range) for Dagster metadata and summaries."""
        meta: dict[str, Any] = {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "unique_rows": self.unique_rows,
            "exact_repeats": self.exact_repeats,
            "rows_quarantined": self.rows_quarantined,
            "labelled_rows": self.labelled_rows,
            "files": len(self.files),
            "files_rejected": len(self.files_rejected),
        }
        for reason in ROW_REASONS:
            meta[f"quarantined_{reason}"] = self.quarantined_by_reason.get(reason, 0)
        meta["time_min"] = self.time_min
        meta["time_max"] = self.time_max
        return meta

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Reject(Exception):
    """A row that goes to quarantine: stable reason, the field to blame, a sentence."""

    def __init__(self, reason: str, column: str | None, detail: str):
        super().__init__(detail)
        self.reason, self.column, self.detail = reason, column, detail


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _scalar_str(values: dict[str, Any], column: str, *, required: bool) -> str | None:
    """A short identifying value (id, stratum, group) as a string."""
    if column not in values or values[column] is None:
        if required:
            raise _Reject("missing_field", column, f"required field {column!r} is missing or null")
        return None
    value = values[column]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Reject("wrong_type", column, f"field {column!r} must be a string or integer, got {_type_name(value)}")
    text = str(value).strip()
    if not text:
        if required:
            raise _Reject("missing_field", column, f"required field {column!r} is blank")
        return None
    if "\x00" in text:
        raise _Reject("nul_byte", column, f"field {column!r} contains a NUL character")
    return text


def _check_encodable(text: str, column: str) -> None:
    # JSON may carry lone surrogates (\ud800) that have no UTF-8 form.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _Reject("invalid_utf8", column, f"field {column!r} has no UTF-8 form: {exc.reason}") from None


class _Mapper:
    """Turns one source row (a dict) into the canonical fields, or raises ``_Reject``."""

    def __init__(self, settings: Settings):
        cfg = settings.logs
        cols = cfg.columns
        self.input_columns = cols.input_columns
        self.separator = cols.input_separator
        self.cols = cols
        self.mask = cfg.mask_pii
        self.max_bytes = cfg.max_field_bytes
        self.timezone = None
        if cfg.assume_timezone:
            try:
                self.timezone = ZoneInfo(cfg.assume_timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise IngestError(f"logs.assume_timezone {cfg.assume_timezone!r} is not a known time zone") from exc
        self.strata = list(cols.strata)
        self.metadata_keys = [(c, _encode_str(c) + ": ") for c in cols.metadata]
        clash = set(cols.strata) & set(LOG_SCHEMA.names)
        if clash:
            raise IngestError(
                f"logs.columns.strata {sorted(clash)} clash with canonical column names; rename them in the source"
            )

    def check_sizes(self, values: dict[str, Any]) -> None:
        limit = self.max_bytes
        for column, value in values.items():
            # len(str) <= UTF-8 bytes <= 4 * len(str): encode only when it could matter.
            if isinstance(value, str) and len(value) * 4 > limit and len(value.encode("utf-8", "replace")) > limit:
                raise _Reject(
                    "field_too_large",
                    column,
                    f"field {column!r} is {len(value.encode('utf-8', 'replace')):,} bytes, over logs.max_field_bytes={limit:,}",
                )

    def text(self, values: dict[str, Any]) -> str:
        parts = []
        for column in self.input_columns:
            if column not in values:
                raise _Reject("missing_field", column, f"required input field {column!r} is missing")
            value = values[column]
            if value is None:
                continue
            if not isinstance(value, str):
                raise _Reject("wrong_type", column, f"input field {column!r} must be a string, got {_type_name(value)}")
            if "\x00" in value:
                raise _Reject("nul_byte", column, f"input field {column!r} contains a NUL character")
            parts.append(value)
        text = normalize_text(self.separator.join(parts))
        name = "+".join(self.input_columns)
        if not text:
            raise _Reject("empty_input", name, f"input {name!r} is empty after normalisation")
        _check_encodable(text, name)
        return mask_pii(text) if self.mask else text

    def reference(self, values: dict[str, Any]) -> str | None:
        column = self.cols.reference
        if column is None:
            return None
        value = values.get(column)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Reject("wrong_type", column, f"reference field {column!r} must be a string, got {_type_name(value)}")
        text = normalize_text(str(value))
        if "\x00" in text:
            raise _Reject("nul_byte", column, f"reference field {column!r} contains a NUL character")
        _check_encodable(text, column)
        return text or None

    def timestamp(self, values: dict[str, Any]) -> datetime | None:
        column = self.cols.timestamp
        if column is None:
            return None
        value = values.get(column)
        if value is None:
            raise _Reject("missing_field", column, f"timestamp field {column!r} is missing or null")
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                raise _Reject(
                    "bad_timestamp", column, f"timestamp {value[:60]!r} in {column!r} is not ISO 8601"
                ) from None
        elif isinstance(value, datetime):
            parsed = value
        else:
            raise _Reject("wrong_type", column, f"timestamp field {column!r} must be a string, got {_type_name(value)}")
        if parsed.tzinfo is None:
            if self.timezone is None:
                raise _Reject(
                    "naive_timestamp",
                    column,
                    f"timestamp {str(value)[:60]!r} in {column!r} has no time zone (set logs.assume_timezone to accept it)",
                )
            parsed = parsed.replace(tzinfo=self.timezone)
        return parsed.astimezone(timezone.utc)

    def split(self, values: dict[str, Any], source_split: str | None) -> str | None:
        column = self.cols.split
        if column is None or values.get(column) is None:
            return source_split
        value = values[column]
        if value not in SPLITS:
            raise _Reject("wrong_type", column, f"split field {column!r} is {value!r}, expected one of {SPLITS}")
        return value

    def metadata(self, values: dict[str, Any]) -> str | None:
        if not self.metadata_keys:
            return None
        parts = []
        for column, key in self.metadata_keys:
            if column in values:
                value = values[column]
                # json.dumps costs several microseconds a row; strings take the C escaper directly.
                encoded = _encode_str(value) if type(value) is str else json.dumps(value, default=str)
                parts.append(key + encoded)
        return "{" + ", ".join(parts) + "}"

    def map(
        self, values: dict[str, Any], raw_len: int | None, source_split: str | None, file: str, line: int
    ) -> tuple[str, int, str | None, tuple[Any, ...]]:
        """``(identity, input fingerprint, reference, output row)`` for one source row."""
        if raw_len is None or raw_len > self.max_bytes:
            self.check_sizes(values)
        text = self.text(values)
        reference = self.reference(values)
        ts = self.timestamp(values)
        split = self.split(values, source_split)
        strata = tuple(_scalar_str(values, c, required=True) for c in self.strata)
        group = _scalar_str(values, self.cols.group, required=False) if self.cols.group else None
        metadata = self.metadata(values)
        content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        id_column = self.cols.id
        example_id = _scalar_str(values, id_column, required=True) if id_column else "sha256:" + content_hash
        identity = example_id if split is None else f"{split}\x1f{example_id}"
        if not strata:
            stratum = "all"
        elif len(strata) == 1:
            stratum = f"{self.strata[0]}={strata[0]}"
        else:
            stratum = "|".join(f"{c}={v}" for c, v in zip(self.strata, strata))
        row = (example_id, text, reference, ts, stratum, group, split, content_hash, 1, file, line, metadata, *strata)  # _ROW_ORDER
        # 60 bits of the content hash as an int: a compact fingerprint for repeat detection.
        return identity, int(content_hash[:15], 16), reference, row


def _quarantine_fields(raw: bytes | None, values: Any, keep: int) -> tuple[bytes, int, str]:
    """(raw bytes capped at ``keep``, full size, SHA-256); Parquet rows are re-serialised as JSON."""
    if raw is None:
        raw = json.dumps(values, ensure_ascii=False, default=str).encode("utf-8", "replace")
    return raw[:keep], len(raw), hashlib.sha256(raw).hexdigest()


@dataclass
class _Mapped:
    """A group of source rows mapped: built where the parsing happens (maybe another process)."""

    keys: list[tuple[Any, ...]]
    """``(line, identity, input fingerprint, reference, raw row or None)`` per mapped row."""
    batch: pa.RecordBatch
    """The mapped rows in the output schema, in the order of ``keys``."""
    rejects: list[tuple[Any, ...]]
    """Quarantine rows less their file: ``(line, reason, field, detail, raw, raw_bytes, raw_sha256)``."""


def map_records(
    mapper: _Mapper,
    records: Iterable[log_readers.Record],
    split: str | None,
    file: str,
    schema: pa.Schema,
    keep: int,
    carry_raw: bool,
) -> _Mapped:
    """Map a group of records. ``carry_raw`` keeps each raw row (or the Parquet row) in ``keys``;
    JSONL leaves it out and finds a raw line in its chunk in the rare case it needs one."""
    keys, rows, rejects = [], [], []
    for line, raw, values, rejected in records:
        try:
            if rejected is not None:
                raise _Reject(*rejected)
            identity, input_fp, reference, row = mapper.map(values, None if raw is None else len(raw), split, file, line)
        except _Reject as exc:
            rejects.append((line, exc.reason, exc.column, exc.detail, *_quarantine_fields(raw, values, keep)))
            continue
        keys.append((line, identity, input_fp, reference, (values if raw is None else raw) if carry_raw else None))
        rows.append(row)
    columns = list(zip(*rows)) or [[] for _ in schema]
    batch = pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for f, c in zip(schema, columns)], schema=schema)
    return _Mapped(keys, batch, rejects)


# A parallel worker's mapper, built once per process by ``_init_worker``.
_WORKER: dict[str, Any] = {}


def _init_worker(settings: Settings, schema: pa.Schema) -> None:
    _WORKER.update(mapper=_Mapper(settings), keep=settings.logs.raw_bytes_kept, schema=schema)


def _map_chunk_in_worker(chunk: bytes, first_line: int, split: str | None, file: str) -> _Mapped:
    records = log_readers.parse_jsonl_chunk(chunk, first_line)
    return map_records(_WORKER["mapper"], records, split, file, _WORKER["schema"], _WORKER["keep"], carry_raw=False)


class _Writer:
    """Rows (tuples) or record batches collected and written to Parquet every ``batch_rows``
    rows or ``_BUFFER_BYTES`` of data, whichever comes first (inputs can be 1 MB each)."""

    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int):
        self.schema = schema
        self.rows: list[tuple[Any, ...]] = []
        self.batches: list[pa.RecordBatch] = []
        self.pending = self.size = 0
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.batch_rows = batch_rows

    def add(self, row: tuple[Any, ...], size: int) -> None:
        self.rows.append(row)
        self._grew(1, size)

    def add_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.batches.append(batch)
            self._grew(batch.num_rows, batch.nbytes)

    def _grew(self, rows: int, size: int) -> None:
        self.pending += rows
        self.size += size
        if self.pending >= self.batch_rows or self.size >= _BUFFER_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            columns = [pa.array(values, type=f.type) for f, values in zip(self.schema, zip(*self.rows))]
            self.batches.append(pa.RecordBatch.from_arrays(columns, schema=self.schema))
            self.rows = []
        if self.batches:
            self.writer.write_table(pa.Table.from_batches(self.batches, schema=self.schema))
            self.batches = []
        self.pending = self.size = 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


def _source_files(settings: Settings, source: LogSource) -> list[Path]:
    path = settings.resolve_path(source.path)
    if any(ch in source.path for ch in "*?["):
        files = [Path(p) for p in sorted(glob(str(path), recursive=True)) if Path(p).is_file()]
    elif path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in log_readers.FORMATS
        )
    elif path.is_file():
        files = [path]
    else:
        raise IngestError(f"log source {source.path!r}: {path} is not a file, a folder or a matching glob")
    if not files:
        raise IngestError(
            f"log source {source.path!r}: no log files at {path} (expected {', '.join(sorted(log_readers.FORMATS))})"
        )
    return files


class _Ingestion:
    def __init__(self, settings: Settings, work: Path, progress: Callable[[str], None] | None):
        self.settings = settings
        self.cfg = settings.logs
        self.mapper = _Mapper(settings)
        self.strata = list(self.cfg.columns.strata)
        self.schema = pa.schema([*LOG_SCHEMA, *(pa.field(c, pa.string()) for c in self.strata)])
        self.kept = _Writer(work / "kept.parquet", self.schema, self.cfg.batch_rows)
        self.quarantine = _Writer(work / "quarantine.parquet", QUARANTINE_SCHEMA, self.cfg.batch_rows)
        self.workers = self.cfg.workers or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None
        self.progress = progress
        self.report = IngestReport()
        self.reasons: Counter[str] = Counter()
        # Identity -> first kept row; per kept row: input fingerprint, reference id, origin.
        self.first_row: dict[str, int] = {}
        self.reference_ids: dict[str | None, int] = {}
        self.input_fp = array("q")
        self.reference_id = array("l")
        self.origin_file = array("l")
        self.origin_line = array("q")
        self.repeats: Counter[int] = Counter()
        self.time_min: datetime | None = None
        self.time_max: datetime | None = None

    def close(self) -> None:
        self.kept.close()
        self.quarantine.close()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    # -- one group of mapped rows -------------------------------------------------
    def take(self, file_id: int, file: str, mapped: _Mapped, raw_of: Callable[[int], bytes] | None) -> int:
        """Keep the new rows, fold exact repeats, quarantine the rest; returns rows quarantined."""
        quarantine = [(file, *reject) for reject in mapped.rejects]
        keep_mask = []
        for line, identity, input_fp, reference, raw in mapped.keys:
            reference_id = self.reference_ids.setdefault(reference, len(self.reference_ids))
            first = self.first_row.get(identity)
            if first is None:
                self.first_row[identity] = len(self.input_fp)
                self.input_fp.append(input_fp)
                self.reference_id.append(reference_id)
                self.origin_file.append(file_id)
                self.origin_line.append(line)
                keep_mask.append(True)
                continue
            keep_mask.append(False)
            if self.input_fp[first] == input_fp and self.reference_id[first] == reference_id:
                self.repeats[first] += 1
                continue
            what = "input" if self.input_fp[first] != input_fp else "reference"
            origin = f"{self.report.files[self.origin_file[first]]} line {self.origin_line[first]}"
            column = self.cfg.columns.id or "+".join(self.mapper.input_columns)
            example_id = identity.rsplit("\x1f", 1)[-1]
            detail = f"id {example_id!r} was first kept from {origin} with a different {what}"
            if raw is None:  # JSONL: the line is looked up in its chunk
                raw = raw_of(line)
            fields = _quarantine_fields(raw if isinstance(raw, bytes) else None, raw, self.cfg.raw_bytes_kept)
            quarantine.append((file, line, "duplicate_id_conflict", column, detail, *fields))
        for row in sorted(quarantine, key=lambda r: r[1]):
            self.quarantine.add(row, len(row[4]) + len(row[5]))
            self.reasons[row[2]] += 1
        batch = mapped.batch if all(keep_mask) else mapped.batch.filter(pa.array(keep_mask, pa.bool_()))
        if batch.num_rows:
            self.kept.add_batch(batch)
            self.report.labelled_rows += batch.num_rows - batch.column(REFERENCE).null_count
            times = batch.column(TIMESTAMP)
            if times.null_count < len(times):
                bounds = pc.min_max(times)
                low, high = bounds["min"].as_py(), bounds["max"].as_py()
                self.time_min = low if self.time_min is None else min(self.time_min, low)
                self.time_max = high if self.time_max is None else max(self.time_max, high)
        return len(quarantine)

    # -- files and sources -------------------------------------------------------
    def jsonl_results(self, path: Path, split: str | None) -> Iterator[tuple[_Mapped, Callable[[int], bytes]]]:
        """Mapped groups of a JSONL file, chunk by chunk, in file order (in parallel when large)."""
        file = str(path)

        def raw_lookup(chunk: bytes, first_line: int) -> Callable[[int], bytes]:
            lines: list[bytes] = []

            def raw_of(line_no: int) -> bytes:
                if not lines:  # split once, and only when a conflict needs the raw row
                    lines.extend(chunk.split(b"\n"))
                return log_readers.jsonl_line(lines, first_line, line_no)

            return raw_of

        chunks = log_readers.jsonl_chunks(path, CHUNK_BYTES)
        if self.workers <= 1 or path.stat().st_size < PARALLEL_MIN_BYTES:
            for first_line, chunk in chunks:
                records = log_readers.parse_jsonl_chunk(chunk, first_line)
                mapped = map_records(self.mapper, records, split, file, self.schema, self.cfg.raw_bytes_kept, carry_raw=False)
                yield mapped, raw_lookup(chunk, first_line)
            return
        if self.pool is None:
            # fork starts fast and needs no importable __main__, but forking a process that runs
            # other threads (a Dagster step does) can deadlock: spawn there.
            method = "fork" if threading.active_count() == 1 and sys.platform == "linux" else "spawn"
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context(method), initializer=_init_worker, initargs=(self.settings, self.schema)
            )
        pending: deque[tuple[Future, bytes, int]] = deque()
        for first_line, chunk in chunks:
            pending.append((self.pool.submit(_map_chunk_in_worker, chunk, first_line, split, file), chunk, first_line))
            if len(pending) >= 2 * self.workers:  # bounded: memory does not grow with the file
                future, done_chunk, done_first = pending.popleft()
                yield future.result(), raw_lookup(done_chunk, done_first)
        while pending:
            future, done_chunk, done_first = pending.popleft()
            yield future.result(), raw_lookup(done_chunk, done_first)

    def other_results(self, path: Path, fmt: str, split: str | None) -> Iterator[tuple[_Mapped, None]]:
        """Mapped groups of a CSV or Parquet file, read in this process."""
        cols = self.cfg.columns
        if fmt == "csv":
            records = log_readers.read_csv(path)
        else:
            required = {c: "text" for c in cols.input_columns}
            if cols.timestamp:
                required[cols.timestamp] = "timestamp"
            for c in [cols.id, *cols.strata]:
                if c:
                    required[c] = "any"
            optional = [c for c in [cols.reference, cols.group, cols.split, *cols.metadata] if c]
            records = log_readers.read_parquet(path, required, optional, self.cfg.batch_rows)
        while True:
            group = islice(records, 5000)
            mapped = map_records(self.mapper, group, split, str(path), self.schema, self.cfg.raw_bytes_kept, carry_raw=True)
            if not mapped.keys and not mapped.rejects:
                return
            yield mapped, None

    def ingest_file(self, path: Path, source: LogSource) -> tuple[int, int]:
        """Returns (rows read, rows quarantined) for this file."""
        file = str(path)
        file_id = len(self.report.files)
        self.report.files.append(file)
        read = quarantined = 0
        next_progress = _PROGRESS_EVERY
        try:
            fmt = log_readers.format_of(path, source.format)
            if fmt == "jsonl":
                batches = self.jsonl_results(path, source.split)
            else:
                batches = self.other_results(path, fmt, source.split)
            for mapped, raw_of in batches:
                quarantined += self.take(file_id, file, mapped, raw_of)
                read += len(mapped.keys) + len(mapped.rejects)
                if read >= next_progress and self.progress:
                    self.progress(f"{path.name}: {read:,} rows read, {quarantined:,} quarantined")
                    next_progress += _PROGRESS_EVERY
            if read == 0:
                raise log_readers.FileRejected("empty_file", "the file holds no rows")
        except log_readers.FileRejected as exc:
            if read:  # the readers only reject files before their first row
                raise IngestError(f"{file}: {exc.detail} after {read} rows") from exc
            self.quarantine.add((file, 0, exc.reason, None, exc.detail, b"", 0, hashlib.sha256(b"").hexdigest()), 0)
            self.report.files_rejected.append({"file": file, "reason": exc.reason, "detail": exc.detail})
        except (OSError, pa.ArrowException) as exc:
            raise IngestError(f"{file}: cannot read: {exc}") from exc
        if self.progress:
            self.progress(f"{path.name}: done, {read:,} rows read, {quarantined:,} quarantined")
        return read, quarantined

    def ingest_source(self, source: LogSource) -> None:
        before = Counter(self.reasons)
        read = quarantined = 0
        files = _source_files(self.settings, source)
        for path in files:
            r, q = self.ingest_file(path, source)
            read += r
            quarantined += q
        self.report.rows_read += read
        self.report.rows_quarantined += quarantined
        if read == 0:
            raise IngestError(f"log source {source.path!r}: its {len(files)} file(s) hold no rows")
        if quarantined == read:
            top = (self.reasons - before).most_common(3)
            reasons = ", ".join(f"{reason} ({n:,})" for reason, n in top)
            raise IngestError(
                f"log source {source.path!r}: every one of its {read:,} rows was quarantined; top reasons: {reasons}. "
                "Check logs.columns against the file's fields."
            )

    # -- output ------------------------------------------------------------------
    def write_production(self, kept: Path, dest: Path) -> None:
        """Rewrite the kept rows with the folded exact-repeat counts as ``occurrences``."""
        source = pq.ParquetFile(kept)
        index = self.schema.get_field_index(OCCURRENCES)
        offset = 0
        with pq.ParquetWriter(dest, self.schema, compression="zstd") as writer:
            for batch in source.iter_batches(batch_size=min(self.cfg.batch_rows, 10_000)):
                n = batch.num_rows
                occurrences = [1] * n
                for row in range(offset, offset + n):
                    extra = self.repeats.get(row)
                    if extra:
                        occurrences[row - offset] += extra
                batch = batch.set_column(index, self.schema.field(index), pa.array(occurrences, pa.int64()))
                writer.write_batch(batch)
                offset += n


def ingest_logs(settings: Settings, out_dir: str | Path, progress: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest every configured log source into ``out_dir`` (see module doc)."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=out_dir) as tmp:
        work = Path(tmp)
        run = _Ingestion(settings, work, progress)
        try:
            for source in settings.logs.sources:
                run.ingest_source(source)
        finally:
            run.close()
        report = run.report
        report.unique_rows = len(run.input_fp)
        report.exact_repeats = sum(run.repeats.values())
        report.rows_kept = report.unique_rows + report.exact_repeats
        report.quarantined_by_reason = dict(sorted(run.reasons.items()))
        if report.rows_read != report.rows_kept + report.rows_quarantined:
            raise IngestError(
                f"accounting error: {report.rows_read} rows read but {report.rows_kept} kept + "
                f"{report.rows_quarantined} quarantined"
            )
        report.time_min = run.time_min.isoformat() if run.time_min else None
        report.time_max = run.time_max.isoformat() if run.time_max else None
        quarantine_path = atomic_write(out_dir / QUARANTINE_FILE, lambda dest: os.replace(work / "quarantine.parquet", dest))
        production_path = atomic_write(out_dir / PRODUCTION_FILE, lambda dest: run.write_production(work / "kept.parquet", dest))
    report.production_path = str(production_path)
    report.quarantine_path = str(quarantine_path)
    report.report_path = str(out_dir / REPORT_FILE)
    report.seconds = round(time.perf_counter() - started, 3)
    atomic_write_json(out_dir / REPORT_FILE, report.to_dict())
    return report
