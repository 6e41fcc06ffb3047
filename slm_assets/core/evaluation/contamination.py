"""Contamination: does the training data a model card names overlap golden_test?

Training data is either a golden version's split (its stored content hashes are
used as they are) or a JSONL/CSV/Parquet file with an ``input`` column (also
accepted: ``text``), whose texts go through the same normaliser and PII masking
as ingestion before hashing. Exact overlap compares content hashes; near
duplicates use the same MinHash/LSH code as the golden leakage checks.
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from slm_assets.config import Settings
from slm_assets.core.golden.store import load_split
from slm_assets.core.golden.near_duplicates import cross_duplicates
from slm_assets.core.normalize import mask_pii, normalize_text, text_hash
from slm_assets.core.schema import CONTENT_HASH, EXAMPLE_ID, INPUT

INPUT_COLUMNS = ("input", "text")
EXAMPLES_KEPT = 5


class ContaminationError(RuntimeError):
    """The model's training data overlaps golden_test: its evaluation would be meaningless."""


@dataclass
class ContaminationReport:
    source: str
    training_rows: int
    test_rows: int
    exact_overlap: int
    """golden_test rows whose normalised text is in the training data."""
    near_duplicate_overlap: int
    """golden_test rows with a near-duplicate (Jaccard >= threshold) in the training data."""
    examples: list[dict] = field(default_factory=list)

    @property
    def contaminated(self) -> bool:
        return self.exact_overlap > 0 or self.near_duplicate_overlap > 0

    def to_dict(self) -> dict:
        return {**asdict(self), "contaminated": self.contaminated}

    def describe(self) -> str:
        return (
            f"training data {self.source} ({self.training_rows} rows) overlaps golden_test "
            f"({self.test_rows} rows): {self.exact_overlap} exact, {self.near_duplicate_overlap} near-duplicate"
        )


def read_training_texts(path: Path) -> list[str]:
    """The input column of a JSONL/CSV/Parquet file (by extension), as normalised text."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".json"):
            table = pjson.read_json(path)
        elif suffix == ".csv":
            table = pcsv.read_csv(path)
        elif suffix == ".parquet":
            table = pq.read_table(path)
        else:
            raise ContaminationError(f"{path}: training data must be .jsonl, .csv or .parquet")
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ContaminationError(f"{path}: cannot read training data: {exc}") from exc
    column = next((c for c in INPUT_COLUMNS if c in table.column_names), None)
    if column is None:
        raise ContaminationError(f"{path}: training data has no input column (expected one of {INPUT_COLUMNS})")
    values = table.column(column).to_pylist()
    for row, value in enumerate(values, 1):
        if not isinstance(value, str):
            raise ContaminationError(f"{path}: row {row}, field {column!r}: expected text, got {value!r}")
    return values


def check_contamination(settings: Settings, card, test: pd.DataFrame | None = None) -> ContaminationReport | None:
    """The overlap report, or None when the card names no training data."""
    ref = getattr(card, "training_data", None)
    if ref is None:
        return None
    test = load_split(settings, "test") if test is None else test
    if ref.golden_version is not None:
        train = load_split(settings, ref.split, ref.golden_version)
        source = f"golden {ref.golden_version}/{ref.split}"
        train_texts, train_hashes = train[INPUT].tolist(), set(train[CONTENT_HASH])
    else:
        path = settings.resolve_path(ref.path)
        clean = (lambda t: mask_pii(normalize_text(t))) if settings.logs.mask_pii else normalize_text
        train_texts = [clean(t) for t in read_training_texts(path)]
        train_hashes = {text_hash(t, already_normalized=True) for t in train_texts}
        source = str(path)
    exact = test[CONTENT_HASH].isin(train_hashes)
    near = cross_duplicates(train_texts, test[INPUT].tolist(), settings.golden.near_duplicate, limit=EXAMPLES_KEPT)
    examples = [
        {"kind": "exact", "test_example_id": str(row[EXAMPLE_ID]), "text": str(row[INPUT])[:200]}
        for _, row in test[exact].head(EXAMPLES_KEPT).iterrows()
    ] + [
        {
            "kind": "near_duplicate",
            "test_example_id": str(test[EXAMPLE_ID].iloc[p.right_index]),
            "jaccard": p.jaccard,
            "test_text": str(test[INPUT].iloc[p.right_index])[:200],
            "training_text": train_texts[p.left_index][:200],
        }
        for p in near.pairs
    ]
    return ContaminationReport(
        source=source,
        training_rows=len(train_texts),
        test_rows=len(test),
        exact_overlap=int(exact.sum()),
        near_duplicate_overlap=int(near.b_rows),
        examples=examples,
    )


def ensure_not_contaminated(settings: Settings, card, test: pd.DataFrame | None = None) -> ContaminationReport | None:
    report = check_contamination(settings, card, test)
    if report is not None and report.contaminated:
        raise ContaminationError(report.describe() + "; evaluation blocked (see the examples in the check)")
    return report
