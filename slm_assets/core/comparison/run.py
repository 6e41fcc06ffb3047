"""What ``baseline_comparison`` does: resolve the baseline, make sure both evaluations exist on
the same golden version, profile both models side by side, compare, write comparison.json."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slm_assets.config import Settings
from slm_assets.core.comparison.artifacts import is_current, load_evaluation
from slm_assets.core.comparison.baseline import resolve_baseline
from slm_assets.core.comparison.compare import compare
from slm_assets.core.comparison.speed import speed_from_side_by_side, undecided
from slm_assets.core.evaluation.metric_specs import SPEED
from slm_assets.core.evaluation.run import evaluate_model
from slm_assets.core.golden.store import load_split
from slm_assets.core.io import atomic_write_json
from slm_assets.core.models.loading import load_model
from slm_assets.core.profiling.profiler import profile_side_by_side
from slm_assets.core.profiling.version_profile import golden_inputs
from slm_assets.core.evaluation.prompts import build_prompt, effective_task
from slm_assets.core.models.registry import ModelRef, ModelVersion, get_registry
from slm_assets.core.schema import EXAMPLE_ID, INPUT

Progress = Callable[[str], None] | None
COMPARISON_FILE = "comparison.json"


@dataclass
class ComparisonRun:
    result: dict[str, Any]
    path: Path


def comparison_path(settings: Settings, key: str) -> Path:
    return settings.comparisons_dir / ModelRef.parse(key).key / COMPARISON_FILE


def load_comparison(settings: Settings, key: str) -> tuple[Path, dict[str, Any]]:
    """The stored comparison record of ``key`` and where it lies."""
    path = comparison_path(settings, key)
    return path, json.loads(path.read_text(encoding="utf-8"))


def ensure_evaluation(settings: Settings, version: ModelVersion, progress: Progress = None) -> None:
    """Evaluate ``version`` on the current golden set unless a current evaluation is stored."""
    if is_current(settings, version, "evaluation"):
        return
    if progress:
        progress(f"evaluating {version.key} on golden {settings.golden.version} (missing or stale)")
    evaluate_model(settings, version, progress=progress)


def side_by_side(settings: Settings, baseline: ModelVersion, candidate: ModelVersion, progress: Progress = None) -> dict:
    """Both models loaded together and profiled A B A B on the same golden_test prompts."""
    cfg = settings.profiling
    loaded = [load_model(v, device=settings.evaluation.device) for v in (baseline, candidate)]
    # One prompt list for both runners: formatted the candidate's way (its card's template).
    task = effective_task(settings.task, candidate.card.prompt_template)
    labels = settings.task_labels()
    prompts = [build_prompt(loaded[1].tokenizer, task, labels, t) for t in golden_inputs(settings, cfg.latency_prompts)]
    comparison = settings.comparison

    def more_rounds(results: list[dict]) -> bool:
        open_ratios = undecided(speed_from_side_by_side(results[0], results[1]), comparison)
        if open_ratios and progress:
            progress(f"after {results[0]['side_by_side']['rounds']} rounds {', '.join(open_ratios)} undecided: one more round")
        return bool(open_ratios)

    results = profile_side_by_side(loaded, prompts, cfg, comparison.side_by_side_rounds, progress=progress,
                                   more_rounds=more_rounds, max_rounds=comparison.side_by_side_max_rounds)
    speed = speed_from_side_by_side(results[0], results[1])
    speed["rounds"] = results[0]["side_by_side"]["rounds"]
    speed["summaries"] = {"baseline": results[0]["summary"], "candidate": results[1]["summary"]}
    return speed


def run_comparison(
    settings: Settings, candidate_key: str, baseline_spec: str | None = None, progress: Progress = None
) -> ComparisonRun:
    registry = get_registry(settings)
    candidate = registry.get(ModelRef.parse(candidate_key))
    spec = baseline_spec or settings.comparison.baseline
    base_ref = resolve_baseline(registry, candidate.ref, spec)
    ensure_evaluation(settings, candidate, progress)
    cand_eval = load_evaluation(settings, candidate.key)
    if base_ref is None:
        if progress:
            progress(f"no baseline for {candidate.key} ({spec!r} resolves to nothing): first model passes")
        result = compare(None, cand_eval, None, settings)
    else:
        baseline = registry.get(base_ref)
        ensure_evaluation(settings, baseline, progress)
        base_eval = load_evaluation(settings, baseline.key)
        if baseline.key == candidate.key:
            speed = {"notes": {m.name: "candidate is the baseline: ratio 1 by definition" for m in SPEED}}
        else:
            speed = side_by_side(settings, baseline, candidate, progress)
        test = load_split(settings, "test")
        inputs = dict(zip(test[EXAMPLE_ID], test[INPUT], strict=True))
        result = compare(base_eval, cand_eval, speed, settings, inputs=inputs)
        result["side_by_side"] = speed.get("summaries")
    result["baseline_spec"] = spec
    result["digests"] = {"candidate": candidate.digest, "baseline": registry.get(base_ref).digest if base_ref else None}
    path = atomic_write_json(comparison_path(settings, candidate.key), result)
    return ComparisonRun(result, path)
