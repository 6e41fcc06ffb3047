"""The split-once-then-frozen store: atomic write, verification, refusal to rewrite."""

import json
import os
import stat

import pytest

from golden_frames import synthetic_logs
from slm_assets.core.golden.store import (
    GoldenSetError,
    freeze_or_verify,
    load_manifest,
    load_split,
    verify_golden,
    write_golden,
)
from slm_assets.core.schema import LOG_SCHEMA
from slm_assets.core import layout


def _splits():
    frame = synthetic_logs(30)
    return {"train": frame.iloc[:20], "validation": frame.iloc[20:24], "test": frame.iloc[24:]}


def _build():
    return _splits(), {"unlabelled": 3}


def test_write_then_load_round_trips_with_manifest(make_settings):
    settings = make_settings()
    manifest = write_golden(settings, _splits(), "fp-1", dropped={"unlabelled": 3})
    assert manifest.directory == layout.golden_root(settings) / "v1"
    stored = json.loads((manifest.directory / "manifest.json").read_text())
    assert stored["rows"] == {"train": 20, "validation": 4, "test": 6}
    assert stored["dropped"] == {"unlabelled": 3}
    assert stored["source_fingerprint"] == "fp-1"
    assert stored["config"]["golden"]["seed"] == settings.golden.seed
    assert sum(stored["label_counts"]["train"].values()) == 20
    assert sum(stored["stratum_counts"]["test"].values()) == 6
    test = load_split(settings, "test")
    assert list(test.columns[: len(LOG_SCHEMA)]) == LOG_SCHEMA.names
    assert test["input"].tolist() == _splits()["test"]["input"].tolist()
    assert load_manifest(settings).sha256 == stored["sha256"]
    assert verify_golden(settings) == []
    assert not [p for p in layout.golden_root(settings).iterdir() if p.name.startswith(".")], "temp folder left behind"


def test_frozen_files_are_read_only(make_settings):
    settings = make_settings()
    manifest = write_golden(settings, _splits(), "fp")
    for path in manifest.directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path


def test_rerun_verifies_and_never_rewrites(make_settings):
    settings = make_settings()
    first = freeze_or_verify(settings, _build, "fp")
    assert not first.reused
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.directory.iterdir()}

    def must_not_build():
        raise AssertionError("a frozen version must not be rebuilt")

    again = freeze_or_verify(settings, must_not_build, "fp-new-logs")
    assert again.reused and again.extra["source_changed"] is True
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in again.directory.iterdir()}
    assert after == before
    assert again.sha256 == first.sha256


def test_write_refuses_an_existing_version(make_settings):
    settings = make_settings()
    write_golden(settings, _splits(), "fp")
    with pytest.raises(GoldenSetError, match="never rewritten"):
        write_golden(settings, _splits(), "fp")


def _tamper(path):
    path.parent.chmod(0o755)
    path.chmod(0o644)
    frame = _splits()["test"].copy()
    frame.loc[frame.index[0], "reference"] = "tampered"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, schema=LOG_SCHEMA, preserve_index=False), path)


def test_tampering_is_detected(make_settings):
    settings = make_settings()
    manifest = write_golden(settings, _splits(), "fp")
    _tamper(manifest.path("test"))
    with pytest.raises(GoldenSetError, match=r"test\.parquet.*does not match the manifest"):
        load_split(settings, "test")
    assert any("test.parquet" in p for p in verify_golden(settings))
    assert load_split(settings, "train") is not None  # the untouched splits still load
    with pytest.raises(GoldenSetError, match="failed verification"):
        freeze_or_verify(settings, _build, "fp")


def test_a_file_too_damaged_to_parse_is_named_not_a_crash(make_settings):
    settings = make_settings()
    manifest = write_golden(settings, _splits(), "fp")
    path = manifest.path("train")
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:40])  # truncated: not Parquet any more
    problems = verify_golden(settings)
    assert len(problems) == 1 and "train.parquet" in problems[0] and "does not match" in problems[0]


def test_missing_file_and_missing_version_are_named(make_settings):
    settings = make_settings()
    with pytest.raises(GoldenSetError, match=r"golden set v1 not found.*manifest\.json"):
        load_split(settings, "train")
    manifest = write_golden(settings, _splits(), "fp")
    manifest.directory.chmod(0o755)
    os.remove(manifest.path("validation"))
    with pytest.raises(GoldenSetError, match=r"validation\.parquet: file missing"):
        load_split(settings, "validation")


def test_config_change_without_version_bump_is_refused(make_settings):
    make_settings(golden={"seed": 13})
    settings = make_settings(golden={"seed": 13})
    freeze_or_verify(settings, _build, "fp")
    changed = make_settings(golden={"seed": 14})
    with pytest.raises(GoldenSetError) as err:
        freeze_or_verify(changed, _build, "fp")
    message = str(err.value)
    assert "golden set v1 was frozen with a different config" in message
    assert "golden.seed 13 -> 14" in message
    assert "set golden.version to a new name (e.g. v2)" in message
    bumped = make_settings(golden={"seed": 14, "version": "v2"})
    assert not freeze_or_verify(bumped, _build, "fp").reused
    assert load_manifest(bumped, "v1").seed == 13


def test_check_only_options_do_not_need_a_new_version(make_settings):
    freeze_or_verify(make_settings(), _build, "fp")
    relaxed = make_settings(golden={"label_shift_tolerance": 0.3}, logs={"batch_rows": 10})
    assert freeze_or_verify(relaxed, _build, "fp").reused


def test_version_bump_freezing_identical_splits_warns(make_settings):
    from slm_assets.core.golden.store import IdenticalGoldenVersionWarning

    write_golden(make_settings(), _splits(), "fp-1")
    bumped = make_settings(golden={"version": "v2", "min_input_chars": 2})
    with pytest.warns(IdenticalGoldenVersionWarning, match=r"golden set v2: .*byte-identical to version\(s\) v1"):
        manifest = write_golden(bumped, _splits(), "fp-1")
    assert manifest.extra["identical_to"] == ["v1"]


def test_verified_manifest_checks_every_split_not_only_the_one_read(make_settings):
    from slm_assets.core.golden.store import verified_manifest

    settings = make_settings()
    manifest = write_golden(settings, _splits(), "fp-1")
    assert verified_manifest(settings).sha256 == manifest.sha256
    (manifest.directory / "validation.parquet").unlink()
    load_split(settings, "test")  # the split alone still verifies...
    with pytest.raises(GoldenSetError, match=r"validation\.parquet: file missing"):
        verified_manifest(settings)  # ...the version does not
