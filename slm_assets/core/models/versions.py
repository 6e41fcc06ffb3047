"""What a registered model version is, whatever the backend: references, cards, versions, the
backend protocol. Backends (``registry.FolderRegistry``, ``mlflow_registry.MlflowRegistry``) import
this module and never each other.
"""

import getpass
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slm_assets.core.models.integrity import changed_files
from slm_assets.core.models.loading import ModelLoadError

# Letters, digits, '.', '_' and '-', starting with a letter or digit: no '/', no '@',
# no leading dot (hidden temp folders), and '..' is refused separately.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_KEY_CHARS = 200
"""``NAME@VERSION`` is one path component (evaluations/<key>/, reports/<key>/, temp names around
it): with room for those prefixes and suffixes it stays under the 255-byte file-name limit."""


class RegistryError(RuntimeError):
    """A registry operation that cannot proceed; the message says which model and file."""


class ModelChangedError(RegistryError):
    """A registered version's files differ from what was registered (never evaluated, profiled or compared)."""


def validate_name(value: str, what: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.fullmatch(value) or ".." in value:
        raise RegistryError(
            f"invalid model {what} {value!r}: use letters, digits, '.', '_' or '-' "
            "(start with a letter or digit, at most 128 characters, no '/', '@' or '..')"
        )
    return value


@dataclass(frozen=True, order=True)
class ModelRef:
    name: str
    version: str

    def __post_init__(self) -> None:
        validate_name(self.name, "name")
        validate_name(self.version, "version")
        if len(self.name) + 1 + len(self.version) > MAX_KEY_CHARS:
            raise RegistryError(
                f"invalid model reference {self.name[:40]}...@{self.version[:40]}...: NAME@VERSION has "
                f"{len(self.name) + 1 + len(self.version)} characters, at most {MAX_KEY_CHARS} (it names folders)"
            )

    @classmethod
    def parse(cls, text: str) -> "ModelRef":
        name, sep, version = str(text).partition("@")
        if not sep:
            raise RegistryError(f"invalid model reference {text!r}: expected NAME@VERSION")
        return cls(name, version)

    @property
    def key(self) -> str:
        """``NAME@VERSION``: the partition key and the folder names under evaluations/, profiles/..."""
        return f"{self.name}@{self.version}"

    def __str__(self) -> str:
        return self.key


class TrainingDataRef(BaseModel):
    """What a model was trained on: a golden version's split, or a file."""

    model_config = ConfigDict(extra="forbid")
    golden_version: str | None = None
    split: Literal["train", "validation", "test"] = "train"
    path: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "TrainingDataRef":
        if (self.golden_version is None) == (self.path is None):
            raise ValueError("give exactly one of golden_version (with split) or path")
        return self


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str
    prompt_template: str | None = None
    base_model: str | None = None
    """``NAME@VERSION`` of a registered model, or free text (e.g. a hub id)."""
    training_data: TrainingDataRef | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    allow_pickle: bool = False
    engine: Literal["transformers", "llama_cpp", "openai"] = "transformers"
    """The runtime that serves this version (``core.inference``); evaluated and profiled on it."""
    engine_options: dict[str, Any] = Field(default_factory=dict)
    """That engine's typed options (dtype, threads, base URL...), validated when the engine loads."""
    description: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)


def read_card(path: str | Path) -> ModelCard:
    """A card from a JSON file (a registry card.json works too: its stored digest is ignored)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        data.pop("digest", None)
        data.pop("files", None)
        return ModelCard.model_validate(data)
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        raise RegistryError(f"{path}: invalid model card: {exc}") from exc


@dataclass(frozen=True)
class ModelVersion:
    ref: ModelRef
    path: Path
    card: ModelCard
    digest: str
    """sha256 over the model files (card.json excluded), computed once at registration."""
    files: dict[str, dict[str, Any]] | None = field(default=None, compare=False, repr=False)
    """Per file, as registered: size, mtime_ns, sha256 (None for versions registered before it was kept)."""

    @property
    def key(self) -> str:
        return self.ref.key

    def verify(self) -> None:
        """Raise ``RegistryError`` naming the files that changed since registration (see integrity)."""
        try:
            actual, changed = changed_files(self.path, self.digest, self.files)
        except (OSError, ModelLoadError) as exc:
            raise ModelChangedError(f"{self.key}: {exc}; versions are immutable, register a new version instead") from exc
        if not changed:
            return
        named = ", ".join(str(self.path / rel) for rel in changed)
        raise ModelChangedError(
            f"{self.key}: content changed since registration ({named}; digest {actual[:12]} != "
            f"{self.digest[:12]}); versions are immutable: restore the files or register a new version"
        )


def audit_user() -> str:
    for var in ("SLM_AUDIT_USER", "GITHUB_ACTOR", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"




class Registry(Protocol):
    """What the sensor, the jobs, the gate and the CLI need from a registry backend."""

    def get(self, ref: "ModelRef | str") -> ModelVersion: ...

    def list_ready(self) -> list[ModelVersion]: ...

    def register(self, src_dir: str | Path, name: str, version: str, card: ModelCard,
                 progress: Any = None) -> ModelVersion: ...

    def aliases(self, name: str) -> dict[str, str]: ...

    def resolve(self, name: str, alias: str) -> ModelVersion: ...

    def set_alias(self, name: str, alias: str, version: str, audit: dict[str, Any] | None = None) -> dict: ...

    def audit_log(self, name: str) -> list[dict]: ...
