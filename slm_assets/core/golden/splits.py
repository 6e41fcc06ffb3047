"""Golden splits from labelled production logs: which row goes to train, validation or test.

Two kinds of unit keep leaks out:
- a *text unit*: rows linked by near-duplicate clusters or identical normalised
  text (connected components of those links);
- an *assignment unit*: the rows of one configured group (customer, session...),
  or for rows without a group, their text unit. Units are placed whole.
Groups are not merged through shared texts: with real logs that chains most rows
into one giant unit. Instead, copies of a text unit that still land in two splits
(members of different groups) are kept in one split and dropped from the others
(``cross_split_duplicate``): under temporal strategies the latest split keeps
them, otherwise the split holding most of them (ties: test, then validation).
Under ``predefined`` the sources decide and the leakage checks report what
straddles; only a carved validation split is kept apart from train.

Every row not placed in a split is counted in ``dropped`` under a reason:
``unlabelled`` (no reference), ``embargo`` (inside the gap after a temporal
boundary), ``cross_window`` (an earlier member of a unit assigned to a later
window), ``cross_split_duplicate`` (above), ``sampled_out``
(``temporal+stratified`` sampling down to ``max_rows``).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from slm_assets.config import Settings
from slm_assets.core.schema import (
    CONTENT_HASH,
    EXAMPLE_ID,
    GROUP_ID,
    INPUT,
    REFERENCE,
    SOURCE_FILE,
    SOURCE_LINE,
    SPLIT,
    SPLITS,
    STRATUM,
    TIMESTAMP,
)

_GIANT_UNIT_MIN_ROWS = 20
DROP_REASONS = ("unlabelled", "embargo", "cross_window", "cross_split_duplicate", "sampled_out")
# Tie order when rounding leaves one unit to place: test first, so that small strata reach the test set.
_TIE_ORDER = {"test": 0, "train": 1, "validation": 2}
_RANK = {"train": 0, "validation": 1, "test": 2}


class SplitError(ValueError):
    """The logs cannot be split as configured; the message says why and where."""


@dataclass(frozen=True)
class Units:
    text: np.ndarray
    """Text unit per row (near-duplicate cluster joined with identical text)."""
    assign: np.ndarray
    """Assignment unit per row (the group, else the text unit)."""


def text_units(frame: pd.DataFrame, clusters: np.ndarray) -> np.ndarray:
    """Connected components of near-duplicate cluster and identical-content links."""
    n = len(frame)
    rows = np.arange(n)
    src, dst = [], []
    for key in (np.asarray(clusters), frame[CONTENT_HASH].to_numpy()):
        src.append(rows)
        dst.append(pd.Series(rows).groupby(key, sort=False).transform("first").to_numpy())
    graph = coo_matrix((np.ones(2 * n, dtype=np.int8), (np.concatenate(src), np.concatenate(dst))), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def assign_units(frame: pd.DataFrame, clusters: np.ndarray) -> Units:
    texts = text_units(frame, clusters)
    groups = frame[GROUP_ID]
    if groups.isna().all():
        return Units(text=texts, assign=texts)
    keys = groups.astype("string").fillna("\0text:" + pd.Series(texts, index=groups.index).astype("string"))
    return Units(text=texts, assign=pd.factorize(keys.to_numpy())[0].astype(np.int64))


def _resolve_straddling_texts(
    labels: np.ndarray, texts: np.ndarray, latest: bool, among: tuple[str, ...] = SPLITS
) -> np.ndarray:
    """Keep each text unit in one split; its copies elsewhere become ``cross_split_duplicate``."""
    placed = np.flatnonzero(np.isin(labels, among))
    if len(placed) == 0:
        return labels
    table = pd.DataFrame({"text": texts[placed], "rank": pd.Series(labels[placed]).map(_RANK).to_numpy()})
    if latest:
        keep = table.groupby("text")["rank"].transform("max")
    else:
        counts = table.groupby(["text", "rank"]).size().rename("n").reset_index()
        best = counts.sort_values(["text", "n", "rank"], ascending=[True, False, False]).drop_duplicates("text")
        keep = table["text"].map(best.set_index("text")["rank"])
    labels = labels.copy()
    labels[placed[table["rank"].to_numpy() != keep.to_numpy()]] = "cross_split_duplicate"
    return labels


def _allocate(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Split ``n`` items by fractions with largest-remainder rounding (sums to ``n``)."""
    exact = {s: n * f for s, f in fractions.items()}
    counts = {s: int(np.floor(v)) for s, v in exact.items()}
    left = n - sum(counts.values())
    order = sorted(exact, key=lambda s: (-(exact[s] - counts[s]), _TIE_ORDER[s]))
    for s in order[:left]:
        counts[s] += 1
    return counts


