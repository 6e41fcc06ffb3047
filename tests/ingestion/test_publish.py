"""Outputs published as one unit; what killed runs leave is removed; workers die with their parent."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from slm_assets.core.ingestion.logs import IngestError, ingest_logs, published_dir

from .helpers import COLUMNS, line, run

ROOT = Path(__file__).resolve().parents[2]


def _settings(make_settings, src: Path, **logs):
    return make_settings(logs={"sources": [{"path": str(src)}], "columns": COLUMNS, **logs})


def test_production_quarantine_and_report_are_swapped_together(make_settings, tmp_path):
    src, out = tmp_path / "a.jsonl", tmp_path / "out"
    src.write_bytes(line("a") + b"{broken\n")
    first, _, _ = run(_settings(make_settings, src), out)
    src.write_bytes(line("a") + line("b", "second text") + b"{broken\n" + b"[1]\n")
    second, _, _ = run(_settings(make_settings, src), out)

    assert published_dir(out) == out / "versions" / second.version
    # The stable names all point into the one current version folder.
    for name in ("production_logs.parquet", "quarantined_logs.parquet", "ingest_report.json"):
        assert (out / name).resolve() == (out / "versions" / second.version / name).resolve()
    assert pq.read_metadata(out / "production_logs.parquet").num_rows == 2
    assert pq.read_metadata(out / "quarantined_logs.parquet").num_rows == 2
    assert json.loads((out / "ingest_report.json").read_text())["version"] == second.version
    # The previous version stays for a reader that resolved the old pointer; older ones go.
    assert sorted(p.name for p in (out / "versions").iterdir()) == sorted([first.version, second.version])
    third, _, _ = run(_settings(make_settings, src), out)
    assert sorted(p.name for p in (out / "versions").iterdir()) == sorted([second.version, third.version])


def test_a_failed_run_leaves_the_published_outputs_alone(make_settings, tmp_path):
    src, out = tmp_path / "a.jsonl", tmp_path / "out"
    src.write_bytes(line("a"))
    good, _, _ = run(_settings(make_settings, src), out)
    src.write_bytes(b"{broken\n")
    with pytest.raises(IngestError, match="every one of its 1 rows"):
        ingest_logs(_settings(make_settings, src), out)
    assert published_dir(out).name == good.version
    assert sorted(p.name for p in (out / "versions").iterdir()) == [good.version]


def test_leftovers_of_killed_runs_are_removed_and_runs_never_overlap(make_settings, tmp_path):
    src, out = tmp_path / "a.jsonl", tmp_path / "out"
    src.write_bytes(line("a"))
    (out / "versions" / ".partial-20260101T000000Z-1").mkdir(parents=True)
    (out / ".ingest-abc123").mkdir()  # the temp folder of the older layout
    (out / ".quarantined_logs.parquet.k3j4.tmp").write_bytes(b"half an atomic write")
    os.symlink("versions/x", out / ".current.link-99")
    (out / "production_logs.parquet").write_bytes(b"an output of the older layout")
    run(_settings(make_settings, src), out)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".lock"]
    assert [p.name for p in (out / "versions").iterdir() if p.name.startswith(".")] == []
    assert (out / "production_logs.parquet").is_symlink()

    with open(out / ".lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(IngestError, match="another ingestion is writing there"):
            ingest_logs(_settings(make_settings, src), out)


def test_published_dir_without_a_pointer_is_the_folder_itself(tmp_path):
    assert published_dir(tmp_path) == tmp_path


_KILLED_RUN = """
import json, sys, time
from slm_assets.config import load_settings
from slm_assets.core.ingestion import run, logs
run.PARALLEL_MIN_BYTES, run.CHUNK_BYTES = 0, 2000
def take(self, *args):  # stop in the middle, workers running, until killed
    print(json.dumps(sorted(self.pool._processes)), flush=True)
    time.sleep(600)
run.Ingestion.take = take
logs.ingest_logs(load_settings(sys.argv[1]), sys.argv[2])
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux")
def test_sigkill_leaves_no_worker_and_the_next_run_cleans_up(make_settings, tmp_path):
    src, out = tmp_path / "a.jsonl", tmp_path / "out"
    src.write_bytes(b"".join(line(f"r{i}", f"request number {i}") for i in range(400)))
    settings = _settings(make_settings, src, workers=2)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(tmp_path / "cfg" / "config.yaml"), str(out)], stdout=subprocess.PIPE, env=env, text=True
    )
    workers = json.loads(proc.stdout.readline())
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    assert list((out / "versions").glob(".partial-*"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30  # a bound for a loaded machine, not a speed claim
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    run(settings, out)
    assert not list((out / "versions").glob(".partial-*"))


def test_readers_follow_the_pointer(make_settings, tmp_path):
    from slm_assets.core import layout

    src = tmp_path / "a.jsonl"
    src.write_bytes(line("a"))
    settings = _settings(make_settings, src)
    first = ingest_logs(settings, layout.ingested_dir(settings))
    assert layout.production_logs_file(settings) == Path(first.production_path)
    src.write_bytes(line("a") + line("b", "another"))
    second = ingest_logs(settings, layout.ingested_dir(settings))
    # The golden build and drift read this path: the new version, resolved once, not a mix.
    assert layout.production_logs_file(settings) == Path(second.production_path)
    assert pq.read_metadata(layout.production_logs_file(settings)).num_rows == 2


def test_a_run_stopped_before_the_pointer_swap_changes_nothing_readers_see(make_settings, tmp_path, monkeypatch):
    from slm_assets.core.ingestion import publish

    src, out = tmp_path / "a.jsonl", tmp_path / "out"
    src.write_bytes(line("a") + b"{broken\n")
    good, _, _ = run(_settings(make_settings, src), out)
    src.write_bytes(line("a") + line("b", "second text"))

    def killed(*args):
        raise KeyboardInterrupt  # stands for a kill between the version rename and the swap

    monkeypatch.setattr(publish, "_link", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest_logs(_settings(make_settings, src), out)
    monkeypatch.undo()
    report = json.loads((out / "ingest_report.json").read_text())
    assert report["version"] == good.version and report["rows_quarantined"] == 1
    assert pq.read_metadata(out / "quarantined_logs.parquet").num_rows == 1
    assert pq.read_metadata(out / "production_logs.parquet").num_rows == 1
    latest, _, _ = run(_settings(make_settings, src), out)  # the unpublished folder goes
    assert sorted(p.name for p in (out / "versions").iterdir()) == sorted([good.version, latest.version])
