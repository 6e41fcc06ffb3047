"""The model registry: immutable, content-addressed model versions in a folder.

Layout (a contract, see README)::

    <root>/<name>/<version>/      a Hugging Face model folder + card.json (written last)
    <root>/<name>/aliases.json    {"production": "<version>", ...}
    <root>/<name>/audit.jsonl     one line per alias change: who, what, when, verdict

A version is *ready* once its card.json exists and parses. Registration copies
into a hidden temp folder inside ``<root>/<name>``, writes card.json last, then
renames the folder into place, so readers never see a half-copied version.

Immutability: a registered version's files and folders are read-only, and card.json
records each file's size, mtime and SHA-256. ``get`` (hence every evaluation, profile
and comparison) re-verifies the version: a stat of each file when nothing changed, the
full hash when a size or mtime differs; changed content is an error naming the file.
(Hashing and read-only modes live in ``integrity``, folder checks in ``folder_checks``; what stays
here, refs, cards, versions and aliases, is one contract, hence a file somewhat over 350 lines.)
"""

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from slm_assets.core.io import atomic_write_json
from slm_assets.core.models.gguf_file import GgufError, find_gguf_file, read_gguf
from slm_assets.core.models.integrity import (
    CARD_FILE,
    READ_ONLY_FILE,
    content_digest,
    fsync_tree,
    read_only_dirs,
    record,
    remove_tree,
    version_files,
)
from slm_assets.core.models.loading import validate_model_dir
from slm_assets.core.models.versions import (
    NAME_RE,
    ModelCard,
    ModelRef,
    ModelVersion,
    Registry,
    RegistryError,
    audit_user,
    validate_name,
)

ALIASES_FILE = "aliases.json"
AUDIT_FILE = "audit.jsonl"
def _relative(file: Path, src: Path) -> Path:
    return Path(file.name) if src.is_file() else file.relative_to(src)


