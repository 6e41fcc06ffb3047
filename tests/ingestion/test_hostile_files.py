"""Files a source can name that used to be misread, read many times, hang, or vanish from the report."""

import bz2
import gzip
import io
import lzma
import os
import zipfile

import pyarrow as pa
import pytest

from slm_assets.core.ingestion import run as ingestion_run

from .helpers import COLUMNS, line, run

ROWS = line("a", "I want a refund please") + line("b", "cancel my subscription") + line("c", "where is my order")


def _settings(make_settings, path):
    return make_settings(logs={"sources": [{"path": str(path)}], "columns": COLUMNS})


def _rejected(report):
    return sorted((os.path.basename(f["file"]), f["reason"]) for f in report.files_rejected)


@pytest.mark.parametrize(
    "name, compress",
    [("logs.jsonl", gzip.compress), ("logs.jsonl.gz", gzip.compress), ("logs.jsonl.bz2", bz2.compress), ("logs.json", lzma.compress)],
)
def test_compressed_jsonl_is_read_whatever_its_name(make_settings, tmp_path, name, compress):
    src = tmp_path / "src"
    src.mkdir()
    (src / name).write_bytes(compress(ROWS))
    report, kept, quarantined = run(_settings(make_settings, src), tmp_path / "out")
    assert [r["example_id"] for r in kept] == ["a", "b", "c"] and quarantined == []


def test_zstd_and_compressed_csv_are_read(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with pa.CompressedOutputStream(str(src / "a.jsonl.zst"), "zstd") as out:
        out.write(ROWS)
    (src / "b.csv").write_bytes(gzip.compress(b"id,text,ts\nd,from csv,2025-03-01T10:00:00Z\n"))
    report, kept, _ = run(_settings(make_settings, src), tmp_path / "out")
    assert [r["example_id"] for r in kept] == ["a", "b", "c", "d"]


def _lines_before_the_break(path, block: int) -> int:
    got = b""
    with gzip.open(path) as fh:
        try:
            while data := fh.read(block):  # the reader's block size: a break loses the block it hits
                got += data
        except EOFError:
            pass
    return got.count(b"\n")


@pytest.mark.parametrize("workers", [1, 2])
def test_archive_and_truncated_gzip_are_listed(make_settings, tmp_path, monkeypatch, workers):
    if workers > 1:  # chunks already with the workers when the stream breaks are still counted
        monkeypatch.setattr(ingestion_run, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(ingestion_run, "CHUNK_BYTES", 20_000)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jsonl").write_bytes(ROWS)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.jsonl", ROWS)
    (src / "b.jsonl").write_bytes(buf.getvalue())
    many = b"".join(line(f"t{i}", f"request {i}") for i in range(5000))
    (src / "c.jsonl.gz").write_bytes(gzip.compress(many)[:-2000])
    settings = make_settings(logs={"sources": [{"path": str(src)}], "columns": COLUMNS, "workers": workers})
    report, kept, _ = run(settings, tmp_path / "out")
    assert _rejected(report) == [("b.jsonl", "compressed_file"), ("c.jsonl.gz", "truncated_file")]
    assert report.rows_read == 3 + _lines_before_the_break(src / "c.jsonl.gz", min(ingestion_run.CHUNK_BYTES, 1 << 16))  # kept up to the break
    assert "zip" in report.files_rejected[0]["detail"]


def test_self_referencing_links_are_followed_once(make_settings, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.jsonl").write_bytes(ROWS)
    (src / "sub" / "b.jsonl").write_bytes(line("d", "another request"))
    os.symlink(".", src / "loop")  # used to list every file 41 times
    os.symlink("..", src / "sub" / "up")  # two such links used to hang
    report, kept, _ = run(_settings(make_settings, src / "**" / "*.jsonl"), tmp_path / "out")
    assert report.files == [str(src / "a.jsonl"), str(src / "sub" / "b.jsonl")]
    assert report.rows_read == 4 and report.exact_repeats == 0


def test_special_files_and_dangling_links_are_listed(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jsonl").write_bytes(ROWS)
    os.mkfifo(src / "b.jsonl")  # opening it would block forever
    os.symlink("/dev/null", src / "c.jsonl")
    os.symlink(src / "gone.jsonl", src / "d.jsonl")
    os.symlink(src / "a.jsonl", src / "e.jsonl")
    for pattern in (src, src / "*.jsonl"):
        report, kept, _ = run(_settings(make_settings, pattern), tmp_path / "out")
        assert _rejected(report) == [
            ("b.jsonl", "special_file"), ("c.jsonl", "special_file"), ("d.jsonl", "dangling_link"), ("e.jsonl", "same_file"),
        ]
        assert report.files == [str(src / "a.jsonl")] and len(kept) == 3


def test_truncated_compressed_csv_keeps_its_rows_before_the_break(make_settings, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    body = b"".join(f"r{i},request number {i},2025-03-01T10:00:00Z\n".encode() for i in range(20_000))
    (src / "a.csv.gz").write_bytes(gzip.compress(b"id,text,ts\n" + body)[:-3000])
    whole_lines = 0
    with gzip.open(src / "a.csv.gz") as fh:  # line by line, as the CSV reader reads
        try:
            for _ in fh:
                whole_lines += 1
        except EOFError:
            pass
    report, kept, _ = run(_settings(make_settings, src), tmp_path / "out")
    assert _rejected(report) == [("a.csv.gz", "truncated_file")]
    assert report.rows_read == report.rows_kept == whole_lines - 1  # every record before the break
    assert kept[-1]["input"] == f"request number {len(kept) - 1}"
