import mlflow

from slm_assets.core.reporting.tracking import flatten_metrics, log_run


def test_flatten_metrics_keeps_numbers_only():
    flat = flatten_metrics({"a": 1, "b": {"c": 0.5, "d": "x", "e": True, "f": float("nan")}, "g": [1]})
    assert flat == {"a": 1.0, "b.c": 0.5}


def test_log_run_writes_params_metrics_and_artifacts(mlflow_settings, tmp_path):
    report = tmp_path / "metrics.json"
    report.write_text('{"accuracy": 0.5}')
    run_id = log_run(
        mlflow_settings, "evaluation", "tiny@v1",
        params={"digest": "abc", "golden_version": "v1", "config_hash": "123"},
        metrics={"accuracy": 0.5, "per_stratum": {"billing": 0.25}},
        artifacts=[report],
    )
    client = mlflow.MlflowClient(tracking_uri=mlflow_settings.mlflow.tracking_uri)
    run = client.get_run(run_id)
    assert run.data.params["golden_version"] == "v1"
    assert run.data.metrics == {"accuracy": 0.5, "per_stratum.billing": 0.25}
    assert [a.path for a in client.list_artifacts(run_id)] == ["metrics.json"]
    assert run.info.status == "FINISHED"


def test_tracking_off_by_default(make_settings):
    assert log_run(make_settings(), "evaluation", "tiny@v1", {}, {"accuracy": 1.0}) is None


def test_evaluation_and_profile_assets_log_to_mlflow(make_settings, mlflow_db_uri, tiny_model_dir):
    import dagster as dg

    from slm_assets.defs.evaluation.assets import model_evaluation
    from slm_assets.defs.partitions import model_versions
    from slm_assets.defs.profiling.assets import hardware_profile
    from slm_assets.defs.resources import ModelEngines, SlmSettings
    from tests.evaluation.helpers import eval_sections, register, write_test_golden
    from tests.support.tiny_project import TINY_SECTIONS

    settings = make_settings(
        **eval_sections(), profiling=TINY_SECTIONS["profiling"],
        mlflow={"enabled": True, "tracking_uri": mlflow_db_uri, "experiment": "asset-tracking"},
    )
    write_test_golden(settings, test_rows=4)
    version = register(settings, tiny_model_dir, name="tracked")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(model_versions.name, [version.key])
    result = dg.materialize(
        [model_evaluation, hardware_profile], partition_key=version.key, instance=instance,
        resources={"slm": SlmSettings(config_path=str(settings.config_path)), "engines": ModelEngines()},
    )
    assert result.success
    client = mlflow.MlflowClient(tracking_uri=mlflow_db_uri)
    experiment = client.get_experiment_by_name("asset-tracking")
    runs = {r.data.tags["slm.kind"]: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"evaluation", "profile"}
    for run in runs.values():
        assert run.data.params["digest"] == version.digest
        assert run.data.params["golden_version"] == "v1" and run.data.params["version"] == "v1"
    assert runs["evaluation"].data.metrics["n_examples"] == 4
    assert runs["profile"].data.metrics["summary.latency_p95_ms"] > 0
    assert [a.path for a in client.list_artifacts(runs["profile"].info.run_id)] == ["profile.json"]