class FolderRegistry:
    """The default registry backend (see module doc)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _version_dir(self, ref: ModelRef) -> Path:
        return self.root / ref.name / ref.version

    def _read_version(self, ref: ModelRef) -> ModelVersion | None:
        """The version if ready; None if absent or not ready (no card yet, or deleted meanwhile)."""
        path = self._version_dir(ref)
        card_file = path / CARD_FILE
        try:
            data = json.loads(card_file.read_text(encoding="utf-8"))
            digest = data.pop("digest")
            files = data.pop("files", None)
            card = ModelCard.model_validate(data)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            raise RegistryError(f"{card_file}: unreadable card: {exc}") from exc
        return ModelVersion(ref=ref, path=path, card=card, digest=digest, files=files)

    def get(self, ref: "ModelRef | str") -> ModelVersion:
        """A ready version, verified unchanged since registration (see module doc)."""
        ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
        found = self._read_version(ref)
        if found is None:
            raise RegistryError(
                f"{ref.key} is not registered (no {self._version_dir(ref) / CARD_FILE}); "
                "register it with `slm-bench register PATH --name NAME --version VERSION`"
            )
        found.verify()
        return found

    def list_ready(self) -> list[ModelVersion]:
        """Every ready version, sorted by name then version. Broken or vanishing entries are skipped."""
        ready = []
        for name_dir in self._subdirs(self.root):
            for version_dir in self._subdirs(name_dir):
                try:
                    found = self._read_version(ModelRef(name_dir.name, version_dir.name))
                except RegistryError:
                    continue  # a card being hand-edited or corrupt: not ready
                if found is not None:
                    ready.append(found)
        return ready

    @staticmethod
    def _subdirs(folder: Path) -> list[Path]:
        try:
            entries = sorted(folder.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [e for e in entries if NAME_RE.fullmatch(e.name) and ".." not in e.name and e.is_dir()]

    def register(
        self,
        src_dir: str | Path,
        name: str,
        version: str,
        card: ModelCard,
        progress: Callable[[str], None] | None = None,
    ) -> ModelVersion:
        """Copy ``src_dir`` in as ``name@version``; the same content again is a no-op."""
        ref = ModelRef(name, version)
        src = Path(src_dir)
        card = validate_source(src, card, ref)
        digest = content_digest(src)
        existing = self._existing(ref, digest)
        if existing is not None:
            return existing
        name_dir = self.root / ref.name
        name_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{ref.version}-", dir=name_dir))
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would survive the rename
        try:
            files = version_files(src)
            for i, file in enumerate(files, 1):
                dest = tmp / _relative(file, src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, dest)
                if progress:
                    progress(f"copied {i}/{len(files)}: {file.name}")
            copied, files = record(tmp)
            if copied != digest:
                raise RegistryError(f"{src}: files changed while being copied; retry the registration")
            payload = {**card.model_dump(mode="json"), "digest": digest, "files": files}
            (tmp / CARD_FILE).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            (tmp / CARD_FILE).chmod(READ_ONLY_FILE)
            fsync_tree(tmp)
            try:
                os.rename(tmp, self._version_dir(ref))
            except OSError:
                # Another process registered this version first: same rules as above.
                existing = self._existing(ref, digest)
                if existing is None:
                    raise
                return existing
            read_only_dirs(self._version_dir(ref))
        finally:
            remove_tree(tmp)
        return self.get(ref)

    def _existing(self, ref: ModelRef, digest: str) -> ModelVersion | None:
        path = self._version_dir(ref)
        if not path.exists():
            return None
        found = self._read_version(ref)
        if found is None:
            raise RegistryError(
                f"{path} exists without {CARD_FILE} (a copy in progress or an aborted manual copy); "
                "wait for it or remove the folder"
            )
        if found.digest != digest:
            raise RegistryError(
                f"{ref.key} is already registered with different content (digest {found.digest[:12]}, "
                f"new {digest[:12]}); versions are immutable, register a new version instead"
            )
        return found

    # -- aliases --

    def aliases(self, name: str) -> dict[str, str]:
        file = self.root / validate_name(name) / ALIASES_FILE
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{file}: unreadable aliases: {exc}") from exc
        if not isinstance(data, dict):
            raise RegistryError(f"{file}: expected a JSON object of alias -> version")
        return data

    def resolve(self, name: str, alias: str) -> ModelVersion:
        version = self.aliases(name).get(alias)
        if version is None:
            raise RegistryError(f"{name} has no alias {alias!r} (in {self.root / name / ALIASES_FILE})")
        return self.get(ModelRef(name, version))

    def set_alias(self, name: str, alias: str, version: str, audit: dict[str, Any] | None = None) -> dict:
        """Point ``alias`` at ``version`` (which must be ready) and append the change to audit.jsonl."""
        validate_name(alias, "alias")
        self.get(ModelRef(name, version))
        with self._lock(name):
            current = self.aliases(name)
            entry = {
                "at": datetime.now(UTC).isoformat(),
                "who": audit_user(),
                "action": "set_alias",
                "alias": alias,
                "version": version,
                "previous": current.get(alias),
                **(audit or {}),
            }
            atomic_write_json(self.root / name / ALIASES_FILE, {**current, alias: version})
            with open(self.root / name / AUDIT_FILE, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        return entry

    def audit_log(self, name: str) -> list[dict]:
        file = self.root / validate_name(name) / AUDIT_FILE
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        try:
            return [json.loads(line) for line in lines if line.strip()]
        except ValueError as exc:
            raise RegistryError(f"{file}: corrupt audit line: {exc}") from exc

    @contextmanager
    def _lock(self, name: str):
        # Serialises read-modify-write of aliases.json between processes.
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def validate_source(src: Path, card: ModelCard, ref: ModelRef) -> ModelCard:
    """Check a source before copying: a Hugging Face folder, or a GGUF (file, or folder holding one).
    A GGUF's card runs on llama_cpp unless it names an engine itself (openai: served elsewhere)."""
    try:
        gguf = find_gguf_file(src)
        if gguf is None:
            validate_model_dir(src, allow_pickle=card.allow_pickle)
            return card
        read_gguf(gguf)
    except GgufError as exc:
        raise RegistryError(f"{ref.key}: {exc}") from exc
    if "engine" not in card.model_fields_set:
        return card.model_copy(update={"engine": "llama_cpp"})
    if card.engine == "transformers":
        raise RegistryError(f"{ref.key}: {gguf} is a GGUF; its card must name engine llama_cpp, not transformers")
    return card


def get_registry(settings) -> Registry:
    """The registry backend named in ``settings.registry.backend``."""
    if settings.registry.backend == "folder":
        return FolderRegistry(settings.registry_dir)
    try:
        from slm_assets.core.models.mlflow_registry import MlflowRegistry
    except ModuleNotFoundError as exc:
        raise RegistryError(
            f"{settings.config_path}: registry.backend 'mlflow' needs the mlflow extra "
            f"(pip install 'slm_assets[mlflow]'): {exc}"
        ) from exc
    return MlflowRegistry(settings)
