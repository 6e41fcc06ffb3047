"""The example configs: they load, and each runs ingestion and golden splits end to end on the real datasets."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from slm_assets.config import PROJECT_ROOT, load_settings
from slm_assets.core.golden.store import freeze_or_verify, load_split, verify_golden
from slm_assets.core.golden.leakage import run_leakage_checks
from slm_assets.core.ingestion.logs import ingest_logs
from slm_assets.core.golden.splits import SplitError, build_splits
from tests.conftest import SHARED_DATASETS, shared_dataset
from slm_assets.core import layout

CONFIGS = {
    "banking77": ("stratified", "banking77"),
    "banking77_predefined": ("predefined", "banking77"),
    "nlbse24": ("temporal+stratified", "nlbse24_issues"),
    "nlbse24_predefined": ("predefined", "nlbse24_issues"),
}


def _config(name: str) -> Path:
    return PROJECT_ROOT / "configs" / f"{name}.yaml"


@pytest.mark.parametrize("name", CONFIGS)
def test_example_config_loads_and_points_at_the_shared_datasets(name, monkeypatch):
    monkeypatch.delenv("SLM_DATASETS_DIR", raising=False)
    settings = load_settings(_config(name))
    strategy, folder = CONFIGS[name]
    assert settings.golden.strategy == strategy
    assert settings.data_dir == PROJECT_ROOT / "data" / name  # never the default data dir
    for source in settings.logs.sources:
        assert settings.resolve_path(source.path).parent == (SHARED_DATASETS / folder).resolve()
    if strategy == "predefined":
        assert {s.split for s in settings.logs.sources} == {"train", "test"}


def test_datasets_dir_is_overridable(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_DATASETS_DIR", str(tmp_path))
    settings = load_settings(_config("banking77"))
    assert settings.resolve_path(settings.logs.sources[0].path) == tmp_path / "banking77" / "train.csv"


@pytest.mark.parametrize("name", CONFIGS)
def test_example_config_runs_ingestion_and_splits(name, tmp_path, monkeypatch):
    strategy, folder = CONFIGS[name]
    shared_dataset(folder)
    monkeypatch.setenv("SLM_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings(_config(name))
    report = ingest_logs(settings, layout.ingested_dir(settings)).to_metadata()
    assert report["rows_read"] == report["rows_kept"] + report["rows_quarantined"]
    frame = pq.read_table(layout.ingested_dir(settings) / "production_logs.parquet").to_pandas()

    manifest = freeze_or_verify(settings, lambda: build_splits(frame, settings), "fp")
    assert verify_golden(settings) == []
    rows = manifest.rows
    assert sum(rows.values()) + sum(manifest.dropped.values()) == len(frame)
    assert all(rows[s] > 0 for s in ("train", "validation", "test"))
    labels = settings.task_labels()
    assert set(manifest.label_counts["test"]) <= set(labels)
    if folder == "banking77":
        assert len(manifest.label_counts["test"]) == 77
    if strategy == "predefined":  # the official test file stays whole (less what ingestion quarantined)
        official = frame["split"].eq("test").sum()
        assert rows["test"] == official
    if name == "nlbse24":
        assert manifest.dropped["embargo"] > 0
        assert rows["test"] <= settings.golden.max_rows["test"]
    assert freeze_or_verify(settings, lambda: pytest.fail("rebuilt a frozen set"), "fp").reused

    outcomes = run_leakage_checks({s: load_split(settings, s) for s in ("train", "validation", "test")}, settings)
    failed = {name for name, o in outcomes.items() if not o.passed and o.severity == "error"}
    if strategy == "predefined":  # the published splits overlap, and the checks find it on their own
        assert "no_exact_overlap" in failed and "no_near_duplicate_overlap" in failed
        if folder == "nlbse24_issues":
            assert "temporal_order_respected" in failed  # the official NLBSE split is not temporal
    else:  # our own splits are leak-free
        assert failed == set(), {name: outcomes[name].description for name in failed}


def test_banking77_refuses_a_temporal_strategy(tmp_path, monkeypatch):
    shared_dataset("banking77")
    monkeypatch.setenv("SLM_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings(_config("banking77"), overrides={"golden": {"strategy": "temporal"}})
    ingest_logs(settings, layout.ingested_dir(settings))
    frame = pq.read_table(layout.ingested_dir(settings) / "production_logs.parquet").to_pandas()
    with pytest.raises(SplitError, match=r"13071 of 13071 have none \(first: .*train\.csv:2\)"):
        build_splits(frame, settings)