def _stratified_units(units: pd.DataFrame, fractions: dict[str, float], seed: int) -> dict[int, str]:
    """Assign each unit a split, stratum by stratum, seeded.

    ``units`` has columns ``unit``, ``key`` (stratum + label), ``order`` (a stable
    sort key). Inside each key, units are shuffled and cut by largest-remainder
    counts, so a key with fewer units than splits still lands deterministically
    (test first, then train) instead of failing as sklearn's stratify would.
    """
    rng = np.random.default_rng(seed)
    assignment: dict[int, str] = {}
    for _, block in units.sort_values(["key", "order"]).groupby("key", sort=True):
        ids = block["unit"].to_numpy()[rng.permutation(len(block))]
        counts = _allocate(len(ids), fractions)
        start = 0
        for split in SPLITS:
            for unit in ids[start : start + counts.get(split, 0)]:
                assignment[int(unit)] = split
            start += counts.get(split, 0)
    return assignment


def _unit_table(frame: pd.DataFrame, units: np.ndarray) -> pd.DataFrame:
    """One row per unit: its stratification key (first member's stratum and label) and a stable order."""
    first = pd.DataFrame(
        {
            "unit": units,
            "key": (frame[STRATUM].astype(str) + "\x1f" + frame[REFERENCE].astype(str)).to_numpy(),
            "order": (frame[CONTENT_HASH].astype(str) + "\x1f" + frame[EXAMPLE_ID].astype(str)).to_numpy(),
        }
    ).sort_values("order")
    return first.drop_duplicates("unit", keep="first").reset_index(drop=True)


def _stratified(frame: pd.DataFrame, units: Units, settings: Settings) -> np.ndarray:
    table = _unit_table(frame, units.assign)
    assignment = _stratified_units(table, settings.golden.fractions, settings.golden.seed)
    labels = np.array([assignment[int(u)] for u in units.assign], dtype=object)
    return _resolve_straddling_texts(labels, units.text, latest=False)


def _require_timestamps(frame: pd.DataFrame) -> None:
    missing = frame[TIMESTAMP].isna()
    if missing.any():
        first = frame[missing].iloc[0]
        raise SplitError(
            f"golden.strategy needs a timestamp on every labelled row, but {int(missing.sum())} of "
            f"{len(frame)} have none (first: {first[SOURCE_FILE]}:{first[SOURCE_LINE]}); map "
            f"logs.columns.timestamp, or use strategy 'stratified' or 'predefined'"
        )


