"""A registered version's files: content digest, recorded stats, read-only modes.

The digest is sha256 over the sorted relative paths, sizes and bytes of every file but
card.json. Registration also records each file's size, mtime and own sha256, so a later
check can be a stat per file and, when one differs, name the file that changed.
"""

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from slm_assets.core.models.folder_checks import model_files

CARD_FILE = "card.json"
_CHUNK = 1 << 20
READ_ONLY_FILE = 0o444
_READ_ONLY_DIR = 0o555


def version_files(folder: Path) -> list[Path]:
    """The files the digest covers (links out of the folder and special files are refused);
    a GGUF registered as a single file is its own list, with the digest of the folder it is copied into."""
    if folder.is_file() and not folder.is_symlink():
        return [folder]
    return model_files(folder, exclude=(CARD_FILE,))


def _rel(file: Path, folder: Path) -> str:
    return file.name if folder.is_file() else file.relative_to(folder).as_posix()


def file_stats(folder: Path) -> dict[str, dict[str, int]]:
    """Size and mtime of each file, by relative path (the cheap half of verification)."""
    stats = {}
    for file in version_files(folder):
        st = file.stat()
        stats[_rel(file, folder)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return stats


def hash_files(folder: Path) -> tuple[str, dict[str, str]]:
    """The content digest and each file's own sha256, in one read."""
    h, per_file = hashlib.sha256(), {}
    for file in version_files(folder):
        rel = _rel(file, folder)
        h.update(len(rel.encode()).to_bytes(8, "little") + rel.encode() + file.stat().st_size.to_bytes(8, "little"))
        one = hashlib.sha256()
        with open(file, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
                one.update(chunk)
        per_file[rel] = one.hexdigest()
    return h.hexdigest(), per_file


def content_digest(folder: str | Path) -> str:
    """sha256 over the sorted relative paths, sizes and bytes of every file but card.json."""
    return hash_files(Path(folder))[0]


def changed_files(folder: Path, digest: str, recorded: dict[str, dict[str, Any]] | None) -> tuple[str, list[str]]:
    """``(actual digest, changed relative paths)``; an empty list when the content is as registered.

    Same files with the same sizes and mtimes: unchanged, without reading a byte. Otherwise the full
    hash decides (a ``touch`` alone is no change) and the per-file hashes name what differs."""
    if recorded is not None and file_stats(folder) == {
        rel: {"size": entry.get("size"), "mtime_ns": entry.get("mtime_ns")} for rel, entry in recorded.items()
    }:
        return digest, []
    actual, hashes = hash_files(folder)
    if actual == digest:
        return actual, []
    recorded = recorded or {}
    changed = sorted(set(hashes) ^ set(recorded))
    changed += sorted(rel for rel in hashes if rel in recorded and hashes[rel] != recorded[rel].get("sha256"))
    return actual, changed or ["(unknown file: registered before per-file hashes were kept)"]


def record(folder: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """Make the files read-only, then record digest and per-file size, mtime, sha256 (chmod keeps mtimes)."""
    digest, hashes = hash_files(folder)
    for file in version_files(folder):
        file.chmod(READ_ONLY_FILE)
    return digest, {rel: {**st, "sha256": hashes[rel]} for rel, st in file_stats(folder).items()}


def read_only_dirs(folder: Path) -> None:
    for dirpath, _dirs, _files in os.walk(folder, topdown=False):
        os.chmod(dirpath, _READ_ONLY_DIR)


def remove_tree(path: Path) -> None:
    """Remove a (failed) temp copy, read-only parts included."""
    if not path.exists():
        return
    for dirpath, _dirs, _files in os.walk(path):
        os.chmod(dirpath, 0o755)
    shutil.rmtree(path, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    for file in version_files(folder):
        with open(file, "rb") as fh:
            os.fsync(fh.fileno())
    card = folder / CARD_FILE
    if card.is_file():
        with open(card, "rb") as fh:
            os.fsync(fh.fileno())
