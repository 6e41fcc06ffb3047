"""Quality metrics over per-example predictions.

Definitions (the ones ``metrics.json`` reports):
- accuracy: exact match of the normalised prediction with the reference, over
  every example (errored and empty outputs count as wrong), with a 95% Wilson CI.
- macro_f1: macro F1 over the reference labels (an answer outside them counts as a
  miss of the true label, not as a class of its own); the gate uses the same function.
- hallucination_rate: classification: non-empty answer that is not one of the
  allowed labels. Generation: reported only under ``task.hallucination_rule:
  input_tokens``: a non-empty answer with a word (after normalisation) that does
  not occur in the input, i.e. a value not grounded in the input (extraction tasks).
- invalid_rate: empty output (nothing left after the stop sequence and cleaning).
- error_rate: generation raised for that example (recorded, the run went on).
- token_f1 (generation): SQuAD-style bag-of-words F1 between prediction and reference.
"""

import math
import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (sound near 0 and 1, unlike the normal one)."""
    if total == 0:
        return (0.0, 0.0)
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD's normalisation)."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCT))
    return " ".join(text.split())


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def is_grounded(prediction: str, source: str) -> bool:
    """Every normalised word of the prediction occurs in the normalised source."""
    source_words = set(normalize_answer(source).split())
    return all(word in source_words for word in normalize_answer(prediction).split())


def macro_f1_codes(ref: np.ndarray, pred: np.ndarray) -> float:
    """Macro F1 over the label codes present in ``ref`` (integer arrays; a predicted code absent
    from the references is a miss of the true label, not a class of its own).

    The one definition: ``metrics.json`` and the gate's paired bootstrap both call it.
    """
    if len(ref) == 0:
        return 0.0
    k = int(max(ref.max(), pred.max(initial=-1))) + 1
    tp = np.bincount(ref[ref == pred], minlength=k)
    support = np.bincount(ref, minlength=k)
    predicted = np.bincount(pred, minlength=k)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(f1[support > 0].mean())


def encode_labels(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Integer codes shared across columns (resampling integer arrays is far cheaper than strings)."""
    _, codes = np.unique(np.concatenate(columns), return_inverse=True)
    return tuple(np.split(codes, np.cumsum([len(c) for c in columns[:-1]])))


def macro_f1(predictions: Sequence[str | None], references: Sequence[str]) -> float:
    """Macro F1 over the reference labels (sklearn's ``labels=`` the reference set)."""
    ref, pred = encode_labels(np.asarray(references, dtype=str),
                              np.asarray([p if isinstance(p, str) else "" for p in predictions], dtype=str))
    return macro_f1_codes(ref, pred)


def rate(flags: pd.Series) -> float:
    return float(flags.mean()) if len(flags) else 0.0


def accuracy_summary(correct: pd.Series) -> dict:
    n, k = int(len(correct)), int(correct.sum())
    low, high = wilson_interval(k, n)
    return {"n": n, "accuracy": (k / n) if n else 0.0, "ci_low": low, "ci_high": high}


def per_stratum(frame: pd.DataFrame) -> dict[str, dict]:
    """Accuracy with CI per stratum (frame columns ``stratum``, ``correct``)."""
    return {str(s): accuracy_summary(g["correct"]) for s, g in frame.groupby("stratum", sort=True)}


def quality_metrics(frame: pd.DataFrame, task_type: str, report_hallucination: bool) -> dict:
    """Headline numbers over the unperturbed predictions (columns as in predictions.parquet)."""
    summary = accuracy_summary(frame["correct"])
    metrics = {
        "n_examples": summary["n"],
        "accuracy": summary["accuracy"],
        "accuracy_ci_low": summary["ci_low"],
        "accuracy_ci_high": summary["ci_high"],
        "invalid_rate": rate(frame["invalid"]),
        "error_rate": rate(frame["error"].notna()),
        "hallucination_rate": rate(frame["hallucinated"]) if report_hallucination else None,
    }
    if task_type == "classification":
        metrics["macro_f1"] = macro_f1(frame["prediction"].tolist(), frame["reference"].tolist())
    else:
        metrics["exact_match"] = summary["accuracy"]
        metrics["token_f1"] = (
            float(sum(token_f1(p or "", r) for p, r in zip(frame["prediction"], frame["reference"])) / len(frame))
            if len(frame)
            else 0.0
        )
        metrics["macro_f1"] = None
    return metrics


def robustness_metrics(frame: pd.DataFrame) -> dict:
    """Per-family accuracy, worst family and consistency with the unperturbed answer.

    ``frame`` holds the original rows of the robustness subset and their variant rows.
    Consistency: the share of variant rows whose prediction equals the original's
    (both empty counts as the same answer).
    """
    originals = frame[frame["variant"] == "original"].set_index("example_id")
    variants = frame[frame["variant"] != "original"]
    if variants.empty:
        return {"families": {}, "worst_family": None, "worst_family_accuracy": None, "consistency": None}
    families = {}
    same_all = []
    for family, group in variants.groupby("variant", sort=True):
        base = originals.loc[group["example_id"], "prediction"].tolist()
        same = [_same(a, b) for a, b in zip(group["prediction"].tolist(), base)]
        same_all.extend(same)
        families[str(family)] = {
            "n": int(len(group)),
            "accuracy": float(group["correct"].mean()),
            "subset_original_accuracy": float(originals.loc[group["example_id"], "correct"].mean()),
            "consistency": sum(same) / len(same),
        }
    worst = min(families, key=lambda f: (families[f]["accuracy"], f))
    return {
        "families": families,
        "worst_family": worst,
        "worst_family_accuracy": families[worst]["accuracy"],
        "consistency": sum(same_all) / len(same_all),
    }


def _same(a, b) -> bool:
    a = a if isinstance(a, str) else ""
    b = b if isinstance(b, str) else ""
    return a == b
