"""Quality rows: every quality metric recomputed from both models' predictions on the same
examples, so each delta is paired (McNemar exact for 0/1 outcomes, paired bootstrap otherwise),
with the interval of the difference and the minimum detectable difference at the configured power."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from slm_assets.config import ComparisonConfig
from slm_assets.core.comparison import stats
from slm_assets.core.comparison.artifacts import ORIGINAL, ComparisonError, EvaluationArtifacts
from slm_assets.core.comparison.decision import Row
from slm_assets.core.evaluation.metric_specs import QUALITY
from slm_assets.core.evaluation.metrics import encode_labels, macro_f1_codes

EXCERPT_CHARS = 160


def paired_originals(base: EvaluationArtifacts, cand: EvaluationArtifacts) -> tuple[pd.DataFrame, dict[str, int]]:
    """Unperturbed rows of both models joined on example_id (``*_b``/``*_c`` outcome columns)."""
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


def binary_row(name: str, b: np.ndarray, c: np.ndarray, cfg: ComparisonConfig, alpha: float | None = None,
               seed: int = 0) -> Row:
    """A 0/1 outcome per pair: McNemar exact p, bootstrap interval of the difference, MDD."""
    alpha = cfg.alpha if alpha is None else alpha
    test = stats.mcnemar_exact(b, c)
    boot = stats.paired_bootstrap_mean(c.astype(float) - b.astype(float), cfg.bootstrap_samples, seed=seed, alpha=alpha)
    return Row(name, float(b.mean()), float(c.mean()), delta=boot.delta, ci=[boot.ci_low, boot.ci_high],
               p_value=test.p_value, n=len(b),
               mdd=stats.mcnemar_mdd(len(b), test.improved + test.worsened, alpha, cfg.power),
               extra={"test": "mcnemar_exact", "improved": test.improved, "worsened": test.worsened})


def bootstrap_row(name: str, diff: Callable[[np.ndarray], float], baseline: float, candidate: float, n: int,
                  cfg: ComparisonConfig, seed: int, extra: dict[str, Any] | None = None) -> Row:
    boot = stats.paired_bootstrap(diff, n, cfg.bootstrap_samples, seed=seed, alpha=cfg.alpha)
    ci = [boot.ci_low, boot.ci_high]
    return Row(name, baseline, candidate, delta=boot.delta, ci=ci, p_value=boot.p_value, n=n,
               mdd=stats.interval_mdd(ci, cfg.alpha, cfg.power), extra={"test": "paired_bootstrap", **(extra or {})})


def _macro_f1_row(paired: pd.DataFrame, cfg: ComparisonConfig) -> Row:
    ref, pb, pc = encode_labels(
        paired["reference"].astype(str).to_numpy(),
        paired["prediction_b"].fillna("").astype(str).to_numpy(),
        paired["prediction_c"].fillna("").astype(str).to_numpy(),
    )
    return bootstrap_row("macro_f1", lambda idx: macro_f1_codes(ref[idx], pc[idx]) - macro_f1_codes(ref[idx], pb[idx]),
                         macro_f1_codes(ref, pb), macro_f1_codes(ref, pc), len(ref), cfg, seed=1)


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


def _robustness_rows(base: EvaluationArtifacts, cand: EvaluationArtifacts, cfg: ComparisonConfig) -> list[Row]:
    vb, vc = _variant_frame(base), _variant_frame(cand)
    shared = vb.index.intersection(vc.index, sort=False)
    if len(shared) == 0:
        return [Row(m, None, None, note="no shared robustness variants")
                for m in ("robustness_worst_family_accuracy", "robustness_consistency")]
    vb, vc = vb.loc[shared], vc.loc[shared]
    # Worst family: an example x family matrix per model, resampled by example (pairs kept).
    cb = vb["correct"].astype(float).unstack("variant")
    cc = vc["correct"].astype(float).unstack("variant").reindex(index=cb.index, columns=cb.columns)
    mb, mc = cb.to_numpy(), cc.to_numpy()

    def worst(mat: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(np.nanmin(np.nanmean(mat, axis=0)))

    fam_b = dict(zip(cb.columns, np.nanmean(mb, axis=0).round(6).tolist(), strict=True))
    fam_c = dict(zip(cb.columns, np.nanmean(mc, axis=0).round(6).tolist(), strict=True))
    worst_row = bootstrap_row(
        "robustness_worst_family_accuracy", lambda idx: worst(mc[idx]) - worst(mb[idx]), worst(mb), worst(mc),
        len(mb), cfg, seed=2,
        extra={"worst_family_baseline": min(fam_b, key=fam_b.get), "worst_family_candidate": min(fam_c, key=fam_c.get),
               "families_baseline": fam_b, "families_candidate": fam_c},
    )
    consistency = binary_row("robustness_consistency", vb["consistent"].to_numpy(dtype=bool),
                             vc["consistent"].to_numpy(dtype=bool), cfg)
    return [worst_row, consistency]


def quality_rows(paired: pd.DataFrame, base: EvaluationArtifacts, cand: EvaluationArtifacts,
                 cfg: ComparisonConfig) -> list[Row]:
    """One row per quality metric of the spec table, in its order."""
    n = len(paired)
    rows = {
        "accuracy": binary_row("accuracy", _bool(paired["correct_b"], n), _bool(paired["correct_c"], n), cfg),
        "macro_f1": _macro_f1_row(paired, cfg),
        "hallucination_rate": binary_row("hallucination_rate", _bool(paired.get("hallucinated_b"), n),
                                         _bool(paired.get("hallucinated_c"), n), cfg),
    }
    rows.update({r.metric: r for r in _robustness_rows(base, cand, cfg)})
    return [rows[m.name] for m in QUALITY]


def stratum_rows(paired: pd.DataFrame, cfg: ComparisonConfig) -> list[Row]:
    """Accuracy per stratum: Bonferroni-level intervals, Holm-adjusted McNemar p-values."""
    if "stratum" not in paired.columns:
        return []
    groups = list(paired.groupby("stratum", sort=True))
    if len(groups) < 2:
        return []  # one stratum is the overall accuracy already
    level = cfg.alpha / len(groups)
    rows = []
    for stratum, frame in groups:
        b, c = _bool(frame["correct_b"], len(frame)), _bool(frame["correct_c"], len(frame))
        row = binary_row(f"accuracy[{stratum}]", b, c, cfg, alpha=level, seed=3)
        row.extra.update({"test": "mcnemar_exact+holm", "p_value_raw": row.p_value, "stratum": stratum})
        rows.append(row)
    for row, adjusted in zip(rows, stats.holm([r.p_value for r in rows]), strict=True):
        row.p_value = adjusted
    return rows


def flipped(paired: pd.DataFrame, inputs: dict[str, str] | None) -> dict[str, Any]:
    """Examples the candidate got wrong that the baseline got right, and the reverse."""
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
