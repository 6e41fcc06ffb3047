"""Profile one registered model version on real golden_test prompts and store ``profile.json``.

What ``hardware_profile`` and ``slm-bench profile`` call: resolve the version, load it on the
engine its card names (once per run, through the run's ``EngineCache``), build prompts from
``golden_test`` (or from given inputs) with the engine's chat template, profile, add the SLO
scorecard, write ``profiles/<name@version>/profile.json`` (``core.layout``) atomically.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from slm_assets.config import Settings
from slm_assets.core.golden.store import load_split
from slm_assets.core.io import atomic_write_json
from slm_assets.core.inference.engine_cache import EngineCache, engines_for
from slm_assets.core.profiling.isolated_memory import measure_in_fresh_process
from slm_assets.core.profiling.profiler import AUTO, MemoryProbe, profile_model
from slm_assets.core.profiling.scorecard import build_scorecard
from slm_assets.core.evaluation.prompts import build_prompt, effective_task
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelRef
from slm_assets.core.schema import CONTENT_HASH, INPUT
from slm_assets.core import layout



@dataclass
class ProfileRun:
    profile: dict
    path: Path


def evaluation_metrics(settings: Settings, key: str) -> dict | None:
    """The evaluation's metrics.json for this version on the current golden set, when it exists."""
    path = layout.metrics_file(settings, ModelRef.parse(key).key)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc


def golden_inputs(settings: Settings, count: int) -> list[str]:
    """``count`` inputs of golden_test, in content-hash order (deterministic, independent of file order)."""
    frame = load_split(settings, "test")
    if frame.empty:
        raise ValueError(f"{layout.golden_dir(settings) / 'test.parquet'}: golden_test is empty; nothing to profile")
    return frame.sort_values(CONTENT_HASH)[INPUT].head(count).tolist()


def memory_probe(settings: Settings, version, prompts: list[str], defaults: dict,
                 reuse_stored: bool = False) -> MemoryProbe:
    """The engine-alone memory of ``version``, measured in a fresh process; with ``reuse_stored``
    (the side-by-side rounds, right after ``hardware_profile``) the figure of its stored profile
    when that one is of the same weights and the same work. None when
    ``profiling.memory_in_fresh_process`` is off."""
    cfg = settings.profiling
    if not cfg.memory_in_fresh_process:
        return None
    stored = _stored_memory(settings, version) if reuse_stored else None
    if stored is not None:
        return lambda: stored
    return lambda: measure_in_fresh_process(version, defaults, prompts, cfg.latency_new_tokens,
                                            cfg.batch_sizes, cfg.throughput_new_tokens)


def _stored_memory(settings: Settings, version) -> dict | None:
    """The fresh-process memory of a current profile of ``version`` (the one staleness rule)."""
    if not layout.is_current(settings, "profile", version.key, version.digest):
        return None
    memory = (layout.read_artifact(layout.profile_file(settings, version.key)) or {}).get("memory") or {}
    return memory if memory.get("method") == "fresh_process" else None


def profile_version(
    settings: Settings,
    key: str,
    inputs: list[str] | None = None,
    device: str | None = None,
    gpu=AUTO,
    progress: Callable[[str], None] | None = None,
    engines: EngineCache | None = None,
) -> ProfileRun:
    cfg = settings.profiling
    version = get_registry(settings).get(ModelRef.parse(key))
    defaults = {"device": device or settings.evaluation.device}
    task = effective_task(settings.task, version.card.prompt_template)
    labels = settings.task_labels()
    texts = inputs if inputs is not None else golden_inputs(settings, cfg.latency_prompts)
    with engines_for(engines) as cache:
        engine = cache.get(version, defaults=defaults)
        prompts = [build_prompt(engine, task, labels, t) for t in texts[: cfg.latency_prompts]]
        profile = profile_model(engine, prompts, cfg, gpu=gpu, progress=progress,
                                memory_probe=memory_probe(settings, version, prompts, defaults))
    profile["model_version"] = {"key": version.key, "digest": version.digest}
    profile["provenance"] = layout.provenance(settings, "profile", version.digest)
    profile["prompts_source"] = "inputs" if inputs is not None else f"golden_test {settings.golden.version}"
    profile["scorecard"] = build_scorecard(profile["summary"], settings.slo, evaluation_metrics(settings, key))
    path = layout.profile_file(settings, ModelRef.parse(key).key)
    atomic_write_json(path, profile)
    return ProfileRun(profile=profile, path=path)
