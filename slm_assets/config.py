"""The one YAML configuration: its schema, its loading, and the paths derived from it.

This is the only place configuration is parsed. Every other module receives a
validated :class:`Settings` object.

Where the file comes from: the ``SLM_CONFIG`` environment variable, else
``configs/default.yaml`` next to the package. Relative paths inside the file are
resolved against the directory of the config file. String values may use
``${VAR}`` or ``${VAR:-default}`` to read environment variables, and the token
``{data_dir}`` for the resolved data directory.

The data directory, first found wins: ``slm-bench --data-dir`` (which sets ``SLM_DATA_DIR``
for the process), ``$SLM_DATA_DIR``, the config's ``data_dir``, then ``data/`` in the project.
``SLM_REGISTRY_DIR`` overrides ``registry.dir`` the same way. The Dagster instance of a config
is ``$DAGSTER_HOME``, else ``.dagster_home/<config file name>`` (:func:`default_dagster_home`).

Over 350 lines on purpose: the whole schema in one module is what `slm-bench config schema`
exports and what every error message points into; each section is a small pydantic model.
"""

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and key."""


class _Strict(BaseModel):
    # NaN and inf compare False with every bound, so they would slip past each ``ge``/``le``;
    # attribute doc strings become field descriptions: the JSON Schema shows them in editors.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)


PositiveInt = Annotated[int, Field(ge=1)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Seed = Annotated[int, Field(ge=0, lt=2**32)]
"""numpy's seeds: non-negative, 32 bits."""


# --------------------------------------------------------------------------- logs


