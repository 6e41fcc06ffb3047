"""The frozen golden set: split once, write once, then only verify and re-serve.

Layout: ``<data_dir>/golden/<version>/{train,validation,test}.parquet`` plus
``manifest.json``. A version is written into a temp folder beside its final
place, its files made read-only, and the folder renamed into place in one step:
a reader sees either no version or a complete one. An existing version is never
rewritten; a config change without a new ``golden.version`` is refused.

Slightly over 350 lines: freezing and verifying are one contract (the manifest) and stay together.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from slm_assets.config import Settings
from slm_assets.core.schema import LOG_SCHEMA, REFERENCE, SPLITS, STRATUM
from slm_assets.core import layout

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
_READ_ONLY_FILE = 0o444
_READ_ONLY_DIR = 0o555

# Options that only tune checks or reading speed: changing them does not change
# which rows land in which split, so it does not need a new golden version.
_NOT_SPLIT_RELEVANT = {
    "golden": {"label_shift_tolerance", "min_input_chars", "max_input_chars"},
    "logs": {"batch_rows"},
}


class GoldenSetError(RuntimeError):
    """The golden set is missing, tampered with, or does not match the configuration."""


class IdenticalGoldenVersionWarning(UserWarning):
    """A new golden version froze splits byte-identical to an existing one (the bump changed nothing)."""


@dataclass
class Manifest:
    version: str
    created_at: str
    config: dict[str, Any]
    config_hash: str
    seed: int
    strategy: str
    source_fingerprint: str
    rows: dict[str, int]
    sha256: dict[str, str]
    stratum_counts: dict[str, dict[str, int]]
    label_counts: dict[str, dict[str, int]]
    dropped: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT
    # Runtime facts, not stored: where the version lies and whether this call reused it.
    directory: Path | None = field(default=None, compare=False)
    reused: bool = field(default=False, compare=False)

    def path(self, split: str) -> Path:
        if self.directory is None:
            raise GoldenSetError("manifest has no directory")
        return self.directory / f"{split}.parquet"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("directory")
        data.pop("reused")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], directory: Path) -> "Manifest":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k not in ("directory", "reused")}
        return cls(**known, directory=directory)


def split_config(settings: Settings) -> dict[str, Any]:
    """The config sections a golden version is built from (stored in the manifest)."""
    return {name: getattr(settings, name).model_dump(mode="json") for name in ("golden", "logs", "task")}


def _split_relevant(config: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {k: v for k, v in config[name].items() if k not in _NOT_SPLIT_RELEVANT.get(name, set())}
        for name in ("golden", "logs")
    }


def config_hash(config: dict[str, Any]) -> str:
    payload = json.dumps(_split_relevant(config), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _to_table(frame: pd.DataFrame, split: str) -> pa.Table:
    missing = [f.name for f in LOG_SCHEMA if f.name not in frame.columns]
    if missing:
        raise GoldenSetError(f"split {split!r} lacks canonical columns {missing}")
    extra_cols = [c for c in frame.columns if c not in LOG_SCHEMA.names]
    try:
        table = pa.Table.from_pandas(frame[LOG_SCHEMA.names], schema=LOG_SCHEMA, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
        raise GoldenSetError(f"split {split!r} does not fit the canonical schema: {exc}") from exc
    for col in extra_cols:  # strata columns, kept under their own names
        table = table.append_column(col, pa.array(frame[col].to_numpy(dtype=object), from_pandas=True))
    return table


def _counts(frame: pd.DataFrame, column: str) -> dict[str, int]:
    if frame.empty:
        return {}
    counts = frame[column].fillna("<null>").astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items())}


def write_golden(
    settings: Settings,
    splits: dict[str, pd.DataFrame],
    source_fingerprint: str,
    extra: dict[str, Any] | None = None,
    dropped: dict[str, int] | None = None,
) -> Manifest:
    """Write a new frozen version atomically; refuse if the version already exists."""
    if set(splits) != set(SPLITS):
        raise GoldenSetError(f"expected splits {list(SPLITS)}, got {sorted(splits)}")
    final = layout.golden_dir(settings)
    if final.exists():
        raise GoldenSetError(f"golden set {settings.golden.version} already exists at {final}; it is never rewritten")
    layout.golden_root(settings).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{settings.golden.version}.", suffix=".tmp", dir=layout.golden_root(settings)))
    try:
        rows, sha = {}, {}
        for split in SPLITS:
            path = tmp / f"{split}.parquet"
            pq.write_table(_to_table(splits[split], split), path, compression="zstd")
            rows[split] = len(splits[split])
            sha[split] = file_sha256(path)
        config = split_config(settings)
        if same := _identical_versions(settings, sha):
            extra = {**(extra or {}), "identical_to": same}
            warnings.warn(IdenticalGoldenVersionWarning(
                f"golden set {settings.golden.version}: its splits are byte-identical to version(s) "
                f"{', '.join(same)} (the config change does not move any row); evaluations on both are redundant"
            ), stacklevel=2)
        manifest = Manifest(
            version=settings.golden.version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            config=config,
            config_hash=config_hash(config),
            seed=settings.golden.seed,
            strategy=settings.golden.strategy,
            source_fingerprint=source_fingerprint,
            rows=rows,
            sha256=sha,
            stratum_counts={s: _counts(splits[s], STRATUM) for s in SPLITS},
            label_counts={s: _counts(splits[s], REFERENCE) for s in SPLITS},
            dropped={k: int(v) for k, v in (dropped or {}).items()},
            extra=dict(extra or {}),
        )
        (tmp / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for path in tmp.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            path.chmod(_READ_ONLY_FILE)
        tmp.chmod(_READ_ONLY_DIR)
        # rename() fails if another run put the version in place meanwhile: we never overwrite it.
        os.rename(tmp, final)
    except BaseException:
        _remove_tree(tmp)
        raise
    manifest.directory = final
    return manifest


def _identical_versions(settings: Settings, sha: dict[str, str]) -> list[str]:
    same = []
    for manifest_file in sorted(layout.golden_root(settings).glob(f"*/{MANIFEST}")):
        try:
            if json.loads(manifest_file.read_text(encoding="utf-8")).get("sha256") == sha:
                same.append(manifest_file.parent.name)
        except (OSError, ValueError, AttributeError):
            continue  # a damaged version is verify_golden's business, not this warning's
    return same


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    path.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def _version_dir(settings: Settings, version: str | None) -> Path:
    return layout.golden_root(settings) / version if version else layout.golden_dir(settings)


def load_manifest(settings: Settings, version: str | None = None) -> Manifest:
    directory = _version_dir(settings, version)
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GoldenSetError(
            f"golden set {directory.name} not found: {path} is missing (materialize the golden splits first)"
        ) from exc
    except ValueError as exc:
        raise GoldenSetError(f"{path}: not valid JSON: {exc}") from exc
    try:
        return Manifest.from_json(data, directory)
    except TypeError as exc:
        raise GoldenSetError(f"{path}: not a golden manifest: {exc}") from exc


def _check_file(manifest: Manifest, split: str) -> str | None:
    """A problem with one split file, or None when it matches the manifest."""
    path = manifest.path(split)
    if split not in manifest.sha256:
        return f"{path}: split {split!r} is not listed in {manifest.directory / MANIFEST}"
    if not path.is_file():
        return f"{path}: file missing"
    actual = file_sha256(path)
    if actual != manifest.sha256[split]:
        return f"{path}: SHA-256 {actual[:12]}... does not match the manifest ({manifest.sha256[split][:12]}...): modified"
    return None


def load_split(settings: Settings, split: str, version: str | None = None) -> pd.DataFrame:
    """One frozen split, after checking its SHA-256 against the manifest."""
    if split not in SPLITS:
        raise GoldenSetError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    manifest = load_manifest(settings, version)
    problem = _check_file(manifest, split)
    if problem:
        raise GoldenSetError(f"golden set {manifest.version}: {problem}")
    return pq.read_table(manifest.path(split)).to_pandas()


def verify_golden(settings: Settings, version: str | None = None) -> list[str]:
    """Every problem found with a frozen version (empty when it is intact)."""
    try:
        manifest = load_manifest(settings, version)
    except GoldenSetError as exc:
        return [str(exc)]
    problems = []
    for split in SPLITS:
        if problem := _check_file(manifest, split):
            problems.append(problem)  # a damaged file may not even parse: its row count is moot
            continue
        path = manifest.path(split)
        if pq.ParquetFile(path).metadata.num_rows != manifest.rows.get(split):
            problems.append(f"{path}: row count differs from the manifest ({manifest.rows.get(split)})")
    expected = {MANIFEST, *(f"{s}.parquet" for s in SPLITS)}
    problems += [f"{manifest.directory / name}: unexpected file" for name in sorted(
        p.name for p in manifest.directory.iterdir() if p.name not in expected
    )]
    return problems


def verified_manifest(settings: Settings, version: str | None = None) -> Manifest:
    """The manifest of a version whose every part checks out: all splits' hashes and row counts,
    no file missing or added, and a manifest consistent with itself. Evaluation calls this, so a
    tampered train split or folder stops it even though it reads only the test split."""
    problems = verify_golden(settings, version)
    if not problems:
        manifest = load_manifest(settings, version)
        if manifest.version != manifest.directory.name:
            problems.append(f"{manifest.directory / MANIFEST}: names version {manifest.version!r}")
        elif manifest.config_hash != config_hash(manifest.config):
            problems.append(f"{manifest.directory / MANIFEST}: config_hash does not match its own config: edited")
    if problems:
        name = version or settings.golden.version
        raise GoldenSetError(f"golden set {name} failed verification: " + "; ".join(problems))
    return manifest


def _changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b, name = old.get(key), new.get(key), f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            changed += _changed_keys(a, b, f"{name}.")
        elif a != b:
            changed.append(f"{name} {json.dumps(a)} -> {json.dumps(b)}")
    return changed


def _next_version(settings: Settings) -> str:
    current = settings.golden.version
    match = re.fullmatch(r"(.*?)(\d+)", current)
    stem, n = (match.group(1), int(match.group(2))) if match else (f"{current}-", 1)
    while (layout.golden_root(settings) / f"{stem}{n + 1}").exists():
        n += 1
    return f"{stem}{n + 1}"


def _verify_existing(settings: Settings, source_fingerprint: str) -> Manifest:
    manifest = load_manifest(settings)
    current = split_config(settings)
    if manifest.config_hash != config_hash(current):
        changed = _changed_keys(_split_relevant(manifest.config), _split_relevant(current))
        raise GoldenSetError(
            f"golden set {manifest.version} was frozen with a different config "
            f"(changed: {'; '.join(changed) or 'unknown'}); set golden.version to a new name "
            f"(e.g. {_next_version(settings)}) to cut a new version"
        )
    problems = verify_golden(settings)
    if problems:
        raise GoldenSetError(
            f"golden set {manifest.version} at {manifest.directory} failed verification: " + "; ".join(problems)
        )
    manifest.reused = True
    manifest.extra = {**manifest.extra, "source_changed": manifest.source_fingerprint != source_fingerprint}
    return manifest


def freeze_or_verify(
    settings: Settings,
    build: Callable[[], tuple[dict[str, pd.DataFrame], dict[str, int]]],
    source_fingerprint: str,
    extra: dict[str, Any] | None = None,
) -> Manifest:
    """Verify and re-serve the configured version if it exists, else ``build()`` and freeze it.

    ``build`` returns ``(splits, dropped_counts)``. The returned manifest's
    ``reused`` says which path was taken; ``extra["source_changed"]`` (reused only)
    says whether the logs changed since freezing (new logs never alter a frozen set).
    """
    if layout.golden_dir(settings).exists():
        return _verify_existing(settings, source_fingerprint)
    splits, dropped = build()
    try:
        return write_golden(settings, splits, source_fingerprint, extra=extra, dropped=dropped)
    except OSError:
        if layout.golden_dir(settings).exists():  # another run froze it first: serve theirs, verified
            return _verify_existing(settings, source_fingerprint)
        raise
