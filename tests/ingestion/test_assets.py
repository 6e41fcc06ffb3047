"""The production_logs / quarantined_logs multi-asset, materialized for real on generated logs."""

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import yaml

from slm_assets.config import DEFAULT_CONFIG
from slm_assets.core.ingestion.synthetic import write_logs
from slm_assets.defs.ingestion.assets import ingest_production_logs
from slm_assets.defs.resources import SlmSettings


def test_materialize_on_generated_logs(tmp_path):
    data = tmp_path / "data"
    counts = write_logs(data / "logs" / "support_logs.jsonl", 3000, seed=4)
    config = tmp_path / "config.yaml"
    # The shipped default mapping, pointed at this temp data dir.
    shipped = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config.write_text(yaml.safe_dump({"data_dir": str(data), "logs": shipped["logs"]}))

    result = dg.materialize([ingest_production_logs], resources={"slm": SlmSettings(config_path=str(config))})

    assert result.success
    events = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert set(events) == {"production_logs", "quarantined_logs"}
    prod, quar = events["production_logs"], events["quarantined_logs"]
    assert prod["rows_read"].value == 3000
    assert prod["rows_kept"].value + prod["rows_quarantined"].value == 3000
    assert prod["exact_repeats"].value >= counts["exact_repeat"] * 0.9
    assert quar["rows_quarantined"].value == counts["malformed"]
    assert quar["quarantined_naive_timestamp"].value == counts["malformed_naive_timestamp"]
    assert "| bad_json |" in quar["reasons"].value
    # The path of this version; the stable name points at the same file until the next ingestion.
    version = prod["version"].value
    assert prod["path"].value == str(data / "ingested" / "versions" / version / "production_logs.parquet")
    assert (data / "ingested" / "production_logs.parquet").resolve() == Path(prod["path"].value).resolve()
    kept = pq.read_table(prod["path"].value)
    assert sum(kept.column("occurrences").to_pylist()) == prod["rows_kept"].value
    assert set(kept.column("stratum").unique().to_pylist()) == {"product=payments", "product=shop", "product=cloud", "product=mobile_app"}
    assert not any("@example.com" in t for t in kept.column("input").to_pylist())


def test_asset_specs():
    specs = {spec.key.to_user_string(): spec for spec in ingest_production_logs.specs}
    assert set(specs) == {"production_logs", "quarantined_logs"}
    for spec in specs.values():
        assert spec.group_name == "ingestion" and spec.description
