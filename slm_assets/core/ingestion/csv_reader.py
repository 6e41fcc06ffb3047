"""CSV log files: a header row, then records streamed line by line, each with its raw bytes.

A quote that is never closed would make the rest of a file one record (an unterminated
quote followed by 100,000 rows was read as 2 rows). A record that only such a quote can
explain (``_swallowed``) is quarantined as ``unterminated_quote`` with its first line
alone, and reading resumes on the line after it, so the rows it swallowed are read.
"""

import csv
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slm_assets.core.ingestion import compression
from slm_assets.core.ingestion.readers import BOM, FileRejected, Record, nul_detail

# Real issue bodies exceed the csv module's 128 KiB default; sizes are checked by the
# ingestion itself (max_field_bytes), so the reader must never be the one to refuse.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class _Lines:
    """Physical lines of a CSV stream for ``csv.reader``: remembers the current record's raw
    lines, can take lines back (to resume after a bad quote) and cuts a record off at ``cap``
    bytes (``csv.reader`` then sees the end of the data, and returns what it has)."""

    def __init__(self, fh: Any, cap: int):
        self.fh, self.cap = fh, cap
        self.pending: deque[bytes] = deque()
        self.record: list[bytes] = []
        self.size = 0
        self.cut = False
        self.bad_utf8: list[int] = []
        self.first = True

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self.size > self.cap:
            self.cut = True
            raise StopIteration
        line = self.pending.popleft() if self.pending else self.fh.readline()
        if not line:
            raise StopIteration
        if self.first and line.startswith(BOM):
            line = line[3:]
        self.first = False
        self.record.append(line)
        self.size += len(line)
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad_utf8.append(exc.start)
            return line.decode("utf-8", "replace")

    def take(self) -> tuple[list[bytes], bool]:
        """The raw lines of the record just read, and whether it was cut off."""
        record, cut = self.record, self.cut
        self.record, self.size, self.cut = [], 0, False
        return record, cut


def _swallowed(lines: list[bytes], cut: bool, fields: list[str] | None, width: int) -> bool:
    """A record that only a quote never closed can explain: it spans several lines and
    reached the size cap, or holds an odd number of quotes (the data ended inside a quoted
    field), or has the wrong number of fields. Well-formed multi-line records have none."""
    if len(lines) < 2:
        return False
    return cut or sum(line.count(b'"') for line in lines) % 2 == 1 or (fields is not None and len(fields) != width)


def read_csv(path: Path, codec: str | None = None, max_field_bytes: int = 1 << 20) -> Iterator[Record]:
    """CSV with a header row, streamed line by line; each record keeps its raw bytes.

    CSV has no null: an empty field is read as ``None``. A quote that is never closed would
    make the rest of the file one record (100,000 rows read as one): such a record (see
    ``_swallowed``; it is cut off at ``max_field_bytes`` per column) is quarantined as
    ``unterminated_quote`` with its first line only, and reading resumes on its next line.
    """
    with compression.open_stream(path, codec) as fh:
        lines = _Lines(fh, cap=max_field_bytes)
        reader = csv.reader(lines)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise FileRejected("unreadable_file", f"CSV header cannot be parsed: {exc}") from None
        if len(lines.record) > 1:
            raise FileRejected("unreadable_file", "the header row spans several lines (a quote in it is never closed)")
        if not header or lines.bad_utf8:
            raise FileRejected(
                "empty_file" if not header else "unreadable_file",
                "the file has no header row" if not header else "the header row is not valid UTF-8",
            )
        if len(set(header)) != len(header):
            twice = sorted({c for c in header if header.count(c) > 1})
            raise FileRejected("unreadable_file", f"the header names column(s) {twice} more than once")
        lines.take()
        width = len(header)
        lines.cap = max_field_bytes * width + 2 * width
        record_no, rows = 1, 0
        while True:
            try:
                fields = next(reader)
                error = None
            except StopIteration:
                break
            except csv.Error as exc:
                fields, error = None, str(exc)
            raw_lines, cut = lines.take()
            raw = b"".join(raw_lines).rstrip(b"\r\n")
            if fields == [] or (fields is not None and not raw.strip()):
                continue  # a blank line is layout, not a record
            record_no += 1
            rows += 1
            if _swallowed(raw_lines, cut, fields, width):
                lines.pending.extendleft(reversed(raw_lines[1:]))
                lines.bad_utf8.clear()
                first = raw_lines[0].rstrip(b"\r\n")
                detail = (
                    f"a quoted field opened on this record runs over {len(raw_lines) - 1:,} more line(s) "
                    f"({len(raw):,} bytes) without closing; reading resumes on the next line"
                )
                yield record_no, first, None, ("unterminated_quote", None, detail)
            elif lines.bad_utf8:
                yield record_no, raw, None, ("invalid_utf8", None, f"invalid UTF-8 at byte {lines.bad_utf8[0]} of a line")
                lines.bad_utf8.clear()
            elif b"\x00" in raw:
                yield record_no, raw, None, ("nul_byte", None, nul_detail(raw))
            elif error is not None:
                yield record_no, raw, None, ("bad_csv", None, f"CSV record cannot be parsed: {error}")
            elif len(fields) != width:
                yield record_no, raw, None, ("ragged_row", None, f"{len(fields)} fields where the header has {width}")
            else:
                yield record_no, raw, {k: (v if v != "" else None) for k, v in zip(header, fields)}, None
    if rows == 0:
        raise FileRejected("empty_file", "the file has a header but no records")
