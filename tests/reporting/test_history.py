"""The results history: append-only rows, concurrent appends, bad lines reported, re-runs kept."""

import json
import multiprocessing

import dagster as dg

from slm_assets.core import layout
from slm_assets.core.reporting import history
from slm_assets.defs.evaluation.assets import model_evaluation
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from tests.evaluation.helpers import eval_sections, register, write_test_golden


def _append_many(config_path, worker, count):
    from slm_assets.config import load_settings

    settings = load_settings(config_path)
    for i in range(count):
        history.record(settings, "profile", f"m@w{worker}", {"summary": {"n": i, "pad": "x" * 5000}},
                       digest="d", engine="transformers")


def test_rows_carry_identity_and_flattened_metrics(make_settings):
    settings = make_settings()
    row = history.record(settings, "evaluation", "m@v1", {"accuracy": 0.5, "per_stratum": {"a": {"accuracy": 1.0}},
                                                         "note": "text", "nan": float("nan")},
                         digest="abc", engine="transformers", trigger="nightly_reevaluation", run_id="r1")
    assert row["metrics"] == {"accuracy": 0.5, "per_stratum.a.accuracy": 1.0}
    for field in ("recorded_at", "model_digest", "golden_version", "engine", "config_hash", "environment"):
        assert row[field], field
    assert row["environment"]["hash"] and row["environment"]["python"]
    read = history.read_history(settings)
    assert read.rows == [json.loads(json.dumps(row))] and not read.bad_lines
    assert read.select(kind="evaluation", trigger="nightly_reevaluation") == read.rows
    assert read.select(kind="profile") == []


def test_concurrent_appends_interleave_whole_lines(make_settings):
    settings = make_settings()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(settings.config_path), w, 40)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    read = history.read_history(settings)
    assert not read.bad_lines and len(read.rows) == 120
    assert sorted(r["metrics"]["summary.n"] for r in read.select(model="m@w1")) == list(range(40))


def test_a_broken_line_is_reported_not_dropped(make_settings):
    settings = make_settings()
    history.record(settings, "profile", "m@v1", {"x": 1.0}, digest=None, engine=None)
    with history.history_path(settings).open("ab") as handle:
        handle.write(b'{"kind": "prof\n\xff\xfe\n')
    history.record(settings, "profile", "m@v1", {"x": 2.0}, digest=None, engine=None)
    read = history.read_history(settings)
    assert [r["metrics"]["x"] for r in read.rows] == [1.0, 2.0]
    assert len(read.bad_lines) == 2 and read.bad_lines[0].startswith(f"{history.history_path(settings)}:2:")


def test_re_evaluating_a_version_keeps_both_results(make_settings, tiny_model_dir, one_torch_thread):
    settings = make_settings(**eval_sections(robustness={"enabled": False}))
    write_test_golden(settings, test_rows=4)
    version = register(settings, tiny_model_dir)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(model_versions.name, [version.key])
    resources = {"slm": SlmSettings(config_path=str(settings.config_path)), "engines": ModelEngines()}
    for trigger in ("first", "second"):
        result = dg.materialize([model_evaluation], partition_key=version.key, instance=instance,
                                resources=resources, tags={"slm/trigger": trigger})
        assert result.success
    rows = history.read_history(settings).select(kind="evaluation", model=version.key)
    assert [r["trigger"] for r in rows] == ["first", "second"]
    assert all(r["model_digest"] == version.digest and r["metrics"]["n_examples"] == 4 for r in rows)
    assert rows[0]["recorded_at"] < rows[1]["recorded_at"] and rows[0]["run_id"] != rows[1]["run_id"]
    metrics = json.loads(layout.metrics_file(settings, version.key).read_text())
    assert metrics["created_at"]  # what the report's trend reads