def _temporal(frame: pd.DataFrame, units: Units, settings: Settings) -> np.ndarray:
    """Row label: a split name, ``embargo``, ``cross_window`` or ``cross_split_duplicate``.

    Boundaries sit at the row-count quantiles of the timestamps; rows in the
    ``embargo_days`` after each boundary are dropped. A unit goes to the window of
    its latest member; members in earlier windows are dropped (``cross_window``),
    so every train row is older than every validation row, and so on.
    """
    _require_timestamps(frame)
    golden = settings.golden
    ts = frame[TIMESTAMP].to_numpy(dtype="datetime64[us]").astype(np.int64)
    ordered = np.sort(ts)
    n = len(ts)
    embargo = int(round(golden.embargo_days * 86_400 * 1_000_000))
    cut_train = golden.fractions.get("train", 0.0)
    cut_val = cut_train + golden.fractions.get("validation", 0.0)

    def boundary(fraction: float) -> int:
        k = int(np.ceil(n * fraction - 1e-9))
        return ordered[k - 1] if k > 0 else np.iinfo(np.int64).min + embargo + 1

    b1, b2 = boundary(cut_train), boundary(cut_val)
    # Window position per row: 0 train, 1 gap, 2 validation, 3 gap, 4 test.
    pos = np.select(
        [ts <= b1, ts <= b1 + embargo, ts <= b2, ts <= b2 + embargo],
        [0, 1, 2, 3],
        default=4,
    )
    unit_pos = pd.Series(pos).groupby(units.assign).transform("max").to_numpy()
    names = np.array(["train", "embargo", "validation", "embargo", "test"], dtype=object)
    labels = names[unit_pos]
    labels[pos == 1] = labels[pos == 3] = "embargo"
    labels[(pos < unit_pos) & (pos != 1) & (pos != 3)] = "cross_window"
    return _resolve_straddling_texts(labels, units.text, latest=True)


def _sample_window(
    frame: pd.DataFrame, units: np.ndarray, target: int | None, min_per_stratum: int, seed: int
) -> np.ndarray:
    """Which rows of one window to keep: stratified by ``stratum``, down to ``target`` rows.

    Every stratum keeps ``min_per_stratum`` rows where it has them (whole units, so
    possibly a little more); the rest of the target is shared in proportion to the
    strata's sizes. Without a target, or when the window is small enough, all stay.
    """
    n = len(frame)
    if target is None or n <= target:
        return np.ones(n, dtype=bool)
    sizes = frame.groupby(STRATUM, sort=True).size()
    base = np.minimum(sizes.to_numpy(), min_per_stratum)
    spare = sizes.to_numpy() - base
    budget = max(target - int(base.sum()), 0)
    extra = np.floor(spare * budget / max(int(spare.sum()), 1)).astype(int)
    left = budget - int(extra.sum())
    remainders = spare * budget / max(int(spare.sum()), 1) - extra
    for i in np.argsort(-remainders, kind="stable")[:left]:
        extra[i] += 1
    quota = dict(zip(sizes.index, base + np.minimum(extra, spare), strict=True))

    rng = np.random.default_rng(seed)
    table = _unit_table(frame, units)
    unit_size = pd.Series(units).value_counts()
    unit_stratum = pd.Series(frame[STRATUM].to_numpy(), index=units).groupby(level=0).first()
    keep_units: set[int] = set()
    for stratum, block in table.groupby(unit_stratum.reindex(table["unit"]).to_numpy(), sort=True):
        taken = 0
        for unit in block["unit"].to_numpy()[rng.permutation(len(block))]:
            if taken >= quota[stratum]:
                break
            size = int(unit_size[unit])
            if taken and taken + size > quota[stratum]:
                continue  # a big unit (a busy customer) would overshoot: try a smaller one
            keep_units.add(int(unit))
            taken += size
    return np.isin(units, list(keep_units))


def _temporal_stratified(frame: pd.DataFrame, units: Units, settings: Settings) -> np.ndarray:
    labels = _temporal(frame, units, settings)
    golden = settings.golden
    for i, split in enumerate(SPLITS):
        inside = np.flatnonzero(labels == split)
        target = (golden.max_rows or {}).get(split)
        keep = _sample_window(
            frame.iloc[inside], units.assign[inside], target, golden.min_per_stratum, golden.seed + i
        )
        labels[inside[~keep]] = "sampled_out"
    return labels


