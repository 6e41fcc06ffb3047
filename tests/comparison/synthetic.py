"""Synthetic evaluation artifacts (the files model_evaluation writes) for comparison tests."""

import numpy as np
import pandas as pd

from slm_assets.core.comparison.artifacts import EvaluationArtifacts
from slm_assets.core import layout

LABELS = ["refund", "login", "order", "bug"]
FAMILIES = ["casing", "typos"]


def artifacts(
    key: str,
    correct: np.ndarray,
    *,
    golden_version: str = "v1",
    task_hash: str = "t1",
    variant_correct: np.ndarray | None = None,
    hallucinated: np.ndarray | None = None,
    strata: int = 2,
) -> EvaluationArtifacts:
    """One row per example (variant "original") plus, optionally, one per robustness family."""
    n = len(correct)
    ids = [f"ex{i:04d}" for i in range(n)]
    refs = [LABELS[i % len(LABELS)] for i in range(n)]
    wrong = [LABELS[(i + 1) % len(LABELS)] for i in range(n)]
    preds = [r if ok else w for r, w, ok in zip(refs, wrong, correct, strict=True)]
    halluc = np.zeros(n, bool) if hallucinated is None else hallucinated
    preds = ["banana" if h else p for p, h in zip(preds, halluc, strict=True)]
    rows = [
        dict(example_id=i, stratum=f"product=p{k % strata}", reference=r, variant="original", prediction=p,
             correct=bool(ok), hallucinated=bool(h), invalid=False)
        for k, (i, r, p, ok, h) in enumerate(zip(ids, refs, preds, correct, halluc, strict=True))
    ]
    if variant_correct is not None:
        for f, fam in enumerate(FAMILIES):
            for k, (i, r, w) in enumerate(zip(ids, refs, wrong, strict=True)):
                ok = bool(variant_correct[f, k])
                rows.append(dict(example_id=i, stratum=f"product=p{k % strata}", reference=r, variant=fam,
                                 prediction=r if ok else w, correct=ok, hallucinated=False, invalid=False))
    frame = pd.DataFrame(rows)
    metrics = {"accuracy": float(np.mean(correct)), "golden_version": golden_version, "task_hash": task_hash}
    return EvaluationArtifacts(key, metrics, frame, scorecard={"p95_latency_ms": {"value": 50, "pass": True}})


def speed(latency=(10.0, 10.0), candidate_latency=(10.0, 10.0), tps=(100.0, 100.0), candidate_tps=(100.0, 100.0),
          memory=(500.0, 500.0), candidate_memory=(500.0, 500.0)) -> dict:
    return {
        "baseline": {"latency_p95_ms": list(latency), "tokens_per_second": list(tps), "peak_memory_mb": list(memory)},
        "candidate": {"latency_p95_ms": list(candidate_latency), "tokens_per_second": list(candidate_tps),
                      "peak_memory_mb": list(candidate_memory)},
    }


def fake_profile(p95: float, tps_bs1: float) -> dict:
    """The parts of profile.json the report and comparison read."""
    rng = np.random.default_rng(int(p95))
    return {
        "latency": {"samples_ms": (p95 * 0.8 + rng.random(50) * p95 * 0.25).round(3).tolist(),
                    "rounds": [{"p95_ms": p95}]},
        "throughput": {"best_batch_size": 2, "batches": [
            {"batch_size": 1, "tokens_per_second": tps_bs1, "output_tokens": 16, "seconds": [16 / tps_bs1]},
            {"batch_size": 2, "tokens_per_second": tps_bs1 * 1.8, "output_tokens": 32, "seconds": [32 / (tps_bs1 * 1.8)]},
        ]},
        "summary": {"latency_p95_ms": p95, "tokens_per_second": tps_bs1 * 1.8, "peak_memory_mb": 300.0},
        "scorecard": [{"name": "p95_latency", "value": p95, "target": 100.0, "op": "<", "unit": "ms",
                       "status": "pass" if p95 < 100 else "fail", "note": "batch 1"}],
    }


def write_artifacts(settings, art: EvaluationArtifacts, profile: dict | None = None) -> None:
    """Lay ``art`` out as model_evaluation and hardware_profile would."""
    import json

    folder = layout.evaluations_root(settings) / art.key / art.metrics["golden_version"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(art.metrics))
    art.predictions.to_parquet(folder / "predictions.parquet")
    if profile is not None:
        (layout.profiles_root(settings) / art.key).mkdir(parents=True, exist_ok=True)
        (layout.profiles_root(settings) / art.key / "profile.json").write_text(json.dumps(profile))
