"""Ingestion: log files -> ``production_logs`` + ``quarantined_logs``, every row accounted for.

``ingest_logs(settings, out_dir)`` reads every configured source (streaming; see
``readers`` and ``csv_reader``), maps its columns onto ``LOG_SCHEMA`` (``mapping``), and
publishes ``production_logs.parquet``, ``quarantined_logs.parquet`` and
``ingest_report.json`` together as one version (``publish``). Invariant (checked):
rows read == rows kept (the sum of ``occurrences``) + rows quarantined.

Rules a user can rely on:
- Input: the mapped input column(s); several are joined with ``input_separator``
  (a null part is skipped), then normalised (``normalize.normalize_text``) and,
  with ``logs.mask_pii``, PII-masked before anything is written. A missing input
  key is ``missing_field``; a null or blank input is ``empty_input``.
- Timestamps: ISO 8601 strings (or native Parquet timestamps), stored in UTC.
  A timestamp without a zone is quarantined as ``naive_timestamp`` unless
  ``logs.assume_timezone`` names the zone to read it in (e.g. ``UTC``). One that
  leaves years 1..9999 in UTC is ``bad_timestamp``; one outside
  ``logs.timestamp_window`` (default 1990-01-01 .. one day after the ingestion
  started) is ``implausible_timestamp``. When a timestamp column is mapped it is
  required; with none mapped every row has a null timestamp (only non-temporal
  split strategies can use such logs).
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
- No single row can stop an ingestion: JSON nested too deep is ``nested_too_deep``,
  an object with a key twice ``duplicate_key``, a CSV quote never closed
  ``unterminated_quote``, anything unforeseen ``unexpected_error`` (with the exception).
- A file that yields no rows (empty, unreadable, an archive, a FIFO or device, a dangling
  link, a file already read under another name) is one file-level quarantine entry with
  ``source_line`` 0, listed in ``files_rejected``, not counted as a row; a file that
  breaks part-way (a truncated gzip) keeps the rows read before and is listed as
  ``truncated_file``. gzip, zstd, bzip2 and xz files are read whatever their name.
- A source in which no row survives raises ``IngestError`` with the top reasons.

Quarantine reason codes are stable: see ``REASONS``.
"""

import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from slm_assets.config import Settings
from slm_assets.core.ingestion.publish import Publication, published_dir
from slm_assets.core.ingestion.report import (
    FILE_REASONS,
    OUTPUT_FILES,
    PRODUCTION_FILE,
    QUARANTINE_FILE,
    REASONS,
    REPORT_FILE,
    ROW_REASONS,
    IngestError,
    IngestReport,
)
from slm_assets.core.ingestion.run import Ingestion
from slm_assets.core.ingestion.writer import write_production
from slm_assets.core.io import atomic_write_json

__all__ = [
    "FILE_REASONS",
    "OUTPUT_FILES",
    "PRODUCTION_FILE",
    "QUARANTINE_FILE",
    "REASONS",
    "REPORT_FILE",
    "ROW_REASONS",
    "IngestError",
    "IngestReport",
    "ingest_logs",
    "published_dir",
]


def ingest_logs(settings: Settings, out_dir: str | Path, progress: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest every configured log source and publish the outputs in ``out_dir`` (see module doc)."""
    started = time.perf_counter()
    with Publication(out_dir) as publication:
        work = publication.staging
        run = Ingestion(settings, work, progress, started=datetime.now(timezone.utc))
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
        (work / "quarantine.parquet").rename(work / QUARANTINE_FILE)
        write_production(work / "kept.parquet", work / PRODUCTION_FILE, run.schema, run.repeats, settings.logs.batch_rows)
        (work / "kept.parquet").unlink()
        final = publication.final
        report.version = publication.version
        report.production_path = str(final / PRODUCTION_FILE)
        report.quarantine_path = str(final / QUARANTINE_FILE)
        report.report_path = str(final / REPORT_FILE)
        report.seconds = round(time.perf_counter() - started, 3)
        atomic_write_json(work / REPORT_FILE, report.to_dict())
        publication.publish()
    return report
