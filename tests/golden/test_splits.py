"""Every split strategy, unit integrity (clusters, duplicates, groups), embargo and errors."""

import numpy as np
import pandas as pd
import pytest

from golden_frames import day, log_frame, synthetic_logs
from slm_assets.core.golden.splits import SplitError, assign_units, build_splits


def _no_clusters(frame):
    return np.arange(len(frame))


def _split_of(splits):
    return {eid: name for name, part in splits.items() for eid in part["example_id"]}


def _assert_units_whole(splits, frame, key):
    where = _split_of(splits)
    placed = frame[frame["example_id"].isin(where)]
    per_key = placed.groupby(key)["example_id"].agg(lambda ids: {where[i] for i in ids})
    assert (per_key.map(len) == 1).all(), per_key[per_key.map(len) > 1]


def test_units_join_texts_and_keep_groups_apart():
    frame = log_frame(
        [
            {"input": "a"},
            {"input": "a"},  # same content as 0
            {"input": "b", "group_id": "g1"},
            {"input": "c", "group_id": "g1"},  # same group as 2
            {"input": "d"},
            {"input": "e"},
            {"input": "b", "group_id": "g2"},  # same text as 2, another group
        ]
    )
    units = assign_units(frame, np.array([0, 1, 2, 3, 4, 4, 6]))  # 4 and 5 near-duplicates
    assert units.text[0] == units.text[1] and units.text[4] == units.text[5] and units.text[2] == units.text[6]
    assert units.assign[2] == units.assign[3] != units.assign[6]  # groups are not chained through texts
    assert units.assign[0] == units.assign[1] and units.assign[4] == units.assign[5]
    assert len(set(units.assign)) == 4


def test_texts_shared_by_groups_stay_in_one_split(make_settings):
    # Every customer sends one common text plus their own: chaining them would make one giant unit.
    rows = []
    for c in range(60):
        rows += [{"input": "please refund my order", "group_id": f"c{c}", "reference": "refund"},
                 {"input": f"customer {c} own question about plan {c}", "group_id": f"c{c}",
                  "reference": ("a", "b")[c % 2]}]
    frame = log_frame(rows)
    for strategy in ("stratified", "temporal"):
        if strategy == "temporal":
            frame["timestamp"] = pd.to_datetime([day(i) for i in range(len(frame))], utc=True).astype("datetime64[us, UTC]")
        splits, dropped = build_splits(frame, make_settings(golden={"strategy": strategy, "embargo_days": 0}),
                                       clusters=_no_clusters(frame))
        _assert_units_whole(splits, frame, "group_id")
        _assert_units_whole(splits, frame, "content_hash")
        assert dropped["cross_split_duplicate"] > 0
        assert sum(len(s) for s in splits.values()) + sum(dropped.values()) == len(frame)
        kept = next(name for name, part in splits.items() if "please refund my order" in set(part["input"]))
        if strategy == "temporal":
            assert kept == "test"  # the latest copies are kept
        else:
            assert kept == "train"  # where most copies went


def test_stratified_fractions_strata_and_determinism(make_settings):
    settings = make_settings(golden={"strategy": "stratified", "seed": 3})
    frame = synthetic_logs(600)
    splits, dropped = build_splits(frame, settings, clusters=_no_clusters(frame))
    sizes = {k: len(v) for k, v in splits.items()}
    assert sum(sizes.values()) == 600 and dropped["unlabelled"] == 0
    assert sizes == {"train": 420, "validation": 60, "test": 120}
    for part in splits.values():  # each (stratum, label) keeps its share
        shares = part.groupby(["stratum", "reference"]).size() / len(part)
        assert np.allclose(shares, 1 / 6, atol=0.01)
    again, _ = build_splits(frame.sample(frac=1, random_state=1), settings, clusters=_no_clusters(frame))
    assert set(again["test"]["example_id"]) == set(splits["test"]["example_id"])
    other, _ = build_splits(frame, make_settings(golden={"strategy": "stratified", "seed": 4}),
                            clusters=_no_clusters(frame))
    assert set(other["test"]["example_id"]) != set(splits["test"]["example_id"])


