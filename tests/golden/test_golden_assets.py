"""The golden multi-asset in Dagster: build once, then verify and re-serve."""

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from golden_frames import synthetic_logs
from slm_assets.core.schema import LOG_SCHEMA
from slm_assets.defs.golden.assets import golden_splits
from slm_assets.defs.resources import SlmSettings
from slm_assets.core import layout


def _materialize(settings):
    return dg.materialize(
        [golden_splits], resources={"slm": SlmSettings(config_path=str(settings.config_path))}, raise_on_error=False
    )


def _metadata(result, split):
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [f"golden_{split}"]]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_golden_assets_build_then_reuse(make_settings):
    settings = make_settings(golden={"strategy": "temporal", "embargo_days": 2})
    frame = synthetic_logs(200)
    frame.loc[frame.index[:5], "reference"] = None
    layout.ingested_dir(settings).mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(frame, schema=LOG_SCHEMA, preserve_index=False),
                   layout.ingested_dir(settings) / "production_logs.parquet")

    first = _materialize(settings)
    assert first.success
    meta = {s: _metadata(first, s) for s in ("train", "validation", "test")}
    assert meta["train"]["reused"] is False and meta["train"]["version"] == "v1"
    assert meta["train"]["dropped_unlabelled"] == 5
    assert sum(m["rows"] for m in meta.values()) + meta["train"]["dropped_unlabelled"] + meta["train"]["dropped_embargo"] == 200
    assert "| stratum | rows |" in meta["test"]["per_stratum_counts"]
    assert meta["test"]["path"].endswith("golden/v1/test.parquet")
    # A few dozen test rows cannot show a 2-point accuracy drop: the golden set says so.
    assert "needs" in meta["test"]["gate_size_warning"] and "gate_size_warning" not in meta["train"]

    again = _materialize(settings)
    assert again.success
    assert _metadata(again, "test")["reused"] is True
    assert _metadata(again, "test")["sha256"] == meta["test"]["sha256"]


def test_golden_assets_fail_without_production_logs(make_settings):
    result = _materialize(make_settings())
    assert not result.success
    assert "production_logs not materialized yet" in str(result.all_events)


def test_project_definitions_load_from_the_defs_folder():
    from slm_assets.definitions import defs as load_defs

    keys = {k.to_user_string() for k in load_defs().resolve_asset_graph().get_all_asset_keys()}
    assert {"golden_train", "golden_validation", "golden_test"} <= keys
