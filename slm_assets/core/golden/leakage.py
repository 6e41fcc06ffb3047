"""Leakage checks over the golden splits: one function per check, each returning a CheckOutcome.

The splits are canonical log frames (``core.schema.LOG_SCHEMA`` columns). Every
failing outcome carries counts and a few example pairs that name the example ids,
the (truncated) texts and the ``source_file:line`` of both rows, so a user can go
straight to the offending log lines.

Slightly over 350 lines: one function per check, kept together so the checks share one report shape.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from slm_assets.config import NearDuplicateConfig, Settings
from slm_assets.core.schema import (
    CONTENT_HASH,
    EXAMPLE_ID,
    GROUP_ID,
    INPUT,
    REFERENCE,
    SOURCE_FILE,
    SOURCE_LINE,
    SPLITS,
    STRATUM,
    TIMESTAMP,
)

MAX_EXAMPLES = 5
TEXT_CHARS = 160
DERIVED_ID_PREFIX = "sha256:"
"""Ids that ingestion derived from the text (the source had none): their overlap is exact_overlap's."""

Frames = Mapping[str, pd.DataFrame]


@dataclass
class CheckOutcome:
    passed: bool
    severity: Literal["error", "warn"]
    description: str
    counts: dict[str, int | float] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


def _require(splits: Frames, *columns: str) -> None:
    for name, frame in splits.items():
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"split {name!r} lacks the canonical column(s) {missing} (see core/schema.py)")


def _pairs(splits: Frames) -> list[tuple[str, str]]:
    """Split pairs in time order (train before validation before test), present splits only."""
    present = [s for s in SPLITS if s in splits] + [s for s in splits if s not in SPLITS]
    return list(combinations(present, 2))


def row_ref(frame: pd.DataFrame, position: int, split: str) -> dict[str, Any]:
    row = frame.iloc[position]
    text = str(row[INPUT])
    return {
        "split": split,
        "example_id": str(row[EXAMPLE_ID]),
        "input": text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…",
        "source": f"{row[SOURCE_FILE]}:{int(row[SOURCE_LINE])}",
    }


def _pair(splits: Frames, a: str, i: int, b: str, j: int, **extra: Any) -> dict[str, Any]:
    return {"left": row_ref(splits[a], i, a), "right": row_ref(splits[b], j, b), **extra}


