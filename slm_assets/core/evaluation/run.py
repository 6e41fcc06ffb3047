"""``model_evaluation``'s logic: one model version on golden_test.

Steps: refuse a contaminated model, read the verified golden_test (optionally
a stratified subset), load the version on the engine its card names (once per
run, through the run's ``EngineCache``), build the unperturbed prompts plus the
robustness variants with the engine's chat template, answer the ones the
prediction cache lacks with the engine's batched greedy generation (committed to
the cache per batch), refuse a run with more failed prompts than
``evaluation.max_error_rate``, score, and write ``predictions.parquet`` and
``metrics.json`` atomically under ``evaluations/<name@version>/<golden_version>/``.
"""

import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from slm_assets.config import Settings
from slm_assets.core.evaluation.contamination import ContaminationReport, ensure_not_contaminated
from slm_assets.core.evaluation.answers import clean_output, match_label
from slm_assets.core.inference.base import Generation
from slm_assets.core.inference.engine_cache import EngineCache, engines_for
from slm_assets.core.golden.store import load_split, verified_manifest
from slm_assets.core.io import atomic_write, atomic_write_json
from slm_assets.core.evaluation.metrics import is_grounded, normalize_answer, per_stratum, quality_metrics, robustness_metrics
from slm_assets.core.evaluation.cache import CachedPrediction, CacheKey, open_cache, prompt_hash, settings_hash
from slm_assets.core.evaluation.prompts import build_prompt, effective_task
from slm_assets.core.evaluation.robustness import ORIGINAL, stratified_subset, variant_rng
from slm_assets.core.schema import EXAMPLE_ID, INPUT, REFERENCE, STRATUM
from slm_assets.core import layout

PREDICTIONS_SCHEMA = pa.schema(
    [
        ("example_id", pa.string()),
        ("stratum", pa.string()),
        ("reference", pa.string()),
        ("variant", pa.string()),
        ("prompt_hash", pa.string()),
        ("raw_output", pa.string()),
        ("prediction", pa.string()),
        ("correct", pa.bool_()),
        ("hallucinated", pa.bool_()),
        ("invalid", pa.bool_()),
        ("error", pa.string()),
        ("output_tokens", pa.int64()),
        ("model_digest", pa.string()),
        ("golden_version", pa.string()),
    ]
)


class EvaluationError(RuntimeError):
    """An evaluation whose results cannot be trusted (too many failed prompts)."""


@dataclass
class EvaluationResult:
    metrics: dict
    predictions: pd.DataFrame
    directory: Path
    contamination: ContaminationReport | None

    @property
    def metrics_path(self) -> Path:
        return self.directory / layout.METRICS_FILE

    @property
    def predictions_path(self) -> Path:
        return self.directory / layout.PREDICTIONS_FILE


def evaluation_rows(settings: Settings, test: pd.DataFrame) -> pd.DataFrame:
    """The rows to answer: every evaluated example unperturbed, plus each robustness family
    on a stratified subset (columns: example_id, stratum, reference, input, variant)."""
    cfg = settings.evaluation
    if cfg.max_examples is not None:
        test = stratified_subset(test, cfg.max_examples, cfg.robustness.seed)
    base = test[[EXAMPLE_ID, STRATUM, REFERENCE, INPUT]].reset_index(drop=True)
    parts = [base.assign(variant=ORIGINAL)]
    if cfg.robustness.enabled and cfg.robustness.families:
        subset = stratified_subset(base, cfg.robustness.subset_size, cfg.robustness.seed)
        parts += [subset.assign(variant=family) for family in cfg.robustness.families]
    return pd.concat(parts, ignore_index=True)


def _score(row_output: Generation | CachedPrediction, reference: str, source: str, task_type: str,
           labels: list[str], hallucination_rule: str) -> dict:
    raw = row_output.raw_output if isinstance(row_output, CachedPrediction) else row_output.text
    error = getattr(row_output, "error", None)
    if task_type == "classification":
        label = match_label(raw, labels)
        prediction = label if label is not None else clean_output(raw)
        correct = label is not None and label == reference
        hallucinated = bool(prediction) and label is None
    else:
        prediction = raw.strip()
        correct = normalize_answer(prediction) == normalize_answer(reference)
        hallucinated = hallucination_rule == "input_tokens" and bool(prediction) and not is_grounded(prediction, source)
    invalid = error is None and not prediction
    return {
        "raw_output": raw,
        "prediction": prediction,
        "correct": bool(correct and error is None),
        "hallucinated": bool(hallucinated and error is None),
        "invalid": bool(invalid),
        "error": error,
        "output_tokens": int(row_output.output_tokens),
    }