class ColumnMapping(_Strict):
    """How source columns map onto the canonical log schema."""

    input: str | list[str] = "input"
    """One column, or several joined with ``input_separator`` (e.g. title and body)."""
    input_separator: str = "\n\n"
    reference: str | None = None
    timestamp: str | None = None
    id: str | None = None
    strata: list[str] = Field(default_factory=list)
    group: str | None = None
    """Rows sharing this value (customer, session...) always land in one split."""
    split: str | None = None
    """Column carrying a predefined split (``train``/``validation``/``test``)."""
    metadata: list[str] = Field(default_factory=list)

    @property
    def input_columns(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class LogSource(_Strict):
    path: str
    """A file, a folder (every .jsonl/.json/.csv/.parquet inside, sorted) or a glob."""
    format: Literal["auto", "jsonl", "csv", "parquet"] = "auto"
    split: Literal["train", "validation", "test"] | None = None
    """Under the ``predefined`` strategy: every row of this source belongs to this split."""


class TimestampWindow(_Strict):
    """Timestamps a log row may plausibly carry; a row outside is quarantined (``implausible_timestamp``)."""

    not_before: datetime = datetime(1990, 1, 1, tzinfo=timezone.utc)
    not_after: datetime | None = None
    """A fixed upper bound (reproducible re-ingestion of old logs); unset: the ingestion's
    start time plus ``future_days``."""
    future_days: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    """Clock skew tolerated beyond the ingestion's start time when ``not_after`` is unset."""

    @field_validator("not_before", "not_after")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        # A bound without a zone is read as UTC, the zone the canonical timestamps are stored in.
        return v.replace(tzinfo=timezone.utc) if v is not None and v.tzinfo is None else v

    @model_validator(mode="after")
    def _ordered(self) -> "TimestampWindow":
        if self.not_after is not None and self.not_after <= self.not_before:
            raise ValueError("logs.timestamp_window.not_after must be later than not_before")
        return self


class LogsConfig(_Strict):
    sources: list[LogSource] = Field(default_factory=lambda: [LogSource(path="{data_dir}/logs")])
    columns: ColumnMapping = Field(default_factory=ColumnMapping)
    assume_timezone: str | None = None
    """Timestamps without a time zone are quarantined (reason ``naive_timestamp``)
    unless this names the zone to assume, e.g. ``UTC``."""
    max_field_bytes: int = Field(default=1_000_000, gt=0)
    mask_pii: bool = True
    batch_rows: int = Field(default=50_000, gt=0)
    raw_bytes_kept: int = Field(default=4096, ge=0)
    """How much of a quarantined row's raw bytes is kept (its full size and SHA-256 always are)."""
    workers: int = Field(default=0, ge=0)
    """Processes parsing large JSONL files in parallel (0: one per CPU core; 1: all in-process)."""
    timestamp_window: TimestampWindow = Field(default_factory=TimestampWindow)


# ------------------------------------------------------------------------- golden

Strategy = Literal["temporal", "stratified", "temporal+stratified", "predefined"]


class NearDuplicateConfig(_Strict):
    threshold: float = Field(default=0.8, gt=0, le=1)
    """Jaccard similarity of word shingles above which two texts are near-duplicates."""
    num_perm: int = Field(default=128, ge=16)
    shingle_size: int = Field(default=3, ge=1)


class GoldenConfig(_Strict):
    version: str = "v1"
    strategy: Strategy = "stratified"
    fractions: dict[Literal["train", "validation", "test"], Fraction] = Field(
        default_factory=lambda: {"train": 0.7, "validation": 0.1, "test": 0.2}
    )
    max_rows: dict[Literal["train", "validation", "test"], PositiveInt] | None = None
    """Target sizes per split (``temporal+stratified`` samples down to them)."""
    min_per_stratum: int = Field(default=1, ge=0)
    embargo_days: float = Field(default=7.0, ge=0)
    predefined_validation_fraction: float = Field(default=0.0, ge=0, lt=1)
    """Under ``predefined``, when the sources carry no validation rows: the share of the
    predefined train units carved out (stratified, seeded) as validation; 0 keeps it empty."""
    seed: Seed = 13
    near_duplicate: NearDuplicateConfig = Field(default_factory=NearDuplicateConfig)
    label_shift_tolerance: float = Field(default=0.1, gt=0, le=1)
    """Total-variation distance between split label distributions that raises a warning."""
    min_input_chars: int = Field(default=1, ge=0)
    max_input_chars: int = Field(default=200_000, gt=0)

    @field_validator("version")
    @classmethod
    def _safe_version(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", v):
            raise ValueError("must be letters, digits, '.', '_' or '-' (no path separators)")
        return v

    @model_validator(mode="after")
    def _fractions_sum(self) -> "GoldenConfig":
        total = sum(self.fractions.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"golden.fractions must sum to 1, got {total:g}")
        return self


# --------------------------------------------------------------------------- task


class TaskConfig(_Strict):
    name: str = "support-intent-routing"
    type: Literal["classification", "generation"] = "classification"
    labels: list[str] | None = None
    labels_file: str | None = None
    """JSON list of labels (e.g. Banking77's categories.json); used when ``labels`` is unset."""
    instruction: str = "Classify the customer request into exactly one intent label."
    prompt_template: str = (
        "{instruction}\nAllowed labels: {labels}\n\nRequest: {input}\nAnswer with the label only."
    )
    use_chat_template: bool = True
    max_new_tokens: int = Field(default=12, gt=0)
    stop: list[str] = Field(default_factory=lambda: ["\n"])
    max_input_tokens: int = Field(default=384, gt=0)
    """Prompts longer than this are truncated from the left of the input text."""
    hallucination_rule: Literal["none", "input_tokens"] = "none"
    """Generation tasks only: ``input_tokens`` counts an answer with a word absent from the
    input as hallucinated (extraction tasks); ``none`` leaves the rate unreported.
    Classification always counts an answer outside the label set."""


# --------------------------------------------------------------------- evaluation

RobustnessFamily = Literal["paraphrase", "casing", "whitespace_punctuation", "typos", "label_order"]


class RobustnessConfig(_Strict):
    enabled: bool = True
    families: list[RobustnessFamily] = Field(
        default_factory=lambda: ["paraphrase", "casing", "whitespace_punctuation", "typos", "label_order"]
    )
    subset_size: int = Field(default=100, ge=1)
    seed: Seed = 0
    typo_rate: float = Field(default=0.05, ge=0, le=1)


class EvaluationConfig(_Strict):
    batch_size: int = Field(default=8, gt=0)
    max_examples: int | None = Field(default=None, gt=0)
    """Evaluate a stratified subset of golden_test of this size (None: all)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    share_prompt_prefix: bool = True
    """Prefill the prompts' common head (instruction, label list) once per run; off: every batch prefills it."""
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    """A run in which a larger fraction of prompts fails to generate fails, quoting the first error."""
    robustness: RobustnessConfig = Field(default_factory=RobustnessConfig)
    # Excluded from dumps and section hashes: where answers are cached never changes them.
    cache_url: str | None = Field(default=None, exclude=True)
    """A PostgreSQL URL for a prediction cache shared by several machines (``$SLM_CACHE_URL`` wins);
    None: SQLite under ``<data_dir>/cache``, or the instance's PostgreSQL when Dagster runs on one."""


# ---------------------------------------------------------------------- profiling


class ProfilingConfig(_Strict):
    warmup_runs: int = Field(default=3, ge=0)
    latency_prompts: int = Field(default=32, gt=0)
    latency_min_seconds: float = Field(default=10.0, ge=0)
    latency_new_tokens: int = Field(default=16, gt=0)
    batch_sizes: list[PositiveInt] = Field(default_factory=lambda: [1, 4, 8, 16, 32], min_length=1)
    throughput_new_tokens: int = Field(default=32, gt=0)
    repeats: int = Field(default=3, ge=1)
    max_relative_dispersion: float = Field(default=0.1, gt=0)
    """Coefficient of variation above which a figure is flagged as noisy."""
    energy_window_seconds: float = Field(default=10.0, ge=0)
    cpu_watts_per_core: float = Field(default=10.0, gt=0)
    """Power model for CPU energy estimates when RAPL is unreadable (documented in README)."""
    idle_seconds: float = Field(default=3.0, ge=0)
    """Idle power is measured over this window just before the energy window (NVML, RAPL)."""
    bandwidth_test_mb: int = Field(default=256, gt=0)
    """Array size of the memory-bandwidth copy test (the roofline's denominator)."""
    memory_in_fresh_process: bool = True
    """On CPU, measure the engine's peak memory in a fresh spawned process (this process's RSS
    holds earlier work: an evaluation, a fine-tune); off: this process's RSS, labelled as such."""


class SloConfig(_Strict):
    p95_latency_ms: float = Field(default=100.0, gt=0)
    tokens_per_second: float = Field(default=1000.0, gt=0)
    vram_gb: float = Field(default=4.0, gt=0)
    hallucination_rate: Fraction = 0.005
    energy_j_per_inference: float = Field(default=0.5, gt=0)


# --------------------------------------------------------------------- comparison


class Threshold(_Strict):
    direction: Literal["higher_is_better", "lower_is_better"]
    kind: Literal["absolute", "relative", "ratio"] = "absolute"
    max_regression: float = Field(ge=0)
    """How far the metric may move the wrong way: a difference (absolute), a fraction
    of the baseline (relative), or a candidate/baseline ratio bound (ratio)."""


def _default_thresholds() -> dict[str, Threshold]:
    return {
        "accuracy": Threshold(direction="higher_is_better", max_regression=0.02),
        "macro_f1": Threshold(direction="higher_is_better", max_regression=0.03),
        "hallucination_rate": Threshold(direction="lower_is_better", max_regression=0.01),
        "robustness_worst_family_accuracy": Threshold(direction="higher_is_better", max_regression=0.05),
        "robustness_consistency": Threshold(direction="higher_is_better", max_regression=0.05),
        "latency_p95_ms": Threshold(direction="lower_is_better", kind="ratio", max_regression=1.25),
        "tokens_per_second": Threshold(direction="higher_is_better", kind="ratio", max_regression=0.8),
        "peak_memory_mb": Threshold(direction="lower_is_better", kind="ratio", max_regression=1.2),
    }


class ComparisonConfig(_Strict):
    baseline: str = "production"
    """An alias of the candidate's model name, ``previous``, or ``NAME@VERSION``."""
    policy: Literal["significant_regression", "non_inferiority"] = "significant_regression"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    bootstrap_samples: int = Field(default=2000, ge=100)
    thresholds: dict[str, Threshold] = Field(default_factory=_default_thresholds)
    side_by_side_rounds: int = Field(default=2, ge=1)
    """A B A B rounds when profiling candidate and baseline side by side."""
    per_stratum_blocking: bool = True
    """Per-stratum accuracy regressions (Holm-corrected; threshold ``stratum_accuracy``,
    else ``accuracy``) fail the gate; False only flags them."""
    promote_on_pass: bool = False


# ---------------------------------------------------------------- registry & ops


class RegistryConfig(_Strict):
    backend: Literal["folder", "mlflow"] = "folder"
    dir: str | None = None
    """Folder registry root (default ``<data_dir>/registry``; ``SLM_REGISTRY_DIR`` overrides)."""
    mlflow_tracking_uri: str | None = None


class DriftConfig(_Strict):
    """When recent production inputs no longer look like the golden set (``production_drift``)."""

    window_days: float = Field(default=14.0, gt=0)
    """Recent = this many days before the newest logged timestamp."""
    min_recent_rows: int = Field(default=50, ge=1)
    max_label_tv: float = Field(default=0.15, gt=0, le=1)
    max_length_psi: float = Field(default=0.25, gt=0)
    length_mean_ratio_bounds: tuple[float, float] = (0.7, 1.4)
    """Mean input length of recent rows over golden_test's; the mean follows long outliers, hence the wide band."""

    @field_validator("length_mean_ratio_bounds")
    @classmethod
    def _ordered_bounds(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] < v[1]:
            raise ValueError(f"must be two ratios 0 < low < high, got {list(v)}")
        return v
    max_unseen_vocabulary_share: float = Field(default=0.2, gt=0, le=1)
    max_stratum_psi: float = Field(default=0.25, gt=0)


class AlertsConfig(_Strict):
    webhook_url_env: str = "SLM_ALERT_WEBHOOK_URL"
    """Name of the environment variable holding the webhook URL (secrets never live in config)."""
    timeout_seconds: float = Field(default=5.0, gt=0)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    max_changed_answer_rate: float = Field(default=0.0, ge=0, le=1)
    """Nightly re-evaluation: share of answers allowed to change for a frozen model on a frozen set."""


class FinetuneConfig(_Strict):
    """The reference fine-tune (``slm-bench finetune``): answer-token loss, AdamW, best-on-validation."""

    steps: int = Field(default=150, gt=0)
    batch_size: int = Field(default=8, gt=0)
    learning_rate: float = Field(default=5e-5, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_fraction: float = Field(default=0.1, ge=0, lt=1)
    max_length: int = Field(default=192, gt=8)
    """Prompt + answer tokens; longer prompts lose tokens from their left."""
    eval_every: int = Field(default=25, gt=0)
    validation_examples: int = Field(default=64, gt=0)
    patience: int = Field(default=3, ge=1)
    """Stop after this many validations without a better validation loss."""
    seed: Seed = 0
    device: Literal["auto", "cpu", "cuda"] = "cpu"


class MlflowConfig(_Strict):
    enabled: bool = False
    """Log every evaluation, profile and comparison to MLflow (the ``mlflow`` extra)."""
    tracking_uri: str | None = None
    """Default ``$MLFLOW_TRACKING_URI``; a token for a remote server only via ``MLFLOW_TRACKING_TOKEN``."""
    experiment: str = "slm_assets"
    artifact_location: str | None = None
    """Where new experiments keep artifacts; default ``<data_dir>/mlflow-artifacts`` for a local
    (sqlite/file) store, the server's choice for an http(s) one."""


class Settings(_Strict):
    """The validated configuration plus the paths derived from it."""

    config_path: Path
    data_dir: Path
    logs: LogsConfig = Field(default_factory=LogsConfig)
    golden: GoldenConfig = Field(default_factory=GoldenConfig)
    task: TaskConfig = Field(default_factory=TaskConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    profiling: ProfilingConfig = Field(default_factory=ProfilingConfig)
    slo: SloConfig = Field(default_factory=SloConfig)
    comparison: ComparisonConfig = Field(default_factory=ComparisonConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)

    # -- the registry may live outside the data dir; every other path: core/layout.py --
    @property
    def registry_dir(self) -> Path:
        env = os.environ.get("SLM_REGISTRY_DIR")
        if env:
            return Path(env).resolve()
        if self.registry.dir:
            return self._resolve(self.registry.dir)
        return self.data_dir / "registry"

    def _resolve(self, value: str) -> Path:
        value = value.replace("{data_dir}", str(self.data_dir))
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.config_path.parent / path).resolve()

    def resolve_path(self, value: str) -> Path:
        """A path from the config, resolved like every other one (see module doc)."""
        return self._resolve(value)

    def task_labels(self) -> list[str] | None:
        if self.task.labels is not None:
            return list(self.task.labels)
        if self.task.labels_file:
            path = self._resolve(self.task.labels_file)
            try:
                labels = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{self.config_path}: task.labels_file {path}: {exc}") from exc
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise ConfigError(f"{self.config_path}: task.labels_file {path} must hold a JSON list of strings")
            return labels
        return None

    def section_hash(self, *sections: str) -> str:
        """A stable digest of some config sections (what a frozen artifact depends on)."""
        payload = {name: getattr(self, name).model_dump(mode="json") for name in sections}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def default_dagster_home(config_path: str | os.PathLike[str]) -> Path:
    """The Dagster instance folder of a config when ``$DAGSTER_HOME`` is unset: one per config file
    name, as the Makefile derives it, so two configs never share runs, partitions or sensor cursors."""
    return PROJECT_ROOT / ".dagster_home" / Path(config_path).stem


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file (what ``slm-bench config schema`` prints), from the models."""
    schema = Settings.model_json_schema()
    schema["properties"].pop("config_path")
    schema["properties"]["data_dir"] = {
        "type": "string", "description": "output root, relative to the config file (SLM_DATA_DIR wins)",
    }
    schema["required"] = [k for k in schema.get("required", []) if k not in ("config_path", "data_dir")]
    schema["title"] = "slm_assets configuration (SLM_CONFIG)"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _expand_env(value: Any) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            found = os.environ.get(name)
            if found is not None and found != "":
                return found
            if default is None:
                raise ConfigError(f"environment variable {name} is not set (used as ${{{name}}})")
            return default

        return _ENV_PATTERN.sub(repl, value)
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v) for v in value]
    return value


MAX_YAML_VALUES = 100_000
"""Values a config may hold once its aliases are expanded: a real config has a few hundred,
and a kilobyte of nested aliases (an "alias bomb") expands to billions and hangs loading."""


def _expanded_size(path: Path, node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many values ``node`` stands for with every alias expanded (memoised per node)."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise ConfigError(f"{path}: line {node.start_mark.line + 1}: a YAML alias refers to itself (recursive anchor)")
    open_nodes.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    total = 1
    for child in children:
        total += _expanded_size(path, child, sizes, open_nodes)
        if total > MAX_YAML_VALUES:
            raise ConfigError(
                f"{path}: line {node.start_mark.line + 1}: YAML aliases expand to more than {MAX_YAML_VALUES} values "
                "(an alias bomb?); write the values out instead of nesting aliases"
            )
    open_nodes.discard(id(node))
    sizes[id(node)] = total
    return total


def _load_yaml(path: Path, text: str) -> Any:
    """``yaml.safe_load`` that measures the composed document before building it (see MAX_YAML_VALUES)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(path, node, {}, set())
        return loader.construct_document(node)
    except RecursionError as exc:
        raise ConfigError(f"{path}: YAML nested too deeply") from exc
    finally:
        loader.dispose()


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def load_settings(path: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load and validate the configuration.

    ``path`` defaults to ``$SLM_CONFIG`` then ``configs/default.yaml``. ``overrides``
    are merged over the file's top-level sections (used by tests and the CLI).
    """
    config_path = Path(path or os.environ.get("SLM_CONFIG") or DEFAULT_CONFIG).expanduser().resolve()
    try:
        raw = _load_yaml(config_path, config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{config_path}: config file not found (set SLM_CONFIG or pass --config)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: the top level must be a mapping of sections")
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    try:
        raw = _expand_env(raw)
    except ConfigError as exc:
        raise ConfigError(f"{config_path}: {exc}") from exc

    data_dir_value = os.environ.get("SLM_DATA_DIR") or raw.pop("data_dir", None) or str(PROJECT_ROOT / "data")
    raw.pop("data_dir", None)
    data_dir = Path(data_dir_value).expanduser()
    if not data_dir.is_absolute():
        data_dir = (config_path.parent / data_dir).resolve()
    try:
        return Settings(config_path=config_path, data_dir=data_dir, **raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(config_path, exc)) from exc
    except TypeError as exc:
        raise ConfigError(f"{config_path}: {exc}") from exc
