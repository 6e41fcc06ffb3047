"""What ``baseline_comparison`` does: resolve the baseline, make sure both evaluations exist on
the same golden version, profile both models side by side, compare, write comparison.json."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slm_assets.config import Settings
from slm_assets.core.comparison.compare import (
    compare,
    load_evaluation,
    resolve_baseline,
    speed_from_side_by_side,
)
from slm_assets.core.evaluation.run import EvaluationResult, evaluate_model
from slm_assets.core.golden.store import load_split
from slm_assets.core.io import atomic_write_json
from slm_assets.core.inference.engine_cache import EngineCache, engines_for
from slm_assets.core.profiling.profiler import profile_side_by_side
from slm_assets.core.profiling.version_profile import golden_inputs, memory_probe
from slm_assets.core.evaluation.prompts import build_prompt, effective_task
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelRef, ModelVersion
from slm_assets.core.schema import EXAMPLE_ID, INPUT
from slm_assets.core import layout

Progress = Callable[[str], None] | None


@dataclass
class ComparisonRun:
    result: dict[str, Any]
    path: Path
    evaluated: list[EvaluationResult] = field(default_factory=list)
    """Evaluations this comparison had to (re)run, e.g. a stale baseline's: the Dagster layer
    records each as a materialization of that version's partition."""


def ensure_evaluation(settings: Settings, version: ModelVersion, progress: Progress = None,
                      engines: EngineCache | None = None) -> EvaluationResult | None:
    """Evaluate ``version`` on the current golden set unless a current evaluation is stored."""
    if layout.is_current(settings, "evaluation", version.key, version.digest):
        return None
    if progress:
        progress(f"evaluating {version.key} on golden {settings.golden.version} (missing or stale)")
    return evaluate_model(settings, version, progress=progress, engines=engines)


def side_by_side(settings: Settings, baseline: ModelVersion, candidate: ModelVersion, progress: Progress = None,
                 engines: EngineCache | None = None) -> dict:
    """Both versions, each on its own engine, profiled A B A B on the same golden_test prompts;
    memory from each engine's own measure (a fresh process per version on CPU)."""
    cfg = settings.profiling
    defaults = {"device": settings.evaluation.device}
    with engines_for(engines) as cache:
        loaded = [cache.get(v, defaults=defaults) for v in (baseline, candidate)]
        # One prompt list for both engines: formatted the candidate's way (its card's template).
        task = effective_task(settings.task, candidate.card.prompt_template)
        labels = settings.task_labels()
        prompts = [build_prompt(loaded[1], task, labels, t) for t in golden_inputs(settings, cfg.latency_prompts)]
        probes = [memory_probe(settings, v, prompts, defaults, reuse_stored=True) for v in (baseline, candidate)]
        results = profile_side_by_side(loaded, prompts, cfg, settings.comparison.side_by_side_rounds,
                                       progress=progress, memory_probes=probes)
    speed = speed_from_side_by_side(results[0], results[1])
    speed["summaries"] = {"baseline": results[0]["summary"], "candidate": results[1]["summary"]}
    return speed


def _compare_with_baseline(settings: Settings, candidate: ModelVersion, base_ref, spec: str, progress: Progress,
                           cache: EngineCache, evaluated: list[EvaluationResult]) -> dict[str, Any]:
    """The comparison record; evaluations it had to run are appended to ``evaluated``."""
    registry = get_registry(settings)
    evaluated.append(ensure_evaluation(settings, candidate, progress, cache))
    cand_eval = load_evaluation(settings, candidate.key)
    if base_ref is None:
        if progress:
            progress(f"no baseline for {candidate.key} ({spec!r} resolves to nothing): first model passes")
        result = compare(None, cand_eval, None, settings)
    else:
        baseline = registry.get(base_ref)
        evaluated.append(ensure_evaluation(settings, baseline, progress, cache))
        base_eval = load_evaluation(settings, baseline.key)
        if baseline.key == candidate.key:
            speed = {"notes": dict.fromkeys(("latency_p95_ms", "tokens_per_second", "peak_memory_mb"),
                                            "candidate is the baseline: ratio 1 by definition")}
        else:
            speed = side_by_side(settings, baseline, candidate, progress, cache)
        test = load_split(settings, "test")
        inputs = dict(zip(test[EXAMPLE_ID], test[INPUT], strict=True))
        result = compare(base_eval, cand_eval, speed, settings, inputs=inputs)
        result["side_by_side"] = speed.get("summaries")
    return result


def run_comparison(
    settings: Settings, candidate_key: str, baseline_spec: str | None = None, progress: Progress = None,
    engines: EngineCache | None = None,
) -> ComparisonRun:
    """Evaluate both versions where needed, run the side-by-side speed rounds, compare.
    ``engines``: the run's loaded engines; by default loaded here, each version once."""
    registry = get_registry(settings)
    candidate = registry.get(ModelRef.parse(candidate_key))
    spec = baseline_spec or settings.comparison.baseline
    base_ref = resolve_baseline(registry, candidate.ref, spec)
    evaluated: list[EvaluationResult | None] = []
    with engines_for(engines) as cache:
        result = _compare_with_baseline(settings, candidate, base_ref, spec, progress, cache, evaluated)
    result["baseline_spec"] = spec
    baseline_digest = registry.get(base_ref).digest if base_ref else ""
    result["digests"] = {"candidate": candidate.digest, "baseline": baseline_digest or None}
    result["provenance"] = layout.provenance(settings, "comparison", candidate.digest, baseline_digest=baseline_digest)
    path = atomic_write_json(layout.comparison_file(settings, candidate.key), result)
    return ComparisonRun(result, path, [e for e in evaluated if e is not None])