def check_error_rate(settings: Settings, version, rows: pd.DataFrame, outputs: list) -> None:
    """Raise ``EvaluationError`` when more than ``evaluation.max_error_rate`` of the prompts failed:
    metrics over failed generations would measure the failures, not the model."""
    failed = [i for i, out in enumerate(outputs) if getattr(out, "error", None)]
    limit = settings.evaluation.max_error_rate
    if failed and len(failed) > limit * len(outputs):
        first = failed[0]
        raise EvaluationError(
            f"{version.key}: {len(failed)} of {len(outputs)} prompts failed to generate "
            f"({len(failed) / len(outputs):.1%} > evaluation.max_error_rate {limit:.1%}); first error, "
            f"example {rows[EXAMPLE_ID].iloc[first]} ({rows['variant'].iloc[first]}): {outputs[first].error}"
        )


def _progress_reporter(say: Callable[[str], None], total: int, show_progress: bool):
    """``progress(done, total, seconds)`` for the engine: a log line every 10 s and a tqdm bar."""
    bar = tqdm(total=total, desc="generate", unit="ex", disable=not show_progress)
    last = {"done": 0, "seconds": 0.0}

    def report(done: int, total: int, seconds: float) -> None:
        bar.update(done - last["done"])
        last["done"] = done
        if done == total or seconds - last["seconds"] >= 10:  # a log line every 10 s, not every batch
            last["seconds"] = seconds
            say(f"generated {done}/{total} ({done / max(seconds, 1e-9):.2f} examples/s)")

    return report, bar


_NOT_CHECKED = object()


def evaluate_model(
    settings: Settings,
    version,
    progress: Callable[[str], None] | None = None,
    show_progress: bool = True,
    contamination=_NOT_CHECKED,
    refresh_cache: bool = False,
    engines: EngineCache | None = None,
) -> EvaluationResult:
    """Evaluate a registry ``ModelVersion`` on golden_test and write its artifacts.

    ``contamination``: a clean report (or None) from a contamination check the
    caller already ran; by default the check runs here and raises ``ContaminationError``.
    ``refresh_cache``: generate every answer even when cached (the cache keeps its first answers).
    ``engines``: the run's loaded engines (a run loads each version once); by default the
    engine is loaded here and closed at the end.
    """
    with engines_for(engines) as cache:
        engine = cache.get(version, defaults={"device": settings.evaluation.device})
        return _evaluate(settings, version, engine, progress or (lambda message: None), show_progress,
                         contamination, refresh_cache)


