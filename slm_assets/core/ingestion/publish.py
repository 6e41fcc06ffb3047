"""Outputs published as one unit: a versioned folder and one pointer swapped by a rename.

Layout of an output folder (``<data_dir>/ingested`` by default)::

    versions/<version>/{production_logs.parquet, quarantined_logs.parquet, ingest_report.json}
    current -> versions/<version>          the pointer: one symlink, replaced atomically
    production_logs.parquet -> current/production_logs.parquet   (and the other two): stable names

A run writes into ``versions/.partial-<version>``, renames it complete, then swaps
``current``; a reader therefore sees the previous three files or the new three, never a
mix. Readers that open more than one file (or hash one, then read it) resolve the
pointer once with ``published_dir``. One run at a time holds ``.lock`` (released by the
kernel when the process dies, even by SIGKILL); it removes what killed runs left
(``.partial-*``, temp files, the ``.ingest-*`` folders of the older layout) and keeps the previous
version besides the new one, so a reader that resolved the old pointer can finish.
"""

import fcntl
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from slm_assets.core import layout
from slm_assets.core.ingestion.report import OUTPUT_FILES, IngestError

CURRENT = layout.INGESTED_POINTER
VERSIONS = layout.INGESTED_VERSIONS
_PARTIAL = ".partial-"
_LOCK = ".lock"
published_dir = layout.published_ingestion
"""Readers resolve the pointer with this (``core.layout`` owns the rule)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link(target: str, path: Path) -> None:
    """Point the symlink ``path`` at ``target``, atomically (a temp link renamed over it)."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    tmp = path.with_name(f".{path.name}.link-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, path)


class Publication:
    """``with Publication(out) as pub:`` write into ``pub.staging``, then ``pub.publish()``."""

    def __init__(self, out_dir: str | os.PathLike[str]):
        self.out_dir = Path(out_dir)
        self.versions = self.out_dir / VERSIONS
        now = datetime.now(timezone.utc)
        self.version = f"{now:%Y%m%dT%H%M%S%f}Z-{os.getpid()}"
        self.staging = self.versions / f"{_PARTIAL}{self.version}"
        self.final = self.versions / self.version
        self._lock_fd: int | None = None

    def __enter__(self) -> "Publication":
        self.versions.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.out_dir / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise IngestError(f"{self.out_dir}: another ingestion is writing there now; wait for it to finish") from None
        self._lock_fd = fd
        self._remove_leftovers()
        self.staging.mkdir()
        return self

    def __exit__(self, *exc) -> None:
        try:
            shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the lock
                self._lock_fd = None

    def _remove_leftovers(self) -> None:
        """Folders of runs that died before publishing (only this run holds the lock)."""
        stale = [*self.versions.glob(f"{_PARTIAL}*"), *self.out_dir.glob(".ingest-*")]
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
        # Temp files of an atomic write or a link swap cut short (``.<output name>.<suffix>``).
        for name in (*OUTPUT_FILES, CURRENT):
            for path in self.out_dir.glob(f".{name}.*"):
                path.unlink(missing_ok=True)

    def publish(self) -> Path:
        """Make the staged outputs current in one rename; returns the published folder."""
        for name in os.listdir(self.staging):
            with open(self.staging / name, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(self.staging)
        previous = os.readlink(self.out_dir / CURRENT) if (self.out_dir / CURRENT).is_symlink() else None
        os.rename(self.staging, self.final)
        _fsync_dir(self.versions)
        _link(f"{VERSIONS}/{self.version}", self.out_dir / CURRENT)
        for name in OUTPUT_FILES:
            _link(f"{CURRENT}/{name}", self.out_dir / name)
        _fsync_dir(self.out_dir)
        keep = {self.version, Path(previous).name if previous else None}
        for old in self.versions.iterdir():
            if old.name not in keep and not old.name.startswith(_PARTIAL):
                shutil.rmtree(old, ignore_errors=True)
        return self.final
