"""Candidate against baseline: paired quality tests, side-by-side speed ratios, one verdict.

Quality metrics are recomputed from both models' per-example predictions on
the same golden examples, so every delta is paired (McNemar exact, paired
bootstrap). Speed and memory come from one side-by-side run of both models
(A B A B), compared as candidate/baseline ratios, never against a stored
absolute figure from another run.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from slm_assets.config import Settings, Threshold
from slm_assets.core.comparison import stats
from slm_assets.core import layout
from slm_assets.core.markdown import md_escape

ORIGINAL = "original"
SPEED_METRICS = ("latency_p95_ms", "tokens_per_second", "peak_memory_mb")
EXCERPT_CHARS = 160


class ComparisonError(ValueError):
    """Two evaluations that cannot be compared (different golden set, task, or no shared examples)."""


@dataclass
class EvaluationArtifacts:
    """What one model's evaluation left on disk: metrics.json, predictions.parquet, profile scorecard."""

    key: str  # NAME@VERSION
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    scorecard: dict[str, Any] | None = None
    source: str = ""  # the folder it was read from, for error messages


def load_evaluation(settings: Settings, key: str, golden_version: str | None = None) -> EvaluationArtifacts:
    folder = layout.evaluation_dir(settings, key, golden_version)
    metrics_path, predictions_path = folder / layout.METRICS_FILE, folder / layout.PREDICTIONS_FILE
    for path in (metrics_path, predictions_path):
        if not path.is_file():
            raise ComparisonError(f"{path}: missing; materialize model_evaluation for {key} first")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ComparisonError(f"{metrics_path}: not valid JSON: {exc}") from exc
    predictions = pd.read_parquet(predictions_path)
    missing = {"example_id", "variant", "correct", "prediction", "reference"} - set(predictions.columns)
    if missing:
        raise ComparisonError(f"{predictions_path}: missing columns {sorted(missing)}")
    profile_path = layout.profile_file(settings, key)
    scorecard = None
    if profile_path.is_file():
        scorecard = json.loads(profile_path.read_text(encoding="utf-8")).get("scorecard")
    return EvaluationArtifacts(key, metrics, predictions, scorecard, source=str(folder))


# ----------------------------------------------------------------- decisions


@dataclass
class Row:
    metric: str
    baseline: float | None
    candidate: float | None
    delta: float | None = None  # candidate - baseline (absolute/relative thresholds)
    ratio: float | None = None  # candidate / baseline (ratio thresholds)
    ci: list[float] | None = None  # CI of the delta, or range of per-round ratios
    p_value: float | None = None
    threshold: dict[str, Any] | None = None
    status: str = "pass"  # pass | regression | improvement | n/a
    n: int | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "extra"}
        out.update(self.extra)
        return out


def _allowed_move(threshold: Threshold, baseline: float) -> float:
    if threshold.kind == "relative":
        return threshold.max_regression * abs(baseline)
    return threshold.max_regression


def decide(row: Row, threshold: Threshold | None, policy: str, alpha: float) -> Row:
    """Set ``row.status`` from its threshold and test (see module doc and README)."""
    if threshold is None or row.baseline is None or row.candidate is None:
        row.status = "n/a" if row.candidate is None or row.baseline is None else "pass"
        return row
    row.threshold = threshold.model_dump()
    higher = threshold.direction == "higher_is_better"
    if threshold.kind == "ratio":
        ratio = row.ratio
        if ratio is None:
            row.status = "n/a"
            return row
        limit = threshold.max_regression
        beyond = (lambda x: x < limit) if higher else (lambda x: x > limit)
        worse = beyond(ratio)
        if row.ci:
            # Per-round ratios of the interleaved run: "real" means every round agrees;
            # non-inferiority fails as soon as any round crosses the bound.
            best_round, worst_round = (row.ci[1], row.ci[0]) if higher else (row.ci[0], row.ci[1])
            worse = worse and beyond(best_round) if policy == "significant_regression" else beyond(worst_round)
        better = ratio > 1 if higher else ratio < 1
        row.status = "regression" if worse else ("improvement" if better and row.ci and _ci_clear_of_one(row.ci, higher) else "pass")
        return row
    allowed = _allowed_move(threshold, row.baseline)
    wrong_way = -row.delta if higher else row.delta
    significant = row.p_value is not None and row.p_value < alpha
    if policy == "non_inferiority" and row.ci is not None:
        # The whole CI must stay within the margin: its worst bound decides.
        worst_bound = -row.ci[0] if higher else row.ci[1]
        worse = worst_bound > allowed + 1e-12
    else:
        worse = wrong_way > allowed + 1e-12 and significant
    if worse:
        row.status = "regression"
    elif significant and wrong_way < 0:
        row.status = "improvement"
    else:
        row.status = "pass"
    return row