def _evaluate(settings, version, engine, say, show_progress, contamination, refresh_cache) -> EvaluationResult:
    started = time.perf_counter()
    manifest = verified_manifest(settings)  # the whole version, not only the split read below
    test = load_split(settings, "test")
    if contamination is _NOT_CHECKED:
        contamination = ensure_not_contaminated(settings, version.card, test)
    task = effective_task(settings.task, version.card.prompt_template)
    labels = settings.task_labels()
    if task.type == "classification" and not labels:
        raise ValueError(f"{settings.config_path}: task.labels (or task.labels_file) is required for classification")
    rows = evaluation_rows(settings, test)

    facts = engine.facts()
    say(f"loaded {version.key} on {facts.engine} ({facts.format}, {facts.precision}, {facts.device}) "
        f"in {facts.load_seconds:.1f}s; {len(rows)} prompts")
    typo_rate = settings.evaluation.robustness.typo_rate
    seed = settings.evaluation.robustness.seed
    prompts = [
        build_prompt(engine, task, labels, text, variant, variant_rng(seed, ex_id, variant), typo_rate)
        for ex_id, text, variant in zip(rows[EXAMPLE_ID], rows[INPUT], rows["variant"])
    ]
    generation_settings = {
        "max_new_tokens": task.max_new_tokens,
        "stop": list(task.stop),
        "add_special_tokens": False,
        "decoding": "greedy",
        "engine": facts.engine,
        "format": facts.format,
        "precision": facts.precision,
    }
    s_hash = settings_hash(**generation_settings)
    keys = [
        CacheKey(version.digest, prompt_hash(p), s_hash, str(ex_id), variant)
        for p, ex_id, variant in zip(prompts, rows[EXAMPLE_ID], rows["variant"])
    ]
    cache = open_cache(settings)
    outputs: list[Generation | CachedPrediction | None] = [None] * len(rows)
    cached = {} if refresh_cache else cache.get_many(keys)
    for i, key in enumerate(keys):
        outputs[i] = cached.get(key)
    missing = [i for i, out in enumerate(outputs) if out is None]
    say(f"{len(rows) - len(missing)} answers from the cache, {len(missing)} to generate")

    def commit(batch_indices: list[int], generations: list[Generation]) -> None:
        cache.put_many(
            (keys[missing[j]], CachedPrediction(g.text, g.output_tokens))
            for j, g in zip(batch_indices, generations)
            if g.error is None
        )

    report, bar = _progress_reporter(say, len(missing), show_progress)
    generation_started = time.perf_counter()
    try:
        generated = engine.generate_until(
            [prompts[i] for i in missing],
            max_new_tokens=task.max_new_tokens,
            stop=task.stop,
            batch_size=settings.evaluation.batch_size,
            share_prefix=settings.evaluation.share_prompt_prefix,
            groups=[rows["variant"].iloc[i] for i in missing],  # each robustness family has its own prompt head
            on_batch=commit,
            progress=report,
        )
    finally:
        bar.close()
    generation_seconds = time.perf_counter() - generation_started
    facts = engine.facts()  # now with what generation found out (e.g. a shared head that fell back)
    if "shared_prefix" in facts.details:
        say(f"shared prompt head: {facts.details['shared_prefix']}")
    for i, g in zip(missing, generated):
        outputs[i] = g
    check_error_rate(settings, version, rows, outputs)

    scored = [
        _score(out, ref, src, task.type, labels or [], task.hallucination_rule)
        for out, ref, src in zip(outputs, rows[REFERENCE], rows[INPUT])
    ]
    predictions = pd.concat(
        [rows[[EXAMPLE_ID, STRATUM, REFERENCE, "variant"]].reset_index(drop=True), pd.DataFrame(scored)], axis=1
    )
    predictions.insert(4, "prompt_hash", [k.prompt_hash for k in keys])
    predictions["model_digest"] = version.digest
    predictions["golden_version"] = manifest.version

    original = predictions[predictions["variant"] == ORIGINAL]
    in_subset = predictions["example_id"].isin(predictions.loc[predictions["variant"] != ORIGINAL, "example_id"])
    report_hallucination = task.type == "classification" or task.hallucination_rule != "none"
    quality = quality_metrics(original, task.type, report_hallucination)
    robustness = robustness_metrics(predictions[in_subset | (predictions["variant"] != ORIGINAL)])
    generated_tokens = sum(g.output_tokens for g in generated)
    total_seconds = time.perf_counter() - started
    metrics = {
        "model": version.key,
        "model_digest": version.digest,
        "golden_version": manifest.version,
        "task": task.name,
        "task_type": task.type,
        "task_hash": settings.section_hash("task"),  # two evaluations are comparable only on one task
        "provenance": layout.provenance(settings, "evaluation", version.digest),
        **quality,
        "per_stratum": per_stratum(original),
        "robustness": robustness,
        "robustness_worst_family": robustness["worst_family"],
        "robustness_worst_family_accuracy": robustness["worst_family_accuracy"],
        "robustness_consistency": robustness["consistency"],
        "contamination": contamination.to_dict() if contamination else None,
        "generation": {**generation_settings, "batch_size": settings.evaluation.batch_size, "device": facts.device},
        "engine": asdict(facts),
        "n_prompts": len(rows),
        "cached_examples": len(rows) - len(missing),
        "generated_examples": len(missing),
        "timings": {
            "total_seconds": total_seconds,
            "load_seconds": facts.load_seconds,
            "generation_seconds": generation_seconds,
            "examples_per_second": len(missing) / generation_seconds if missing else None,
            "output_tokens_per_second": generated_tokens / generation_seconds if missing else None,
        },
        "environment": {"python": platform.python_version(), "machine": platform.machine()},
    }
    directory = layout.evaluation_dir(settings, version.key, manifest.version)
    table = pa.Table.from_pandas(predictions, schema=PREDICTIONS_SCHEMA, preserve_index=False)
    atomic_write(directory / layout.PREDICTIONS_FILE, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    atomic_write_json(directory / layout.METRICS_FILE, metrics)
    say(f"accuracy {quality['accuracy']:.3f} on {quality['n_examples']} examples; wrote {directory}")
    return EvaluationResult(metrics=metrics, predictions=predictions, directory=directory, contamination=contamination)
