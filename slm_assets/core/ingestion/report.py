"""What an ingestion tells its caller: the stable reason codes, the report, the one error type."""

from dataclasses import asdict, dataclass, field
from typing import Any

PRODUCTION_FILE = "production_logs.parquet"
QUARANTINE_FILE = "quarantined_logs.parquet"
REPORT_FILE = "ingest_report.json"
OUTPUT_FILES = (PRODUCTION_FILE, QUARANTINE_FILE, REPORT_FILE)

ROW_REASONS = (
    "bad_json",
    "not_an_object",
    "duplicate_key",
    "nested_too_deep",
    "missing_field",
    "wrong_type",
    "empty_input",
    "invalid_utf8",
    "nul_byte",
    "field_too_large",
    "bad_timestamp",
    "naive_timestamp",
    "implausible_timestamp",
    "duplicate_id_conflict",
    "ragged_row",
    "bad_csv",
    "unterminated_quote",
    "schema_mismatch",
    "unexpected_error",
)
FILE_REASONS = (
    "empty_file",
    "unreadable_file",
    "truncated_file",
    "compressed_file",
    "special_file",
    "dangling_link",
    "same_file",
)
REASONS = ROW_REASONS + FILE_REASONS


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
    version: str = ""
    """The published output folder's name (``<out>/versions/<version>``)."""
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
