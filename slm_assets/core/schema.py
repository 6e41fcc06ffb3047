"""The canonical row schema shared by ingestion, golden splits and evaluation.

`production_logs` and every golden split are Parquet files with these columns
(strata columns named in the config are kept too, under their own names).
"""

import pyarrow as pa

EXAMPLE_ID = "example_id"  # the source id, or "sha256:<hash of normalised input>" when the source has none
INPUT = "input"  # normalised (NFC, whitespace) and PII-masked text
REFERENCE = "reference"  # expected output / label, normalised; null when unlabelled
TIMESTAMP = "timestamp"  # timestamp[us, tz=UTC]; null when the source has none
STRATUM = "stratum"  # "col=value|col=value" over the configured strata columns, "all" when none
GROUP_ID = "group_id"  # configured group column (customer, session...), null when none
SPLIT = "split"  # predefined split from the source, null otherwise
CONTENT_HASH = "content_hash"  # sha256 hex of INPUT
OCCURRENCES = "occurrences"  # exact repeats of (id, input, reference) folded into this row
SOURCE_FILE = "source_file"
SOURCE_LINE = "source_line"  # 1-based line (JSONL), record number (CSV, header = 1) or row (Parquet)
METADATA = "metadata"  # JSON object of the configured free metadata columns

LOG_SCHEMA = pa.schema(
    [
        pa.field(EXAMPLE_ID, pa.string(), nullable=False),
        pa.field(INPUT, pa.string(), nullable=False),
        pa.field(REFERENCE, pa.string()),
        pa.field(TIMESTAMP, pa.timestamp("us", tz="UTC")),
        pa.field(STRATUM, pa.string(), nullable=False),
        pa.field(GROUP_ID, pa.string()),
        pa.field(SPLIT, pa.string()),
        pa.field(CONTENT_HASH, pa.string(), nullable=False),
        pa.field(OCCURRENCES, pa.int64(), nullable=False),
        pa.field(SOURCE_FILE, pa.string(), nullable=False),
        pa.field(SOURCE_LINE, pa.int64(), nullable=False),
        pa.field(METADATA, pa.string()),
    ]
)

# quarantined_logs: one row per rejected input row, nothing dropped.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field(SOURCE_FILE, pa.string(), nullable=False),
        pa.field(SOURCE_LINE, pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),  # a stable code, e.g. "bad_json"
        pa.field("field", pa.string()),  # the offending field, when one is to blame
        pa.field("detail", pa.string(), nullable=False),  # a human sentence
        pa.field("raw", pa.binary()),  # the raw row bytes (capped at raw_bytes_kept)
        pa.field("raw_bytes", pa.int64(), nullable=False),  # full size of the raw row
        pa.field("raw_sha256", pa.string(), nullable=False),
    ]
)

SPLITS = ("train", "validation", "test")
