"""One source row (a dict) -> the canonical fields, or a ``Reject`` naming the reason and field.

The rules a user can rely on are listed in ``core.ingestion.logs``; this module applies
them to one row. Timestamps outside ``logs.timestamp_window`` are ``implausible_timestamp``:
a row dated in year 9999 would otherwise freeze into a golden set and pin the drift window.
"""

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from json.encoder import encode_basestring_ascii as _encode_str  # the C escaper json.dumps uses

from slm_assets.config import Settings
from slm_assets.core.ingestion.report import IngestError
from slm_assets.core.normalize import mask_pii, normalize_text
from slm_assets.core import schema
from slm_assets.core.schema import LOG_SCHEMA, SPLITS

# Rows are built as tuples in this order (fast); fail at import if the schema ever moves.
_ROW_ORDER = [
    getattr(schema, name)
    for name in ("EXAMPLE_ID", "INPUT", "REFERENCE", "TIMESTAMP", "STRATUM", "GROUP_ID", "SPLIT", "CONTENT_HASH",
                 "OCCURRENCES", "SOURCE_FILE", "SOURCE_LINE", "METADATA")
]
if LOG_SCHEMA.names != _ROW_ORDER:
    raise ImportError(f"core/ingestion/mapping.py builds rows in the order {_ROW_ORDER}, but LOG_SCHEMA is {LOG_SCHEMA.names}")


class Reject(Exception):
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
            raise Reject("missing_field", column, f"required field {column!r} is missing or null")
        return None
    value = values[column]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Reject("wrong_type", column, f"field {column!r} must be a string or integer, got {_type_name(value)}")
    text = str(value).strip()
    if not text:
        if required:
            raise Reject("missing_field", column, f"required field {column!r} is blank")
        return None
    if "\x00" in text:
        raise Reject("nul_byte", column, f"field {column!r} contains a NUL character")
    if not text.isascii():  # most identifiers are ASCII: skip the call
        _check_encodable(text, column)
    return text


def _check_encodable(text: str, column: str) -> None:
    # JSON may carry lone surrogates (\ud800) that have no UTF-8 form.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise Reject("invalid_utf8", column, f"field {column!r} has no UTF-8 form: {exc.reason}") from None




class Mapper:
    """Turns one source row (a dict) into the canonical fields, or raises ``_Reject``."""

    def __init__(self, settings: Settings, started: datetime):
        cfg = settings.logs
        window = cfg.timestamp_window
        self.not_before = window.not_before.astimezone(timezone.utc)
        if window.not_after is not None:
            self.not_after = window.not_after.astimezone(timezone.utc)
        else:
            self.not_after = min(started + timedelta(days=window.future_days), datetime.max.replace(tzinfo=timezone.utc))
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
                raise Reject(
                    "field_too_large",
                    column,
                    f"field {column!r} is {len(value.encode('utf-8', 'replace')):,} bytes, over logs.max_field_bytes={limit:,}",
                )

    def text(self, values: dict[str, Any]) -> str:
        parts = []
        for column in self.input_columns:
            if column not in values:
                raise Reject("missing_field", column, f"required input field {column!r} is missing")
            value = values[column]
            if value is None:
                continue
            if not isinstance(value, str):
                raise Reject("wrong_type", column, f"input field {column!r} must be a string, got {_type_name(value)}")
            if "\x00" in value:
                raise Reject("nul_byte", column, f"input field {column!r} contains a NUL character")
            parts.append(value)
        text = normalize_text(self.separator.join(parts))
        name = "+".join(self.input_columns)
        if not text:
            raise Reject("empty_input", name, f"input {name!r} is empty after normalisation")
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
            raise Reject("wrong_type", column, f"reference field {column!r} must be a string, got {_type_name(value)}")
        text = normalize_text(str(value))
        if "\x00" in text:
            raise Reject("nul_byte", column, f"reference field {column!r} contains a NUL character")
        _check_encodable(text, column)
        return text or None

    def timestamp(self, values: dict[str, Any]) -> datetime | None:
        column = self.cols.timestamp
        if column is None:
            return None
        value = values.get(column)
        if value is None:
            raise Reject("missing_field", column, f"timestamp field {column!r} is missing or null")
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                raise Reject(
                    "bad_timestamp", column, f"timestamp {value[:60]!r} in {column!r} is not ISO 8601"
                ) from None
        elif isinstance(value, datetime):
            parsed = value
        else:
            raise Reject("wrong_type", column, f"timestamp field {column!r} must be a string, got {_type_name(value)}")
        if parsed.tzinfo is None:
            if self.timezone is None:
                raise Reject(
                    "naive_timestamp",
                    column,
                    f"timestamp {str(value)[:60]!r} in {column!r} has no time zone (set logs.assume_timezone to accept it)",
                )
            parsed = parsed.replace(tzinfo=self.timezone)
        try:
            utc = parsed.astimezone(timezone.utc)
        except (OverflowError, ValueError):  # year 1 minus an offset, year 9999 plus one
            raise Reject(
                "bad_timestamp", column, f"timestamp {str(value)[:60]!r} in {column!r} leaves years 1..9999 in UTC"
            ) from None
        if not self.not_before <= utc <= self.not_after:
            raise Reject(
                "implausible_timestamp",
                column,
                f"timestamp {utc.isoformat()} in {column!r} is outside logs.timestamp_window "
                f"({self.not_before.isoformat()} .. {self.not_after.isoformat()})",
            )
        return utc

    def split(self, values: dict[str, Any], source_split: str | None) -> str | None:
        column = self.cols.split
        if column is None or values.get(column) is None:
            return source_split
        value = values[column]
        if value not in SPLITS:
            raise Reject("wrong_type", column, f"split field {column!r} is {value!r}, expected one of {SPLITS}")
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