def test_stratified_places_tiny_strata_explicitly(make_settings):
    settings = make_settings(golden={"strategy": "stratified"})
    frame = log_frame([{"input": f"t{i}", "reference": f"label{i}"} for i in range(5)])  # one row per label
    splits, _ = build_splits(frame, settings, clusters=_no_clusters(frame))
    assert sum(len(s) for s in splits.values()) == 5
    # A single-unit stratum goes to train (its largest share), never lost.
    assert len(splits["train"]) == 5


def test_unlabelled_rows_are_excluded_and_counted(make_settings):
    settings = make_settings(golden={"strategy": "stratified"})
    frame = synthetic_logs(100)
    frame.loc[frame.index[:10], "reference"] = None
    splits, dropped = build_splits(frame, settings, clusters=_no_clusters(frame))
    assert dropped["unlabelled"] == 10
    assert sum(len(s) for s in splits.values()) == 90


def test_clusters_duplicates_and_groups_never_straddle(make_settings):
    frame = synthetic_logs(400)
    frame["group_id"] = [f"customer-{i % 37}" if i % 3 == 0 else None for i in range(400)]
    frame.loc[frame.index[200:220], ["input", "content_hash"]] = frame.loc[frame.index[0:20], ["input", "content_hash"]].to_numpy()
    clusters = np.arange(400) // 4  # near-duplicate blocks of four
    for strategy in ("stratified", "temporal", "temporal+stratified"):
        settings = make_settings(golden={"strategy": strategy, "embargo_days": 2, "max_rows": {"train": 150, "validation": 20, "test": 40}})
        splits, _ = build_splits(frame, settings, clusters=clusters)
        frame["cluster"] = clusters
        for key in ("cluster", "content_hash"):
            _assert_units_whole(splits, frame, key)
        _assert_units_whole(splits, frame[frame["group_id"].notna()], "group_id")


def test_temporal_order_embargo_and_counts(make_settings):
    settings = make_settings(golden={"strategy": "temporal", "embargo_days": 5})
    frame = synthetic_logs(100)  # one row a day
    splits, dropped = build_splits(frame, settings, clusters=_no_clusters(frame))
    train, val, test = (splits[s]["timestamp"] for s in ("train", "validation", "test"))
    assert train.max() == day(69)  # the 70 % boundary
    assert val.min() > train.max() + pd.Timedelta(days=5)
    assert test.min() > val.max() + pd.Timedelta(days=5)
    assert dropped["embargo"] == 10  # five days after each of the two boundaries
    assert (len(train), len(val), len(test)) == (70, 5, 15)
    assert sum(len(s) for s in splits.values()) + sum(dropped.values()) == 100


def test_temporal_unit_goes_to_its_latest_window(make_settings):
    settings = make_settings(golden={"strategy": "temporal", "embargo_days": 0})
    frame = synthetic_logs(100)
    clusters = np.arange(100)
    clusters[95] = 10  # row 10 (train period) is a near-duplicate of row 95 (test period)
    splits, dropped = build_splits(frame, settings, clusters=clusters)
    where = _split_of(splits)
    assert where["ex-95"] == "test" and "ex-10" not in where
    assert dropped["cross_window"] == 1
    assert splits["train"]["timestamp"].max() < splits["test"]["timestamp"].min()


def test_temporal_without_timestamps_names_count_and_first_row(make_settings):
    frame = synthetic_logs(50)
    frame.loc[frame.index[[7, 20]], "timestamp"] = pd.NaT
    for strategy in ("temporal", "temporal+stratified"):
        settings = make_settings(golden={"strategy": strategy})
        with pytest.raises(SplitError, match=r"2 of 50 have none \(first: logs\.jsonl:8\)"):
            build_splits(frame, settings, clusters=_no_clusters(frame))


