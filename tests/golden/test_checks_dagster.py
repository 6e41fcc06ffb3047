"""The golden checks in Dagster: a planted leak fails a blocking check and stops downstream assets."""

import hashlib

import dagster as dg
import pytest
from golden_frames import synthetic_logs

from slm_assets.core.golden.store import write_golden
from slm_assets.defs.golden.assets import golden_splits
from slm_assets.defs.golden.checks import golden_checks
from slm_assets.defs.resources import SlmSettings


@dg.asset(deps=["golden_test"])
def evaluation_downstream() -> int:
    return 1


def splits(leak: bool):
    frame = synthetic_logs(120)
    parts = {
        "train": frame.iloc[:80].reset_index(drop=True),
        "validation": frame.iloc[90:100].reset_index(drop=True),
        "test": frame.iloc[110:].reset_index(drop=True),
    }
    if leak:
        text = parts["train"].loc[2, "input"]
        parts["test"].loc[0, "input"] = text
        parts["test"].loc[0, "content_hash"] = hashlib.sha256(text.encode()).hexdigest()
    return parts


def run(make_settings, leak: bool) -> dg.ExecuteInProcessResult:
    settings = make_settings(golden={"strategy": "temporal", "embargo_days": 5})
    write_golden(settings, splits(leak), "absent")  # frozen first: the asset verifies and re-serves it
    return dg.materialize(
        [golden_splits, evaluation_downstream, *golden_checks],
        resources={"slm": SlmSettings(config_path=str(settings.config_path))},
        raise_on_error=False,
    )


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in (ev.event_specific_data for ev in result.all_events if ev.event_type_value == "ASSET_CHECK_EVALUATION")
    }


@pytest.mark.parametrize("leak", [False, True])
def test_blocking_checks_gate_downstream_assets(make_settings, leak):
    result = run(make_settings, leak)
    evaluations = check_evaluations(result)
    assert len(evaluations) == 7 + 3 + 3
    failed = {key for key, e in evaluations.items() if not e.passed}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    if not leak:
        assert failed == set(), {k: evaluations[k].description for k in failed}
        assert "evaluation_downstream" in materialized
        return
    assert failed == {("golden_test", "no_exact_overlap"), ("golden_test", "no_near_duplicate_overlap")}
    assert "evaluation_downstream" not in materialized
    exact = evaluations[("golden_test", "no_exact_overlap")]
    assert exact.severity == dg.AssetCheckSeverity.ERROR
    assert exact.metadata["shared_texts"].value == 1
    assert exact.metadata["examples"].value[0]["left"]["source"] == "logs.jsonl:3"
    assert "logs.jsonl:111" in exact.metadata["examples_md"].value


def test_tampered_golden_set_fails_unchanged_check(make_settings):
    settings = make_settings()
    manifest = write_golden(settings, splits(False), "absent")
    path = manifest.path("train")
    path.parent.chmod(0o755)
    path.chmod(0o644)
    with open(path, "ab") as fh:
        fh.write(b"x")
    result = dg.materialize(
        [golden_splits, *golden_checks],
        selection=dg.AssetSelection.checks(golden_checks[0]),  # the checks alone, on the frozen files
        resources={"slm": SlmSettings(config_path=str(settings.config_path))},
        raise_on_error=False,
    )
    evaluations = check_evaluations(result)
    assert {k for k, e in evaluations.items() if not e.passed} == {
        (f"golden_{s}", "golden_set_unchanged") for s in ("train", "validation", "test")
    }
    assert not result.success  # the other checks refuse to read a tampered set
