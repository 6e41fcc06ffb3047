"""A group of parsed records -> mapped rows in the output schema plus quarantine rows.

Built where the parsing happens: in this process, or in a parallel worker for large
JSONL files. No exception of a single row escapes ``map_records``: a row that breaks
the mapper in a way it does not foresee is quarantined as ``unexpected_error`` with
the exception named, so one hostile line can never stop an ingestion.
"""

import ctypes
import hashlib
import json
import os
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from slm_assets.config import Settings
from slm_assets.core.ingestion import readers as log_readers
from slm_assets.core.ingestion.mapping import Mapper, Reject

_PR_SET_PDEATHSIG = 1


def quarantine_fields(raw: bytes | None, values: Any, keep: int) -> tuple[bytes, int, str]:
    """(raw bytes capped at ``keep``, full size, SHA-256); Parquet rows are re-serialised as JSON."""
    if raw is None:
        try:
            raw = json.dumps(values, ensure_ascii=False, default=str).encode("utf-8", "replace")
        except (RecursionError, ValueError, TypeError):  # nested too deep, or a value json cannot hold
            raw = repr(values).encode("utf-8", "replace")
    return raw[:keep], len(raw), hashlib.sha256(raw).hexdigest()


@dataclass
class Mapped:
    """A group of source rows mapped: built where the parsing happens (maybe another process)."""

    keys: list[tuple[Any, ...]]
    """``(line, identity, input fingerprint, reference, raw row or None)`` per mapped row."""
    batch: pa.RecordBatch
    """The mapped rows in the output schema, in the order of ``keys``."""
    rejects: list[tuple[Any, ...]]
    """Quarantine rows less their file: ``(line, reason, field, detail, raw, raw_bytes, raw_sha256)``."""


def _unexpected(exc: BaseException) -> Reject:
    if isinstance(exc, RecursionError):  # a value nested just under the parser's limit, re-serialised
        return Reject("nested_too_deep", None, f"a value is nested too deep to re-serialise: {str(exc)[:200]}")
    return Reject("unexpected_error", None, f"{type(exc).__name__}: {str(exc)[:300]}")


def map_records(
    mapper: Mapper,
    records: Iterable[log_readers.Record],
    split: str | None,
    file: str,
    schema: pa.Schema,
    keep: int,
    carry_raw: bool,
) -> Mapped:
    """Map a group of records. ``carry_raw`` keeps each raw row (or the Parquet row) in ``keys``;
    JSONL leaves it out and finds a raw line in its chunk in the rare case it needs one."""
    keys, rows, rejects, raws = [], [], [], []
    for line, raw, values, rejected in records:
        try:
            if rejected is not None:
                raise Reject(*rejected)
            identity, input_fp, reference, row = mapper.map(values, None if raw is None else len(raw), split, file, line)
        except Exception as exc:  # noqa: BLE001 - see the module doc: a row never stops the batch
            reject = exc if isinstance(exc, Reject) else _unexpected(exc)
            rejects.append((line, *_fields(reject), *quarantine_fields(raw, values, keep)))
            continue
        keys.append((line, identity, input_fp, reference, (values if raw is None else raw) if carry_raw else None))
        rows.append(row)
        raws.append(raw)  # bytes only: keeping each row's dict alive would cost the GC dearly
    try:
        batch = _batch(rows, schema)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        # A value Arrow cannot hold: find the row(s) one by one rather than lose the group.
        good_keys, good_rows = [], []
        for key, row, raw in zip(keys, rows, raws):
            try:
                _batch([row], schema)
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
                # Without raw bytes (Parquet) the row's values travel in its key.
                rejects.append((key[0], *_fields(_unexpected(exc)), *quarantine_fields(raw, key[4], keep)))
                continue
            good_keys.append(key)
            good_rows.append(row)
        keys, batch = good_keys, _batch(good_rows, schema)
        rejects.sort(key=lambda r: r[0])
    return Mapped(keys, batch, rejects)


def _fields(exc: Reject) -> tuple[str, str | None, str]:
    return exc.reason, exc.column, exc.detail


def _batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows)) or [[] for _ in schema]
    return pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for f, c in zip(schema, columns)], schema=schema)


# A parallel worker's mapper, built once per process by ``init_worker``.
_WORKER: dict[str, Any] = {}


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), so a SIGKILLed
    ingestion leaves no worker behind; elsewhere, or if the parent is already gone, exit."""
    if sys.platform == "linux":
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def init_worker(settings: Settings, schema: pa.Schema, started: datetime, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    _WORKER.update(mapper=Mapper(settings, started), keep=settings.logs.raw_bytes_kept, schema=schema)


def map_chunk_in_worker(chunk: bytes, first_line: int, split: str | None, file: str) -> Mapped:
    records = log_readers.parse_jsonl_chunk(chunk, first_line)
    return map_records(_WORKER["mapper"], records, split, file, _WORKER["schema"], _WORKER["keep"], carry_raw=False)