def test_temporal_stratified_samples_to_targets_with_stratum_minimum(make_settings):
    frame = synthetic_logs(1000, strata=("x", "y", "z"))
    # A rare stratum: ten rows spread over time.
    rare = frame.index[::100]
    frame.loc[rare, "stratum"] = "product=rare"
    settings = make_settings(
        golden={
            "strategy": "temporal+stratified",
            "embargo_days": 1,
            "max_rows": {"train": 100, "validation": 30, "test": 50},
            "min_per_stratum": 2,
        }
    )
    splits, dropped = build_splits(frame, settings, clusters=_no_clusters(frame))
    assert len(splits["train"]) == 100 and len(splits["test"]) == 50 and len(splits["validation"]) == 30
    assert (splits["train"]["stratum"] == "product=rare").sum() >= 2
    assert (splits["test"]["stratum"] == "product=rare").sum() == 1  # day 900: all the test window has
    assert splits["train"]["timestamp"].max() < splits["validation"]["timestamp"].min()
    assert sum(len(s) for s in splits.values()) + sum(dropped.values()) == 1000
    assert dropped["sampled_out"] > 0
    again, _ = build_splits(frame, settings, clusters=_no_clusters(frame))
    assert again["train"]["example_id"].tolist() == splits["train"]["example_id"].tolist()


def test_predefined_uses_split_column_and_keeps_straddling_duplicates(make_settings):
    settings = make_settings(golden={"strategy": "predefined"})
    frame = synthetic_logs(40, with_time=False)
    frame["split"] = ["train"] * 30 + ["test"] * 10
    frame.loc[frame.index[35], ["input", "content_hash"]] = frame.loc[frame.index[0], ["input", "content_hash"]].to_numpy()
    splits, _ = build_splits(frame, settings, clusters=_no_clusters(frame))
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (30, 0, 10)
    # The published splits share a text: kept as published, for the leakage checks to report.
    assert set(splits["train"]["content_hash"]) & set(splits["test"]["content_hash"])


def test_predefined_carves_validation_from_train_by_units(make_settings):
    settings = make_settings(golden={"strategy": "predefined", "predefined_validation_fraction": 0.2})
    frame = synthetic_logs(120, with_time=False)
    frame["split"] = ["train"] * 100 + ["test"] * 20
    clusters = np.arange(120) // 2
    splits, _ = build_splits(frame, settings, clusters=clusters)
    assert len(splits["test"]) == 20
    assert 15 <= len(splits["validation"]) <= 25 and len(splits["train"]) + len(splits["validation"]) == 100
    frame["cluster"] = clusters
    _assert_units_whole({k: splits[k] for k in ("train", "validation")}, frame.iloc[:100], "cluster")


def test_predefined_with_null_split_is_an_error(make_settings):
    settings = make_settings(golden={"strategy": "predefined"})
    frame = synthetic_logs(20)
    frame["split"] = ["train"] * 15 + [None] * 5
    with pytest.raises(SplitError, match=r"5 of 20 have none \(first: logs\.jsonl:16\)"):
        build_splits(frame, settings, clusters=_no_clusters(frame))


def test_near_duplicates_found_by_default_never_straddle(make_settings):
    settings = make_settings(golden={"strategy": "stratified", "near_duplicate": {"threshold": 0.7}})
    base = "my card payment was charged twice for the same order yesterday please refund number {}"
    rows = [{"input": f"unrelated request {i} " + " ".join(f"w{i * 13 + j}" for j in range(12))} for i in range(80)]
    # Ten families of five near-identical texts (one word edited).
    rows += [{"input": base.format(f) + (" thanks" if v else "") + f" v{v}"} for f in range(10) for v in range(5)]
    frame = log_frame(rows)
    frame["family"] = [f"solo{i}" for i in range(80)] + [f"fam{f}" for f in range(10) for _ in range(5)]
    splits, _ = build_splits(frame, settings)
    _assert_units_whole(splits, frame, "family")


def test_links_merging_most_rows_into_one_unit_are_refused(make_settings):
    settings = make_settings(golden={"strategy": "stratified"})
    frame = synthetic_logs(60)
    frame["group_id"] = "same-customer"  # a group column that does not group anything
    with pytest.raises(SplitError, match=r"60 of 60 labelled rows are one unit \(one group id.*logs\.columns\.group"):
        build_splits(frame, settings, clusters=_no_clusters(frame))


def test_predefined_without_carving_skips_near_duplicate_clustering(make_settings, monkeypatch):
    import slm_assets.core.golden.splits as splits_module

    monkeypatch.setattr(splits_module, "near_duplicate_clusters", lambda *a, **k: pytest.fail("clustered"))
    frame = synthetic_logs(20)
    frame["split"] = ["train"] * 15 + ["test"] * 5
    splits, _ = build_splits(frame, make_settings(golden={"strategy": "predefined"}))
    assert len(splits["test"]) == 5
