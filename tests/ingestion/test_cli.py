"""slm-bench generate-logs and slm-bench ingest."""

import yaml

from slm_assets.cli import main


def _config(tmp_path, **logs):
    path = tmp_path / "config.yaml"
    mapping = {"input": "text", "reference": "intent", "timestamp": "timestamp", "id": "request_id", "strata": ["product"]}
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "logs": {"columns": mapping, **logs}}))
    return str(path)


def test_generate_then_ingest(tmp_path, capsys):
    config = _config(tmp_path)
    assert main(["--config", config, "generate-logs", "--rows", "800", "--seed", "3"]) == 0
    assert (tmp_path / "data" / "logs" / "support_logs.jsonl").is_file()
    assert main(["--config", config, "ingest"]) == 0
    out = capsys.readouterr().out
    assert "rows read                 800" in out
    assert f"published as {tmp_path / 'data' / 'ingested' / 'current'}" in out
    assert (tmp_path / "data" / "ingested" / "production_logs.parquet").is_file()


def test_ingest_error_exits_2(tmp_path, capsys):
    config = _config(tmp_path, sources=[{"path": str(tmp_path / "missing")}])
    assert main(["--config", config, "ingest"]) == 2
    assert "is not a file, a folder or a matching glob" in capsys.readouterr().err


def test_generate_rejects_zero_rows(tmp_path, capsys):
    assert main(["--config", _config(tmp_path), "generate-logs", "--rows", "0"]) == 2
