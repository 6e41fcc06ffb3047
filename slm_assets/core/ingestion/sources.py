"""Which files a log source names: a file, a folder (its log files) or a glob (``**`` recursive).

Globs are walked here rather than by ``glob.glob``, which follows a symlinked folder
again on every pass (a link to ``.`` made it list each file 41 times, two such links
never finished): each real folder is walked at most once per pattern position, so a
link cycle ends. A candidate that is not a regular file is never opened (a FIFO would
block the read) but listed with its reason: ``dangling_link``, ``special_file`` or
``unreadable_file``. Hidden names are skipped as ``glob`` does. The same real file
reached under two names is read once (the caller lists the second as ``same_file``).
"""

import errno
import os
import stat
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from slm_assets.config import LogSource, Settings
from slm_assets.core.ingestion import readers as log_readers
from slm_assets.core.ingestion.report import IngestError

_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class Candidate:
    """A path a source names; ``reason``/``detail`` set when it cannot be read as a file."""

    path: Path
    identity: tuple[int, int] | None = None
    """``(device, inode)`` of the real file, to read each file once."""
    reason: str | None = None
    detail: str = ""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def classify(path: Path) -> Candidate | None:
    """The candidate for ``path``; ``None`` for a folder (not a log file, not an error)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            what = "a symbolic link loop" if exc.errno == errno.ELOOP else f"a symbolic link to {os.readlink(path)!r}, which does not exist"
            return Candidate(path, reason="dangling_link", detail=what)
        return Candidate(path, reason="unreadable_file", detail=f"cannot stat: {exc.strerror or exc}")
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        return Candidate(path, reason="special_file", detail=f"{_kind(st.st_mode)}, not a regular file (never opened)")
    return Candidate(path, identity=(st.st_dev, st.st_ino))


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _dir_id(entry_path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(entry_path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _hidden(name: str, segment: str) -> bool:
    return name.startswith(".") and not segment.startswith(".")


def _walk(folder: Path, segments: tuple[str, ...], seen: set[tuple[tuple[int, int], int]]) -> list[Path]:
    """Paths under ``folder`` matching ``segments``; each real folder visited once per position."""
    key = _dir_id(str(folder))
    if key is None or (key, len(segments)) in seen:
        return []
    seen.add((key, len(segments)))
    head, rest = segments[0], segments[1:]
    found: list[Path] = []
    if head == "**":
        if rest:
            found += _walk(folder, rest, seen)
        for entry in _entries(folder):
            if not _hidden(entry.name, head) and _dir_id(entry.path) is not None:
                found += _walk(Path(entry.path), segments, seen)
        if not rest:  # a trailing ** matches every file below
            found += [Path(e.path) for e in _entries(folder) if not _hidden(e.name, head) and _dir_id(e.path) is None]
        return found
    for entry in _entries(folder):
        if _hidden(entry.name, head) or not fnmatchcase(entry.name, head):
            continue
        if rest:
            found += _walk(Path(entry.path), rest, seen)
        elif _dir_id(entry.path) is None:
            found.append(Path(entry.path))
    return found


def glob_files(pattern: Path) -> list[Path]:
    """The non-folder paths matching ``pattern`` (absolute), sorted, each once."""
    parts = pattern.parts
    fixed = next((i for i, part in enumerate(parts) if _MAGIC & set(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    if fixed == len(parts):
        return [pattern] if os.path.lexists(pattern) else []
    return sorted(set(_walk(base, tuple(parts[fixed:]), set())))


def source_candidates(settings: Settings, source: LogSource) -> list[Candidate]:
    path = settings.resolve_path(source.path)
    if _MAGIC & set(source.path):
        paths = glob_files(path)
    elif path.is_dir():
        paths = [
            Path(e.path) for e in _entries(path) if not e.name.startswith(".") and log_readers.is_log_name(e.name)
        ]
    elif os.path.lexists(path):
        paths = [path]
    else:
        raise IngestError(f"log source {source.path!r}: {path} is not a file, a folder or a matching glob")
    candidates = [c for c in map(classify, paths) if c is not None]
    if not candidates:
        raise IngestError(
            f"log source {source.path!r}: no log files at {path} (expected {', '.join(sorted(log_readers.FORMATS))})"
        )
    return candidates
