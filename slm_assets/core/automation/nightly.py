"""Nightly consistency: a frozen model on a frozen golden set must give the same answers.

Each evaluation of a model version writes
``evaluations/<name@version>/<golden>/predictions.parquet``, overwriting the
previous one. After each evaluation the ``answers_unchanged`` check compares
the new file with the last archived copy in the ``history/`` folder beside it,
then archives the new one (``history/<UTC time>.parquet``, the newest
``HISTORY_KEEP`` kept). Greedy decoding is deterministic, so any changed answer
means the environment changed (library versions, hardware kernels, a
tokenizer file, the prompt code): the nightly re-evaluation of ``production``
exists to catch exactly that.

Answers are compared per example and prompt variant; only the answer text
counts (timings and other columns may differ from run to run).
"""

import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from slm_assets.core.io import atomic_write
from slm_assets.core import layout

HISTORY_DIR = "history"
HISTORY_KEEP = 30
ANSWER_COLUMN = "prediction"
KEY_COLUMNS = ("example_id", "variant")  # those present identify one answer
DIGEST_COLUMN = "model_digest"
MAX_EXAMPLES = 10


@dataclass
class AnswerComparison:
    previous: str | None
    current: str
    compared: int = 0
    changed: int = 0
    only_previous: int = 0
    only_current: int = 0
    comparable: bool = True
    note: str = ""
    examples: list[dict] = field(default_factory=list)

    @property
    def changed_rate(self) -> float:
        return self.changed / self.compared if self.compared else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "changed_rate": self.changed_rate}


def latest_archived(folder: Path) -> Path | None:
    archived = sorted((folder / HISTORY_DIR).glob("*.parquet"))
    return archived[-1] if archived else None


def archive_predictions(folder: Path, now: datetime | None = None) -> Path:
    """Copy ``predictions.parquet`` into ``history/`` (atomically) and prune old copies."""
    source = folder / layout.PREDICTIONS_FILE
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target = atomic_write(folder / HISTORY_DIR / f"{stamp}.parquet", lambda tmp: shutil.copyfile(source, tmp))
    for old in sorted((folder / HISTORY_DIR).glob("*.parquet"))[:-HISTORY_KEEP]:
        old.unlink(missing_ok=True)
    return target


def _keyed(frame: pd.DataFrame, path: Path) -> pd.Series:
    keys = [c for c in KEY_COLUMNS if c in frame.columns]
    if not keys or ANSWER_COLUMN not in frame.columns:
        raise ValueError(f"{path}: predictions need columns {KEY_COLUMNS[0]!r} and {ANSWER_COLUMN!r}")
    indexed = frame.set_index(keys)[ANSWER_COLUMN]
    duplicated = indexed.index.duplicated()
    if duplicated.any():
        raise ValueError(f"{path}: answer key {indexed.index[duplicated][0]!r} appears twice (columns {keys})")
    return indexed.fillna("")


def compare_predictions(previous_path: Path, current_path: Path) -> AnswerComparison:
    """Changed answers between two predictions files of the same model and golden version."""
    result = AnswerComparison(previous=str(previous_path), current=str(current_path))
    previous, current = pd.read_parquet(previous_path), pd.read_parquet(current_path)
    if DIGEST_COLUMN in previous and DIGEST_COLUMN in current:
        digests = set(previous[DIGEST_COLUMN].dropna()) | set(current[DIGEST_COLUMN].dropna())
        if len(digests) > 1:
            result.comparable = False
            result.note = f"model digest changed ({sorted(d[:12] for d in digests)}): not the same model"
            return result
    old, new = _keyed(previous, previous_path), _keyed(current, current_path)
    common = old.index.intersection(new.index)
    result.compared = len(common)
    result.only_previous = len(old.index.difference(new.index))
    result.only_current = len(new.index.difference(old.index))
    differs = old.loc[common] != new.loc[common]
    result.changed = int(differs.sum())
    for key in common[differs.to_numpy()][:MAX_EXAMPLES]:
        result.examples.append({"key": str(key), "previous": old.loc[key], "current": new.loc[key]})
    return result


def check_and_archive(folder: Path, max_changed_rate: float = 0.0) -> tuple[bool, AnswerComparison]:
    """Compare the folder's predictions with its last archived copy, then archive them.

    Returns (passed, comparison). The first evaluation (no history yet) passes and
    becomes the reference. Examples present in only one file (e.g. a changed
    ``evaluation.max_examples``) are reported, not counted as changed answers.
    """
    current = folder / layout.PREDICTIONS_FILE
    if not current.is_file():
        raise FileNotFoundError(f"{current}: no predictions to check (evaluate the model first)")
    previous = latest_archived(folder)
    if previous is None:
        result = AnswerComparison(previous=None, current=str(current), note="first evaluation: archived as the reference")
    else:
        result = compare_predictions(previous, current)
    archive_predictions(folder)
    passed = not result.comparable or result.changed_rate <= max_changed_rate
    return passed, result