def _shared_values(splits: Frames, column: str, skip=None) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Values of ``column`` found in two splits: counts per split pair and example pairs."""
    counts: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    for a, b in _pairs(splits):
        left, right = splits[a][column], splits[b][column]
        keep_left, keep_right = left.notna(), right.notna()
        if skip is not None:
            keep_left &= ~skip(left)
            keep_right &= ~skip(right)
        shared = pd.Index(left[keep_left].unique()).intersection(pd.Index(right[keep_right].unique()))
        in_left = left.isin(shared) & keep_left
        in_right = right.isin(shared) & keep_right
        counts[f"{a}_{b}_shared_values"] = len(shared)
        counts[f"{a}_{b}_{a}_rows"] = int(in_left.sum())
        counts[f"{a}_{b}_{b}_rows"] = int(in_right.sum())
        first_left = pd.Series(np.flatnonzero(in_left.to_numpy()), index=left[in_left].to_numpy())
        first_left = first_left[~first_left.index.duplicated()]
        for j in np.flatnonzero(in_right.to_numpy()):
            if len(examples) >= MAX_EXAMPLES:
                break
            examples.append(_pair(splits, a, int(first_left[right.iloc[j]]), b, int(j), shared=str(right.iloc[j])))
    return counts, examples


def _summary(counts: dict[str, int]) -> tuple[int, str]:
    total = sum(v for k, v in counts.items() if k.endswith("_shared_values"))
    per_pair = ", ".join(
        f"{k.removesuffix('_shared_values').replace('_', '/', 1)}: {v}"
        for k, v in counts.items()
        if k.endswith("_shared_values") and v
    )
    return total, per_pair


def exact_overlap(splits: Frames) -> CheckOutcome:
    """The same normalised text (content_hash) in two splits."""
    _require(splits, CONTENT_HASH, EXAMPLE_ID, INPUT, SOURCE_FILE, SOURCE_LINE)
    counts, examples = _shared_values(splits, CONTENT_HASH)
    total, per_pair = _summary(counts)
    counts["shared_texts"] = total
    return CheckOutcome(
        passed=total == 0,
        severity="error",
        description=(
            "no normalised text appears in two splits"
            if total == 0
            else f"{total} normalised texts appear in two splits ({per_pair})"
        ),
        counts=counts,
        examples=examples,
    )


def id_overlap(splits: Frames) -> CheckOutcome:
    """The same source example_id in two splits (ids derived from the text are exact_overlap's job)."""
    _require(splits, EXAMPLE_ID, INPUT, SOURCE_FILE, SOURCE_LINE)
    counts, examples = _shared_values(
        splits, EXAMPLE_ID, skip=lambda ids: ids.astype(str).str.startswith(DERIVED_ID_PREFIX)
    )
    total, per_pair = _summary(counts)
    derived = sum(int(f[EXAMPLE_ID].astype(str).str.startswith(DERIVED_ID_PREFIX).sum()) for f in splits.values())
    counts["shared_ids"] = total
    counts["derived_ids_not_compared"] = derived
    note = f" ({derived} ids derived from the text were left to exact_overlap)" if derived else ""
    return CheckOutcome(
        passed=total == 0,
        severity="error",
        description=(
            f"no example id appears in two splits{note}"
            if total == 0
            else f"{total} example ids appear in two splits ({per_pair}){note}"
        ),
        counts=counts,
        examples=examples,
    )


def group_overlap(splits: Frames) -> CheckOutcome:
    """The same group (customer, session...) in two splits."""
    _require(splits, GROUP_ID, EXAMPLE_ID, INPUT, SOURCE_FILE, SOURCE_LINE)
    with_group = sum(int(f[GROUP_ID].notna().sum()) for f in splits.values())
    if with_group == 0:
        return CheckOutcome(True, "error", "not applicable: no row has a group id (logs.columns.group unset)",
                            {"rows_with_group": 0})
    counts, examples = _shared_values(splits, GROUP_ID)
    total, per_pair = _summary(counts)
    counts["shared_groups"] = total
    counts["rows_with_group"] = with_group
    return CheckOutcome(
        passed=total == 0,
        severity="error",
        description=(
            "no group id appears in two splits" if total == 0 else f"{total} group ids appear in two splits ({per_pair})"
        ),
        counts=counts,
        examples=examples,
    )


def near_duplicate_overlap(splits: Frames, cfg: NearDuplicateConfig, progress=None) -> CheckOutcome:
    """Texts in two splits whose word-shingle Jaccard similarity reaches ``cfg.threshold`` (MinHash/LSH)."""
    from slm_assets.core.golden.near_duplicates import NearDuplicateIndex

    _require(splits, INPUT, EXAMPLE_ID, SOURCE_FILE, SOURCE_LINE)
    names = list(splits)
    texts = pd.concat([splits[s][INPUT] for s in names], ignore_index=True)
    side = np.repeat(np.arange(len(names)), [len(splits[s]) for s in names])
    index = NearDuplicateIndex(texts, cfg, progress)
    counts: dict[str, int | float] = {"threshold": cfg.threshold}
    examples: list[dict[str, Any]] = []
    total = 0
    summary = []
    for a, b in _pairs(splits):
        found = index.cross(side, names.index(a), names.index(b), limit=MAX_EXAMPLES)
        total += found.total_pairs
        counts[f"{a}_{b}_pairs"] = found.total_pairs
        counts[f"{a}_{b}_exact_pairs"] = found.exact_pairs
        counts[f"{a}_{b}_{a}_rows"] = found.a_rows
        counts[f"{a}_{b}_{b}_rows"] = found.b_rows
        if found.total_pairs:
            summary.append(f"{a}/{b}: {found.total_pairs} pairs ({found.exact_pairs} identical), {found.b_rows} {b} rows")
        for p in found.pairs[: MAX_EXAMPLES - len(examples)]:
            examples.append(_pair(splits, a, p.left_index, b, p.right_index, jaccard=p.jaccard))
    counts["pairs"] = total
    return CheckOutcome(
        passed=total == 0,
        severity="error",
        description=(
            f"no near-duplicate (Jaccard >= {cfg.threshold}) across splits"
            if total == 0
            else f"near-duplicates (word-shingle Jaccard >= {cfg.threshold}) across splits: " + "; ".join(summary)
        ),
        counts=counts,
        examples=examples,
    )


def temporal_order(splits: Frames, embargo_days: float, strategy: str | None = None) -> CheckOutcome:
    """Each later split starts at least ``embargo_days`` after the previous one ends.

    Not applicable (passes, with a note) when no row has a timestamp. Under the
    ``stratified`` strategy splits are not meant to be ordered in time, so a
    violation is a warning there, and an error for every other strategy.
    """
    _require(splits, TIMESTAMP, EXAMPLE_ID, INPUT, SOURCE_FILE, SOURCE_LINE)
    severity: Literal["error", "warn"] = "warn" if strategy == "stratified" else "error"
    stamped = {s: f for s, f in splits.items() if f[TIMESTAMP].notna().any()}
    untimed = sum(int(f[TIMESTAMP].isna().sum()) for f in splits.values())
    counts: dict[str, int | float] = {"embargo_days": embargo_days, "rows_without_timestamp": untimed}
    if not stamped:
        return CheckOutcome(True, severity, "not applicable: no row has a timestamp", counts)
    embargo = pd.Timedelta(days=embargo_days)
    order = [s for s in SPLITS if s in stamped]
    examples: list[dict[str, Any]] = []
    problems = []
    for a, b in combinations(order, 2):  # train->test too: a skipped validation must not hide it
        earlier, later = stamped[a][TIMESTAMP], stamped[b][TIMESTAMP]
        last = earlier.max()
        bad = later.notna() & (later < last + embargo)
        gap_days = (later.min() - last) / pd.Timedelta(days=1)
        counts[f"{a}_{b}_gap_days"] = round(float(gap_days), 3)
        counts[f"{a}_{b}_{b}_rows_too_early"] = int(bad.sum())
        if bad.any():
            problems.append(
                f"{int(bad.sum())} {b} rows are earlier than the last {a} row ({last.isoformat()}) + {embargo_days:g} days"
            )
            i = int(earlier.reset_index(drop=True).idxmax())  # skips missing timestamps
            for j in np.flatnonzero(bad.to_numpy())[: MAX_EXAMPLES - len(examples)]:
                examples.append(
                    _pair(stamped, a, i, b, int(j), left_timestamp=str(earlier.iloc[i]), right_timestamp=str(later.iloc[j]))
                )
    for split in SPLITS:
        if split in stamped:
            counts[f"{split}_first"] = stamped[split][TIMESTAMP].min().timestamp()
            counts[f"{split}_last"] = stamped[split][TIMESTAMP].max().timestamp()
    note = f" ({untimed} rows without timestamp not compared)" if untimed else ""
    return CheckOutcome(
        passed=not problems,
        severity=severity,
        description=(f"splits follow each other in time with a {embargo_days:g}-day embargo" if not problems
                     else "; ".join(problems)) + note,
        counts=counts,
        examples=examples,
    )


def stratum_coverage(splits: Frames) -> CheckOutcome:
    """Every stratum evaluated (validation, test) has training rows."""
    _require(splits, STRATUM)
    seen = set(splits["train"][STRATUM].dropna().unique()) if "train" in splits else set()
    counts: dict[str, int | float] = {"train_strata": len(seen)}
    examples: list[dict[str, Any]] = []
    missing_total = 0
    for split in ("validation", "test"):
        if split not in splits:
            continue
        sizes = splits[split][STRATUM].value_counts()
        missing = sizes[~sizes.index.isin(seen)]
        counts[f"{split}_strata"] = len(sizes)
        counts[f"{split}_strata_missing_from_train"] = len(missing)
        counts[f"{split}_rows_in_missing_strata"] = int(missing.sum())
        missing_total += len(missing)
        examples += [{"split": split, "stratum": str(k), "rows": int(v)} for k, v in missing.head(MAX_EXAMPLES).items()]
    return CheckOutcome(
        passed=missing_total == 0,
        severity="error",
        description=(
            "every validation and test stratum has training rows"
            if missing_total == 0
            else f"{missing_total} evaluated strata have no training rows: "
            + ", ".join(f"{e['split']}:{e['stratum']}" for e in examples)
        ),
        counts=counts,
        examples=examples[:MAX_EXAMPLES],
    )


def _distribution(labels: pd.Series) -> pd.Series:
    counts = labels.dropna().astype(str).value_counts()
    return counts / counts.sum() if counts.sum() else counts.astype(float)


def label_shift(splits: Frames, tolerance: float) -> CheckOutcome:
    """Total-variation distance between the train and test label distributions (a warning)."""
    _require(splits, REFERENCE)
    train = _distribution(splits["train"][REFERENCE])
    counts: dict[str, int | float] = {"tolerance": tolerance}
    worst = 0.0
    examples: list[dict[str, Any]] = []
    for split in ("validation", "test"):
        if split not in splits or splits[split][REFERENCE].notna().sum() == 0:
            continue
        other = _distribution(splits[split][REFERENCE])
        both = train.reindex(train.index.union(other.index), fill_value=0.0)
        diff = other.reindex(both.index, fill_value=0.0) - both
        tvd = float(diff.abs().sum() / 2)
        counts[f"train_{split}_tvd"] = round(tvd, 4)
        if split == "test":
            worst = tvd
            for label in diff.abs().sort_values(ascending=False).index[:MAX_EXAMPLES]:
                examples.append(
                    {"label": str(label), "train_share": round(float(both[label]), 4),
                     "test_share": round(float(other.get(label, 0.0)), 4)}
                )
    passed = worst <= tolerance
    return CheckOutcome(
        passed=passed,
        severity="warn",
        description=(
            f"train/test label distributions differ by total variation {worst:.3f} "
            f"({'within' if passed else 'above'} the tolerance {tolerance:g})"
        ),
        counts=counts,
        examples=[] if passed else examples,
    )


def golden_unchanged(settings: Settings, version: str | None = None) -> CheckOutcome:
    """The frozen files still hash to what the manifest recorded."""
    from slm_assets.core.golden.store import verify_golden

    try:
        problems = verify_golden(settings, version)
    except (OSError, pa.ArrowException) as exc:  # a file too damaged to read is a changed file
        problems = [f"golden set unreadable: {exc}"]
    name = version or settings.golden.version
    return CheckOutcome(
        passed=not problems,
        severity="error",
        description=(
            f"golden set {name} matches its manifest" if not problems
            else f"golden set {name} differs from its manifest: " + "; ".join(problems)
        ),
        counts={"problems": len(problems)},
        examples=[{"problem": p} for p in problems[:MAX_EXAMPLES]],
    )


def run_leakage_checks(splits: Frames, settings: Settings, progress=None) -> dict[str, CheckOutcome]:
    """Every split-level check, keyed by the asset check name that reports it."""
    golden = settings.golden
    return {
        "no_exact_overlap": exact_overlap(splits),
        "no_near_duplicate_overlap": near_duplicate_overlap(splits, golden.near_duplicate, progress),
        "no_id_overlap": id_overlap(splits),
        "no_group_overlap": group_overlap(splits),
        "temporal_order_respected": temporal_order(splits, golden.embargo_days, golden.strategy),
        "strata_covered": stratum_coverage(splits),
        "label_distribution_stable": label_shift(splits, golden.label_shift_tolerance),
    }