def _ci_clear_of_one(ci: list[float], higher: bool) -> bool:
    return ci[0] > 1 if higher else ci[1] < 1


# ------------------------------------------------------------------ pairing


def _paired_originals(base: EvaluationArtifacts, cand: EvaluationArtifacts) -> tuple[pd.DataFrame, dict[str, int]]:
    def originals(art: EvaluationArtifacts) -> pd.DataFrame:
        frame = art.predictions[art.predictions["variant"] == ORIGINAL]
        dup = frame["example_id"].duplicated()
        if dup.any():
            raise ComparisonError(
                f"{art.source}/predictions.parquet: example_id {frame['example_id'][dup].iloc[0]!r} "
                "appears twice for variant 'original'"
            )
        return frame.set_index("example_id")

    b, c = originals(base), originals(cand)
    shared = b.index.intersection(c.index, sort=False)
    counts = {"baseline_only": int(len(b.index.difference(c.index))), "candidate_only": int(len(c.index.difference(b.index)))}
    if len(shared) == 0:
        raise ComparisonError(f"{base.key} and {cand.key} share no evaluated example (same golden set and subset?)")
    cols = ["stratum", "reference", "prediction", "correct", "hallucinated"]
    outcome = [x for x in ("prediction", "correct", "hallucinated") if x in c.columns]
    paired = b.loc[shared, [x for x in cols if x in b.columns]].rename(columns={x: f"{x}_b" for x in outcome})
    paired = paired.join(c.loc[shared, outcome].rename(columns={x: f"{x}_c" for x in outcome}))
    return paired.reset_index(), counts


def _bool(series: pd.Series | None, n: int) -> np.ndarray:
    if series is None:
        return np.zeros(n, dtype=bool)
    return series.fillna(False).astype(bool).to_numpy()


