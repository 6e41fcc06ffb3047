"""One ingestion pass: sources -> files -> mapped groups -> kept rows, folded repeats, quarantine.

``Ingestion`` holds the identity index (about 150 bytes per unique row) and the two
writers; ``core.ingestion.logs.ingest_logs`` drives it and publishes the result. JSONL
files of ``PARALLEL_MIN_BYTES`` or more are cut into line-aligned chunks that
``logs.workers`` processes map in parallel; this process keeps file order, folds repeats
and writes, with a bounded number of chunks in flight. The workers die with this
process (``batches.die_with_parent``), so a killed ingestion leaves none behind.
"""

import hashlib
import os
import sys
import threading
import zlib
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from itertools import islice
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from slm_assets.config import LogSource, Settings
from slm_assets.core.ingestion import compression
from slm_assets.core.ingestion import readers as log_readers
from slm_assets.core.ingestion.batches import Mapped, init_worker, map_chunk_in_worker, map_records, quarantine_fields
from slm_assets.core.ingestion.csv_reader import read_csv
from slm_assets.core.ingestion.mapping import Mapper
from slm_assets.core.ingestion.report import IngestError, IngestReport
from slm_assets.core.ingestion.sources import source_candidates
from slm_assets.core.ingestion.writer import Writer
from slm_assets.core.schema import LOG_SCHEMA, QUARANTINE_SCHEMA, REFERENCE, TIMESTAMP

_PROGRESS_EVERY = 100_000
CHUNK_BYTES = 4 << 20
PARALLEL_MIN_BYTES = 64 << 20
"""JSONL files at least this large are parsed by ``logs.workers`` processes."""
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_READ_ERRORS = (*compression.DECOMPRESSION_ERRORS, zlib.error)


def _until_broken(records: Iterator[log_readers.Record], broken: list[BaseException]) -> Iterator[log_readers.Record]:
    """The records until the stream breaks; the error is kept in ``broken`` for the caller to raise
    once the records before it are taken (otherwise the group being built would be lost)."""
    try:
        yield from records
    except _READ_ERRORS as exc:
        broken.append(exc)


