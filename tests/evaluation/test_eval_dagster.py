"""model_evaluation through Dagster: partitioned materialization, metadata, the contamination check."""

import dagster as dg
import pandas as pd

from slm_assets.core.models.versions import TrainingDataRef
from slm_assets.defs.evaluation.assets import model_evaluation
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from tests.evaluation.helpers import eval_sections, golden_rows, register, write_test_golden
from slm_assets.core import layout


def _materialize(settings, key):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(model_versions.name, [key])
    return dg.materialize(
        [model_evaluation],
        partition_key=key,
        instance=instance,
        resources={"slm": SlmSettings(config_path=str(settings.config_path)), "engines": ModelEngines()},
        raise_on_error=False,
    )


def test_materialization_carries_numeric_metadata_and_a_stratum_table(make_settings, lively_model_dir):
    settings = make_settings(**eval_sections())
    write_test_golden(settings, test_rows=6)
    version = register(settings, lively_model_dir)
    result = _materialize(settings, version.key)
    assert result.success
    [mat] = result.asset_materializations_for_node("model_evaluation")
    md = mat.metadata
    for name in ("accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_f1", "hallucination_rate",
                 "invalid_rate", "robustness_worst_family_accuracy", "robustness_consistency", "n_examples",
                 "examples_per_second", "cached_examples"):
        assert isinstance(md[name].value, (int, float)), name
    assert md["n_examples"].value == 6
    assert "| product=app |" in md["per_stratum"].value
    metrics_dir = layout.evaluations_root(settings) / version.key / settings.golden.version
    assert md["path"].value == str(metrics_dir) and (metrics_dir / "metrics.json").exists()
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "training_data_not_in_golden_test" and check.passed


def test_contaminated_model_fails_the_blocking_check_before_generating(make_settings, lively_model_dir):
    settings = make_settings(**eval_sections())
    leaked = pd.concat([golden_rows(10, offset=1000), golden_rows(1, offset=2)]).reset_index(drop=True)
    write_test_golden(settings, test_rows=6, train=leaked)
    version = register(settings, lively_model_dir,
                       training_data=TrainingDataRef(golden_version=settings.golden.version))
    result = _materialize(settings, version.key)
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["exact_overlap"].value == 1
    assert not layout.evaluations_root(settings).exists()
