"""Large JSONL files are parsed by several processes; the outputs must not depend on it."""

import json

import pytest

from slm_assets.core.ingestion import run as ingestion_run
from slm_assets.core.ingestion.synthetic import write_logs

from .helpers import run

MAPPING = {"input": "text", "reference": "intent", "timestamp": "timestamp", "id": "request_id", "strata": ["product"], "group": "customer_id", "metadata": ["channel"]}


def test_parallel_and_in_process_ingestion_agree(make_settings, tmp_path, monkeypatch):
    logs_dir = tmp_path / "logs"
    write_logs(logs_dir / "a.jsonl", 3000, seed=9)
    first = json.loads(next(l for l in (logs_dir / "a.jsonl").read_text().splitlines() if l.startswith("{") and l.endswith("}")))
    conflict = json.dumps({**first, "text": "an edited request under the same id"})
    with open(logs_dir / "a.jsonl", "a", encoding="utf-8") as fh:
        fh.write(conflict + "\n")

    monkeypatch.setattr(ingestion_run, "CHUNK_BYTES", 20_000)  # many chunks, several in flight
    outputs = {}
    for workers in (1, 2):
        monkeypatch.setattr(ingestion_run, "PARALLEL_MIN_BYTES", 0 if workers > 1 else 1 << 40)
        settings = make_settings(f"w{workers}.yaml", logs={"sources": [{"path": str(logs_dir)}], "columns": MAPPING, "workers": workers})
        report, kept, quarantined = run(settings, tmp_path / f"out{workers}")
        outputs[workers] = (report.to_metadata(), kept, quarantined)
    assert outputs[1] == outputs[2]
    meta, _, quarantined = outputs[2]
    conflicts = [q for q in quarantined if q["reason"] == "duplicate_id_conflict"]
    assert len(conflicts) == 1 and conflicts[0]["raw"] == conflict.encode()
    assert conflicts[0]["source_line"] == 3001
    assert meta["rows_read"] == 3001


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_chunks_never_split_a_line(tmp_path, chunk):
    from slm_assets.core.ingestion.readers import jsonl_chunks, parse_jsonl_chunk

    path = tmp_path / "x.jsonl"
    lines = [json.dumps({"i": i, "t": "x" * (i * 7 % 50)}) for i in range(200)]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n\n")
    records = [r for first, data in jsonl_chunks(path, chunk) for r in parse_jsonl_chunk(data, first)]
    assert [(line, values["i"]) for line, _, values, _ in records] == [(i + 1, i) for i in range(200)]
