import mlflow

from slm_assets.core.tracking import flatten_metrics, log_run


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
