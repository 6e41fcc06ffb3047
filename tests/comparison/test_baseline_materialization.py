"""A comparison that has to evaluate its baseline records that evaluation as a materialization of
the baseline's partition: no evaluation file appears without a materialization behind it."""

import dagster as dg

from slm_assets.defs.comparison.assets import baseline_comparison
from slm_assets.defs.evaluation.assets import model_evaluation
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from tests.comparison.test_gate import SECTIONS
from tests.evaluation.helpers import register, write_test_golden


def test_baseline_evaluation_is_a_materialization_of_its_partition(make_settings, tiny_model_dir, one_torch_thread):
    settings = make_settings(**{**SECTIONS, "comparison": {**SECTIONS["comparison"], "promote_on_pass": False}})
    write_test_golden(settings, test_rows=8)
    register(settings, tiny_model_dir, "tiny", "v1")
    register(settings, tiny_model_dir, "tiny", "v2")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(model_versions.name, ["tiny@v1", "tiny@v2"])

    result = dg.materialize(
        [baseline_comparison],
        partition_key="tiny@v2",
        instance=instance,
        resources={"slm": SlmSettings(config_path=str(settings.config_path)), "engines": ModelEngines()},
        run_config={"ops": {"baseline_comparison": {"config": {"baseline": "tiny@v1"}}}},
    )
    assert result.success
    evaluated = {
        e.partition for e in instance.fetch_materializations(model_evaluation.key, limit=10).records
        for e in [e.asset_materialization]
    }
    assert evaluated == {"tiny@v1", "tiny@v2"}