def encode_labels(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Integer codes shared across columns (resampling integer arrays is far cheaper than strings)."""
    _, codes = np.unique(np.concatenate(columns), return_inverse=True)
    return tuple(np.split(codes, np.cumsum([len(c) for c in columns[:-1]])))


def macro_f1(ref: np.ndarray, pred: np.ndarray) -> float:
    """Macro F1 over the label codes seen in references or predictions (as sklearn's default)."""
    k = int(max(ref.max(initial=-1), pred.max(initial=-1))) + 1
    present = np.bincount(np.concatenate([ref, pred]), minlength=k) > 0
    tp = np.bincount(ref[ref == pred], minlength=k)
    support = np.bincount(ref, minlength=k)
    predicted = np.bincount(pred, minlength=k)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


# ------------------------------------------------------------------ quality


def _binary_row(name: str, b: np.ndarray, c: np.ndarray, cfg) -> Row:
    test = stats.mcnemar_exact(b, c)
    boot = stats.paired_bootstrap(
        lambda idx: c[idx].mean() - b[idx].mean(), len(b), cfg.bootstrap_samples, seed=0, alpha=cfg.alpha
    )
    return Row(
        name,
        float(b.mean()),
        float(c.mean()),
        delta=boot.delta,
        ci=[boot.ci_low, boot.ci_high],
        p_value=test.p_value,
        n=len(b),
        extra={"test": "mcnemar_exact", "improved": test.improved, "worsened": test.worsened},
    )


def _quality_rows(paired: pd.DataFrame, base: EvaluationArtifacts, cand: EvaluationArtifacts, settings: Settings) -> list[Row]:
    cfg = settings.comparison
    n = len(paired)
    rows = [_binary_row("accuracy", _bool(paired["correct_b"], n), _bool(paired["correct_c"], n), cfg)]

    ref, pb, pc = encode_labels(
        paired["reference"].astype(str).to_numpy(),
        paired["prediction_b"].fillna("").astype(str).to_numpy(),
        paired["prediction_c"].fillna("").astype(str).to_numpy(),
    )
    boot = stats.paired_bootstrap(
        lambda idx: macro_f1(ref[idx], pc[idx]) - macro_f1(ref[idx], pb[idx]), n, cfg.bootstrap_samples, seed=1, alpha=cfg.alpha
    )
    rows.append(
        Row("macro_f1", macro_f1(ref, pb), macro_f1(ref, pc), delta=boot.delta, ci=[boot.ci_low, boot.ci_high],
            p_value=boot.p_value, n=n, extra={"test": "paired_bootstrap"})
    )
    rows.append(
        _binary_row("hallucination_rate", _bool(paired.get("hallucinated_b"), n), _bool(paired.get("hallucinated_c"), n), cfg)
    )
    rows.extend(_robustness_rows(base, cand, settings))
    return rows


def _variant_frame(art: EvaluationArtifacts) -> pd.DataFrame:
    """Variant rows with whether each kept the same answer as the unperturbed prompt."""
    preds = art.predictions
    original = preds[preds["variant"] == ORIGINAL].set_index("example_id")["prediction"]
    variants = preds[preds["variant"] != ORIGINAL][["example_id", "variant", "prediction", "correct"]].copy()
    variants["consistent"] = variants["prediction"].to_numpy() == variants["example_id"].map(original).to_numpy()
    dup = variants.duplicated(["example_id", "variant"])
    if dup.any():
        raise ComparisonError(f"{art.source}/predictions.parquet: duplicate (example_id, variant) rows")
    return variants.set_index(["example_id", "variant"])


def _robustness_rows(base: EvaluationArtifacts, cand: EvaluationArtifacts, settings: Settings) -> list[Row]:
    cfg = settings.comparison
    vb, vc = _variant_frame(base), _variant_frame(cand)
    shared = vb.index.intersection(vc.index, sort=False)
    if len(shared) == 0:
        return [
            Row("robustness_worst_family_accuracy", None, None, note="no shared robustness variants"),
            Row("robustness_consistency", None, None, note="no shared robustness variants"),
        ]
    vb, vc = vb.loc[shared], vc.loc[shared]
    # Worst family: an example x family matrix per model, resampled by example (pairs kept).
    cb = vb["correct"].astype(float).unstack("variant")
    cc = vc["correct"].astype(float).unstack("variant").reindex(index=cb.index, columns=cb.columns)
    mb, mc = cb.to_numpy(), cc.to_numpy()

    def worst(mat: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(np.nanmin(np.nanmean(mat, axis=0)))

    boot = stats.paired_bootstrap(lambda idx: worst(mc[idx]) - worst(mb[idx]), len(mb), cfg.bootstrap_samples, seed=2, alpha=cfg.alpha)
    fam_b = dict(zip(cb.columns, np.nanmean(mb, axis=0).round(6).tolist(), strict=True))
    fam_c = dict(zip(cb.columns, np.nanmean(mc, axis=0).round(6).tolist(), strict=True))
    worst_row = Row(
        "robustness_worst_family_accuracy", worst(mb), worst(mc), delta=boot.delta, ci=[boot.ci_low, boot.ci_high],
        p_value=boot.p_value, n=len(mb),
        extra={"test": "paired_bootstrap", "worst_family_baseline": min(fam_b, key=fam_b.get),
               "worst_family_candidate": min(fam_c, key=fam_c.get), "families_baseline": fam_b, "families_candidate": fam_c},
    )
    consistency = _binary_row(
        "robustness_consistency", vb["consistent"].to_numpy(dtype=bool), vc["consistent"].to_numpy(dtype=bool), cfg
    )
    return [worst_row, consistency]


def _stratum_rows(paired: pd.DataFrame, settings: Settings) -> list[Row]:
    cfg = settings.comparison
    if "stratum" not in paired.columns:
        return []
    groups = list(paired.groupby("stratum", sort=True))
    if len(groups) < 2:
        return []  # one stratum is the overall accuracy already
    # Bonferroni-level CIs per stratum keep the family-wise level for the non-inferiority policy.
    level = cfg.alpha / len(groups)
    rows = []
    for stratum, frame in groups:
        b, c = _bool(frame["correct_b"], len(frame)), _bool(frame["correct_c"], len(frame))
        test = stats.mcnemar_exact(b, c)
        boot = stats.paired_bootstrap(lambda idx: c[idx].mean() - b[idx].mean(), len(b), cfg.bootstrap_samples, seed=3, alpha=level)
        rows.append(
            Row(f"accuracy[{stratum}]", float(b.mean()), float(c.mean()), delta=boot.delta, ci=[boot.ci_low, boot.ci_high],
                p_value=test.p_value, n=len(b),
                extra={"test": "mcnemar_exact+holm", "p_value_raw": test.p_value, "stratum": stratum,
                       "improved": test.improved, "worsened": test.worsened})
        )
    for row, adjusted in zip(rows, stats.holm([r.p_value for r in rows]), strict=True):
        row.p_value = adjusted
    return rows


# -------------------------------------------------------------------- speed


def _per_round_tokens_per_second(result: dict[str, Any], batch_size: int | None) -> list[float]:
    batch = next((b for b in result["throughput"]["batches"] if b["batch_size"] == batch_size), None)
    if batch is None:
        best = result["summary"].get("tokens_per_second")
        return [] if best is None else [best]
    return [batch["output_tokens"] / s for s in batch["seconds"] if s > 0]


def speed_from_side_by_side(baseline: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    """Per-round figures of both models from ``profile_side_by_side`` (one result per model).

    Throughput is taken at the baseline's best batch size for both, so the ratio compares
    like with like. Memory: torch peak allocated on a GPU; on CPU process RSS is shared by
    both loaded models, so the weights' size stands in (said in the row's note).
    """
    batch_size = baseline["throughput"]["best_batch_size"]
    on_gpu = baseline["summary"].get("gpu_peak_allocated_mb") is not None

    def figures(result: dict[str, Any]) -> dict[str, list[float]]:
        memory = result["summary"]["gpu_peak_allocated_mb"] if on_gpu else result["model"].get("size_mb")
        return {
            "latency_p95_ms": [r["p95_ms"] for r in result["latency"]["rounds"]],
            "tokens_per_second": _per_round_tokens_per_second(result, batch_size),
            "peak_memory_mb": [] if memory is None else [memory],
        }

    return {
        "baseline": figures(baseline),
        "candidate": figures(candidate),
        "notes": {
            "tokens_per_second": f"batch size {batch_size}",
            "peak_memory_mb": "torch peak allocated" if on_gpu else "CPU: weights size (process RSS is shared)",
        },
    }


def _speed_rows(speed: dict[str, dict[str, list[float]]] | None) -> list[Row]:
    """``speed = {"baseline": {metric: [per round]}, "candidate": {...}}`` from one side-by-side run."""
    rows = []
    notes = (speed or {}).get("notes", {})
    for metric in SPEED_METRICS:
        b = [x for x in (speed or {}).get("baseline", {}).get(metric, []) if x is not None]
        c = [x for x in (speed or {}).get("candidate", {}).get(metric, []) if x is not None]
        if not b or not c or np.median(b) <= 0:
            rows.append(Row(metric, float(np.median(b)) if b else None, float(np.median(c)) if c else None,
                            note=notes.get(metric, "not measured side by side")))
            continue
        mb, mc = float(np.median(b)), float(np.median(c))
        per_round = [ci / bi for bi, ci in zip(b, c, strict=False) if bi > 0]
        rows.append(Row(metric, mb, mc, ratio=mc / mb, ci=[min(per_round), max(per_round)] if per_round else None,
                        n=len(per_round), note=notes.get(metric, ""), extra={"test": "side_by_side_ratio"}))
    return rows


# ---------------------------------------------------------------- flipped


def _flipped(paired: pd.DataFrame, inputs: dict[str, str] | None) -> dict[str, Any]:
    b, c = _bool(paired["correct_b"], len(paired)), _bool(paired["correct_c"], len(paired))

    def listing(mask: np.ndarray) -> list[dict[str, Any]]:
        out = []
        for rec in paired[mask].itertuples(index=False):
            text = (inputs or {}).get(rec.example_id)
            out.append({
                "example_id": rec.example_id,
                "stratum": getattr(rec, "stratum", None),
                "reference": rec.reference,
                "input": None if text is None else (text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"),
                "baseline_prediction": rec.prediction_b,
                "candidate_prediction": rec.prediction_c,
            })
        return out

    return {"right_to_wrong": listing(b & ~c), "wrong_to_right": listing(~b & c)}


# -------------------------------------------------------------------- main


def _check_comparable(base: EvaluationArtifacts, cand: EvaluationArtifacts) -> None:
    for key, what in (("golden_version", "golden-set versions"), ("task_hash", "task configurations")):
        vb, vc = base.metrics.get(key), cand.metrics.get(key)
        if vb != vc:
            raise ComparisonError(
                f"cannot compare {cand.key} with {base.key}: different {what} ({key} {vc!r} vs {vb!r}); "
                f"evaluate both on the same golden set and task config"
            )


def compare(
    baseline: EvaluationArtifacts | None,
    candidate: EvaluationArtifacts,
    speed: dict[str, dict[str, list[float]]] | None,
    settings: Settings,
    inputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The comparison record written to comparisons/<key>/comparison.json (see README for fields)."""
    cfg = settings.comparison
    result: dict[str, Any] = {
        "candidate": candidate.key,
        "baseline": baseline.key if baseline else None,
        "baseline_spec": cfg.baseline,
        "golden_version": candidate.metrics.get("golden_version"),
        "task_hash": candidate.metrics.get("task_hash"),
        "policy": cfg.policy,
        "alpha": cfg.alpha,
        "created_at": datetime.now(UTC).isoformat(),
        "scorecards": {"baseline": baseline.scorecard if baseline else None, "candidate": candidate.scorecard},
    }
    if baseline is None:
        rows = [Row(m, None, candidate.metrics.get(m), status="n/a", note="no baseline")
                for m in ("accuracy", "macro_f1", "hallucination_rate")]
        return {**result, "verdict": "no_baseline", "rows": [r.to_dict() for r in rows], "regressions": [],
                "paired_examples": 0, "unpaired": {}, "flipped": {"right_to_wrong": [], "wrong_to_right": []}}
    _check_comparable(baseline, candidate)
    paired, unpaired = _paired_originals(baseline, candidate)
    thresholds = cfg.thresholds
    rows = []
    for row in _quality_rows(paired, baseline, candidate, settings) + _speed_rows(speed):
        rows.append(decide(row, thresholds.get(row.metric), cfg.policy, cfg.alpha))
    stratum_threshold = thresholds.get("stratum_accuracy", thresholds.get("accuracy"))
    for row in _stratum_rows(paired, settings):
        rows.append(decide(row, stratum_threshold, cfg.policy, cfg.alpha))
    regressions = [r.metric for r in rows if r.status == "regression"]
    if not cfg.per_stratum_blocking:
        regressions = [m for m in regressions if not m.startswith("accuracy[")]
    return {
        **result,
        "verdict": "regression" if regressions else "pass",
        "rows": [r.to_dict() for r in rows],
        "regressions": regressions,
        "paired_examples": len(paired),
        "unpaired": unpaired,
        "flipped": _flipped(paired, inputs),
    }


# ----------------------------------------------------------------- summary


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000 or abs(value) < 10 ** -(digits - 1):
            return f"{value:.{digits - 1}g}"
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


def markdown_table(result: dict[str, Any]) -> str:
    """The verdict table as Markdown (Dagster metadata, gate summary, $GITHUB_STEP_SUMMARY)."""
    head = (
        f"**{result['candidate']}** vs **{result['baseline'] or 'no baseline'}**: "
        f"verdict **{result['verdict'].upper()}** (policy {result['policy']}, alpha {result['alpha']}, "
        f"golden {result['golden_version']}, {result.get('paired_examples', 0)} paired examples)\n\n"
    )
    lines = ["| metric | baseline | candidate | delta / ratio | CI | p | threshold | status |", "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        change = f"×{_fmt(r['ratio'])}" if r.get("ratio") is not None else (f"{r['delta']:+.4f}" if r.get("delta") is not None else "–")
        ci = f"[{_fmt(r['ci'][0])}, {_fmt(r['ci'][1])}]" if r.get("ci") else "–"
        th = r.get("threshold")
        th_text = "–" if not th else f"{th['kind']} {th['max_regression']:g} ({'↑' if th['direction'] == 'higher_is_better' else '↓'})"
        status = r["status"] if r["status"] != "regression" else "**REGRESSION**"
        lines.append(
            f"| {md_escape(r['metric'])} | {_fmt(r['baseline'])} | {_fmt(r['candidate'])} | {change} | {ci} | "
            f"{_fmt(r.get('p_value'))} | {th_text} | {status} |"
        )
    flips = result.get("flipped", {})
    tail = (
        f"\n\nFlipped right→wrong: {len(flips.get('right_to_wrong', []))}, "
        f"wrong→right: {len(flips.get('wrong_to_right', []))}"
    )
    return head + "\n".join(lines) + tail


# --------------------------------------------------- baseline and promotion

PRODUCTION = "production"


def resolve_baseline(registry: Any, candidate: Any, spec: str) -> Any | None:
    """The baseline ModelRef for ``candidate`` (a ModelRef), or None when there is none yet.

    ``spec``: ``NAME@VERSION`` (must be registered), ``previous`` (the version of the same
    name registered just before the candidate) or an alias of the candidate's name.
    """
    from slm_assets.core.models.versions import ModelRef

    if "@" in spec:
        return registry.get(ModelRef.parse(spec)).ref
    if spec == "previous":
        same = sorted(
            (v for v in registry.list_ready() if v.ref.name == candidate.name),
            key=lambda v: (v.card.created_at, v.ref.version),
        )
        keys = [v.ref for v in same]
        if candidate not in keys:
            return None
        i = keys.index(candidate)
        return keys[i - 1] if i > 0 else None
    version = registry.aliases(candidate.name).get(spec)
    return None if version is None else ModelRef(candidate.name, version)


def promote_if_passed(registry: Any, result: dict[str, Any], settings: Settings, comparison_path: str) -> dict | None:
    """Move ``production`` to the candidate when the config asks for it and the gate passed.

    Returns the audit entry, or None when nothing moved.
    """
    from slm_assets.core.models.versions import ModelRef

    if not settings.comparison.promote_on_pass or result["verdict"] == "regression":
        return None
    ref = ModelRef.parse(result["candidate"])
    if registry.aliases(ref.name).get(PRODUCTION) == ref.version:
        return None
    return registry.set_alias(
        ref.name,
        PRODUCTION,
        ref.version,
        audit={
            "what": f"promote {ref.key} to {PRODUCTION}",
            "verdict": result["verdict"],
            "baseline": result["baseline"],
            "golden_version": result["golden_version"],
            "comparison": comparison_path,
        },
    )