class Ingestion:
    def __init__(self, settings: Settings, work: Path, progress: Callable[[str], None] | None, started: datetime):
        self.settings = settings
        self.cfg = settings.logs
        self.started = started
        self.mapper = Mapper(settings, started)
        self.strata = list(self.cfg.columns.strata)
        self.schema = pa.schema([*LOG_SCHEMA, *(pa.field(c, pa.string()) for c in self.strata)])
        self.kept = Writer(work / "kept.parquet", self.schema, self.cfg.batch_rows)
        self.quarantine = Writer(work / "quarantine.parquet", QUARANTINE_SCHEMA, self.cfg.batch_rows)
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
        self.seen_files: dict[tuple[int, int], str] = {}

    def close(self) -> None:
        self.kept.close()
        self.quarantine.close()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    # -- one group of mapped rows -------------------------------------------------
    def take(self, file_id: int, file: str, mapped: Mapped, raw_of: Callable[[int], bytes] | None) -> int:
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
            fields = quarantine_fields(raw if isinstance(raw, bytes) else None, raw, self.cfg.raw_bytes_kept)
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
    def jsonl_results(self, path: Path, split: str | None, codec: str | None) -> Iterator[tuple[Mapped, Callable[[int], bytes]]]:
        """Mapped groups of a JSONL file, chunk by chunk, in file order (in parallel when large)."""
        file = str(path)

        def raw_lookup(chunk: bytes, first_line: int) -> Callable[[int], bytes]:
            lines: list[bytes] = []

            def raw_of(line_no: int) -> bytes:
                if not lines:  # split once, and only when a conflict needs the raw row
                    lines.extend(chunk.split(b"\n"))
                return log_readers.jsonl_line(lines, first_line, line_no)

            return raw_of

        chunks = log_readers.jsonl_chunks(path, CHUNK_BYTES, codec)
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
                self.workers,
                mp_context=get_context(method),
                initializer=init_worker,
                initargs=(self.settings, self.schema, self.started, os.getpid()),
            )
        pending: deque[tuple[Future, bytes, int]] = deque()
        broken: BaseException | None = None
        try:
            for first_line, chunk in chunks:
                pending.append((self.pool.submit(map_chunk_in_worker, chunk, first_line, split, file), chunk, first_line))
                if len(pending) >= 2 * self.workers:  # bounded: memory does not grow with the file
                    future, done_chunk, done_first = pending.popleft()
                    yield future.result(), raw_lookup(done_chunk, done_first)
        except _READ_ERRORS as exc:
            broken = exc  # the chunks already with the workers are still rows read: take them first
        while pending:
            future, done_chunk, done_first = pending.popleft()
            yield future.result(), raw_lookup(done_chunk, done_first)
        if broken is not None:
            raise broken

    def other_results(self, path: Path, fmt: str, split: str | None, codec: str | None) -> Iterator[tuple[Mapped, None]]:
        """Mapped groups of a CSV or Parquet file, read in this process."""
        cols = self.cfg.columns
        if fmt == "csv":
            records = read_csv(path, codec, self.cfg.max_field_bytes)
        else:
            required = {c: "text" for c in cols.input_columns}
            if cols.timestamp:
                required[cols.timestamp] = "timestamp"
            for c in [cols.id, *cols.strata]:
                if c:
                    required[c] = "any"
            optional = [c for c in [cols.reference, cols.group, cols.split, *cols.metadata] if c]
            records = log_readers.read_parquet(path, required, optional, self.cfg.batch_rows)
        broken: list[BaseException] = []
        records = _until_broken(records, broken)
        while True:
            group = islice(records, 5000)
            mapped = map_records(self.mapper, group, split, str(path), self.schema, self.cfg.raw_bytes_kept, carry_raw=True)
            if not mapped.keys and not mapped.rejects:
                break
            yield mapped, None
        if broken:
            raise broken[0]

    def reject_file(self, file: str, reason: str, detail: str) -> None:
        """A file-level entry: ``source_line`` 0 in quarantine, listed in ``files_rejected``; not a row."""
        self.quarantine.add((file, 0, reason, None, detail, b"", 0, _EMPTY_SHA256), 0)
        self.report.files_rejected.append({"file": file, "reason": reason, "detail": detail})

    def ingest_file(self, path: Path, source: LogSource) -> tuple[int, int]:
        """Returns (rows read, rows quarantined) for this file."""
        file = str(path)
        file_id = len(self.report.files)
        self.report.files.append(file)
        read = quarantined = 0
        next_progress = _PROGRESS_EVERY
        try:
            fmt = log_readers.format_of(path, source.format)
            codec = log_readers.codec_of(path)
            if fmt == "jsonl":
                batches = self.jsonl_results(path, source.split, codec)
            else:
                batches = self.other_results(path, fmt, source.split, codec)
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
            self.reject_file(file, exc.reason, exc.detail)
        except _READ_ERRORS as exc:
            # A corrupt or truncated file (often a compressed one) stops that file only; the
            # rows read before the break stay counted.
            what = f"{type(exc).__name__}: {str(exc)[:200]}"
            if read:
                self.reject_file(file, "truncated_file", f"reading stopped after {read:,} rows: {what}")
            else:
                self.reject_file(file, "unreadable_file", f"cannot read: {what}")
        if self.progress:
            self.progress(f"{path.name}: done, {read:,} rows read, {quarantined:,} quarantined")
        return read, quarantined

    def ingest_source(self, source: LogSource) -> None:
        before = Counter(self.reasons)
        rejected_before = len(self.report.files_rejected)
        read = quarantined = 0
        candidates = source_candidates(self.settings, source)
        for candidate in candidates:
            file = str(candidate.path)
            if candidate.reason is not None:
                self.reject_file(file, candidate.reason, candidate.detail)
                continue
            first = self.seen_files.setdefault(candidate.identity, file)
            if first != file:
                self.reject_file(file, "same_file", f"the same file as {first} (read once)")
                continue
            r, q = self.ingest_file(candidate.path, source)
            read += r
            quarantined += q
        self.report.rows_read += read
        self.report.rows_quarantined += quarantined
        if read == 0:
            rejected = Counter(f["reason"] for f in self.report.files_rejected[rejected_before:])
            why = ", ".join(f"{reason} ({n})" for reason, n in rejected.most_common())
            raise IngestError(f"log source {source.path!r}: its {len(candidates)} file(s) hold no rows (rejected: {why})")
        if quarantined == read:
            top = (self.reasons - before).most_common(3)
            reasons = ", ".join(f"{reason} ({n:,})" for reason, n in top)
            raise IngestError(
                f"log source {source.path!r}: every one of its {read:,} rows was quarantined; top reasons: {reasons}. "
                "Check logs.columns against the file's fields."
            )