def _predefined(frame: pd.DataFrame, units: Units, settings: Settings) -> np.ndarray:
    split = frame[SPLIT]
    if split.isna().any():
        first = frame[split.isna()].iloc[0]
        raise SplitError(
            f"golden.strategy 'predefined' needs a split on every labelled row, but {int(split.isna().sum())} "
            f"of {len(frame)} have none (first: {first[SOURCE_FILE]}:{first[SOURCE_LINE]}); set `split:` on "
            f"every logs source or map logs.columns.split"
        )
    unknown = sorted(set(split.unique()) - set(SPLITS))
    if unknown:
        raise SplitError(f"predefined split values must be one of {list(SPLITS)}, found {unknown}")
    labels = split.to_numpy(dtype=object).copy()
    fraction = settings.golden.predefined_validation_fraction
    if fraction > 0:
        if (labels == "validation").any():
            raise SplitError(
                "golden.predefined_validation_fraction is set but the sources already carry validation "
                "rows; set it to 0 to keep the predefined validation split"
            )
        train = np.flatnonzero(labels == "train")
        table = _unit_table(frame.iloc[train], units.assign[train])
        carve = _stratified_units(table, {"train": 1 - fraction, "validation": fraction}, settings.golden.seed)
        labels[train] = [carve[int(u)] for u in units.assign[train]]
        labels = _resolve_straddling_texts(labels, units.text, latest=False, among=("train", "validation"))
    return labels


def _refuse_giant_unit(frame: pd.DataFrame, units: np.ndarray, links: str) -> None:
    """A group column that groups nothing, or a near-duplicate threshold that links
    everything, would put most rows in one split (or drop them): refuse instead."""
    if len(units) < _GIANT_UNIT_MIN_ROWS:
        return
    sizes = np.bincount(units)
    biggest = int(sizes.argmax())
    if sizes[biggest] > len(units) / 2:
        sample = frame[units == biggest].iloc[0]
        raise SplitError(
            f"{int(sizes[biggest])} of {len(units)} labelled rows are one unit ({links}; e.g. "
            f"{sample[SOURCE_FILE]}:{sample[SOURCE_LINE]}), so no split could be made; check "
            f"logs.columns.group and golden.near_duplicate.threshold"
        )


_STRATEGIES = {
    "stratified": _stratified,
    "temporal": _temporal,
    "temporal+stratified": _temporal_stratified,
    "predefined": _predefined,
}


def near_duplicate_clusters(frame: pd.DataFrame, settings: Settings, progress=None) -> np.ndarray:
    from slm_assets.core.golden.near_duplicates import cluster_near_duplicates

    return np.asarray(cluster_near_duplicates(frame[INPUT], settings.golden.near_duplicate, progress))


def build_splits(
    frame: pd.DataFrame, settings: Settings, clusters: np.ndarray | None = None, progress=None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Split the labelled rows of ``frame`` (canonical log rows) by ``settings.golden``.

    ``clusters``: a near-duplicate cluster id per row of ``frame`` (computed with
    ``core.near_duplicates`` when omitted; ``progress(done, total)`` follows that
    step). Returns the three splits (rows in input
    order, all columns kept) and the dropped-row counts per reason. Deterministic
    for a given input and ``golden.seed``.
    """
    labelled_mask = frame[REFERENCE].notna().to_numpy()
    labelled = frame[labelled_mask].reset_index(drop=True)
    dropped = dict.fromkeys(DROP_REASONS, 0)
    dropped["unlabelled"] = int((~labelled_mask).sum())
    if labelled.empty:
        raise SplitError(f"no labelled rows to split: all {len(frame)} rows lack a reference")
    golden = settings.golden
    if clusters is None and golden.strategy == "predefined" and golden.predefined_validation_fraction == 0:
        clusters = np.arange(len(labelled))  # the sources fix every split: no unit to keep whole
    elif clusters is None:
        clusters = near_duplicate_clusters(labelled, settings, progress)
    else:
        clusters = np.asarray(clusters)
        if len(clusters) != len(frame):
            raise SplitError(f"clusters has {len(clusters)} entries for {len(frame)} rows")
        clusters = clusters[labelled_mask]
    units = assign_units(labelled, clusters)
    _refuse_giant_unit(labelled, units.text, "near-duplicate or identical texts")
    _refuse_giant_unit(labelled, units.assign, "one group id")
    labels = _STRATEGIES[golden.strategy](labelled, units, settings)
    for reason in DROP_REASONS[1:]:
        dropped[reason] = int((labels == reason).sum())
    splits = {split: labelled[labels == split].reset_index(drop=True) for split in SPLITS}
    return splits, dropped
