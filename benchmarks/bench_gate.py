"""Calibrating the gate at its default sizes: false alarms on twins, detection curves.

Two modes, each with at least 200 comparisons per scenario, through the gate's own code
(``compare`` for quality; ``profile_side_by_side`` with adaptive rounds and the speed rows'
decision for speed):

- ``quality``: recorded predictions of a real model (a tiny Llama fine-tuned on a generated
  golden set with the project's fine-tune, evaluated once on 400 golden test examples; or
  ``--predictions`` from any evaluation). Each comparison resamples ``--n`` examples (default:
  ``evaluation.max_examples`` of the default config, 80) with replacement (``--accuracy``: reweighted
  so the draws stand for a model of that accuracy) and builds the
  candidate from the same recorded answers: ``twin`` (identical weights: identical answers),
  ``equal`` (an equally accurate model with other errors: a share ``--discordance`` of the
  answers swapped, right->wrong and wrong->right alike), and drops of 1, 2, 5 and 10 points
  (that many right answers turned wrong on top of ``equal``).
- ``speed``: a tiny model loaded twice (identical weights under two versions) profiled side by
  side on the real clock of this machine: 200 ``twin`` comparisons, and 50 each (``--slowdown-runs``)
  of candidates slowed 1.1x, 1.3x and 2x (a busy-wait after every decoding step of the candidate,
  sized from the baseline's step time).

A false alarm is a REGRESSION verdict for ``twin`` or ``equal``; a detection is a REGRESSION for
a worse candidate. Rates come with 95 % Wilson intervals.

    .venv/bin/python benchmarks/bench_gate.py                  # both modes
    .venv/bin/python benchmarks/bench_gate.py --mode quality --runs 500

Prints tables and writes ``benchmarks/results/bench_gate.json``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from slm_assets.config import DEFAULT_CONFIG, load_settings  # noqa: E402
from slm_assets.core.comparison.artifacts import EvaluationArtifacts  # noqa: E402
from slm_assets.core.comparison.compare import compare  # noqa: E402
from slm_assets.core.comparison.stats import wilson_ci  # noqa: E402
from slm_assets.core.io import atomic_write_json  # noqa: E402

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
NAME = "bench"
QUALITY_DROPS = (0.01, 0.02, 0.05, 0.10)
SLOWDOWNS = (1.1, 1.3, 2.0)


def rate(hits: int, runs: int) -> dict:
    low, high = wilson_ci(hits, runs)
    return {"hits": hits, "runs": runs, "rate": hits / runs if runs else None, "ci95": [low, high]}


def write_config(work: Path, args) -> Path:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["data_dir"] = str(work / "data")
    raw["logs"]["sources"] = [{"path": str(work / "data" / "logs")}]
    raw["golden"]["max_rows"] = {"train": 2400, "validation": 200, "test": args.pool}
    raw["evaluation"] = {"batch_size": 16, "max_examples": args.pool, "device": "cpu",
                         "robustness": {"enabled": False}}
    raw["finetune"] = {"batch_size": 16, "learning_rate": 3e-3, "max_length": 128, "eval_every": 50,
                       "validation_examples": 64, "patience": 4, "device": "cpu"}
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------ quality


def recorded_predictions(args) -> pd.DataFrame:
    """A real model's answers on the golden test pool (built and evaluated once, then reused)."""
    if args.predictions:
        return pd.read_parquet(args.predictions)
    from slm_assets.core import layout
    from slm_assets.core.evaluation.run import evaluate_model
    from slm_assets.core.golden.build import build_golden
    from slm_assets.core.golden.store import load_split
    from slm_assets.core.ingestion.logs import ingest_logs
    from slm_assets.core.ingestion.synthetic import write_logs
    from slm_assets.core.models.finetune import finetune
    from slm_assets.core.models.registry import ModelCard, ModelRef, RegistryError, get_registry
    from slm_assets.testing import build_tiny_model, generated_corpus

    settings = load_settings(write_config(args.work, args))
    if not (layout.golden_dir(settings) / "manifest.json").is_file():
        write_logs(layout.logs_dir(settings) / "support_logs.jsonl", args.rows, seed=0)
        ingest_logs(settings, layout.ingested_dir(settings))
        build_golden(settings)
    registry = get_registry(settings)
    try:
        trained = registry.get(ModelRef(NAME, "trained"))
    except RegistryError:
        train = load_split(settings, "train")
        corpus = generated_corpus(400) + train["input"].tolist() + list(settings.task_labels())
        base_dir = build_tiny_model(args.work / "base-model", seed=0, hidden_size=64, layers=2, corpus=corpus)
        registry.register(base_dir, NAME, "base", ModelCard(task=settings.task.name, description="random init"))
        finetune(settings, f"{NAME}@base", steps=args.train_steps, version="trained", show_progress=False)
        trained = registry.get(ModelRef(NAME, "trained"))
    return pd.read_parquet(evaluate_model(settings, trained, show_progress=False).directory / "predictions.parquet")


def _wrong_answer(reference: str, labels: list[str]) -> str:
    return labels[(labels.index(reference) + 1) % len(labels)] if reference in labels else labels[0]


def quality_twins(pool: pd.DataFrame, args) -> dict:
    settings = load_settings(DEFAULT_CONFIG)
    pool = pool[pool["variant"] == "original"].reset_index(drop=True)
    labels = sorted(set(pool["reference"]))
    wrong = np.array([_wrong_answer(r, labels) for r in pool["reference"]], dtype=object)
    correct = pool["correct"].to_numpy(dtype=bool)
    # Resampling weights: uniform, or reweighted so a draw is right with probability --accuracy
    # (the recorded answers standing for a model of that accuracy).
    target = args.accuracy if args.accuracy is not None else correct.mean()
    weights = np.where(correct, target / correct.sum(), (1 - target) / (~correct).sum())
    print(f"quality: pool of {len(pool)} recorded answers, accuracy {correct.mean():.3f} (resampled at {target:.3f}); "
          f"{args.runs} comparisons of {args.n} resampled examples per scenario", flush=True)
    scenarios = {"twin": 0.0, "equal": 0.0, **{f"drop {int(d * 100)} pts": d for d in QUALITY_DROPS}}
    out = {}
    for name, drop in scenarios.items():
        counts = {"pass": 0, "improvement": 0, "regression": 0, "inconclusive": 0}
        deltas, started = [], time.perf_counter()
        for run in range(args.runs):
            rng = np.random.default_rng([run, len(out)])
            idx = rng.choice(len(pool), args.n, p=weights)
            base = pool.iloc[idx].assign(example_id=[f"{e}#{k}" for k, e in enumerate(pool["example_id"].iloc[idx])])
            cand = base.copy()
            ok = correct[idx].copy()
            if name != "twin":
                # An equally accurate model with other errors: as many right->wrong as wrong->right
                # in expectation, ``discordance`` of the pairs in all.
                right, wrong_now = np.flatnonzero(ok), np.flatnonzero(~ok)
                flips = rng.binomial(args.n, args.discordance / 2, size=2)
                ok[rng.choice(right, min(len(right), flips[0]), replace=False)] = False
                ok[rng.choice(wrong_now, min(len(wrong_now), flips[1]), replace=False)] = True
                right = np.flatnonzero(ok & correct[idx])
                ok[rng.choice(right, min(len(right), round(drop * args.n)), replace=False)] = False
            cand["correct"] = ok
            cand["prediction"] = np.where(ok, base["reference"].to_numpy(), wrong[idx])
            cand["hallucinated"] = False
            base = base.assign(hallucinated=False)
            meta = {"golden_version": "v1", "task_hash": "t"}
            result = compare(EvaluationArtifacts("b@1", meta, base), EvaluationArtifacts("c@1", meta, cand), None,
                             settings)
            counts[result["verdict"]] += 1
            deltas.append(float(cand["correct"].mean() - base["correct"].mean()))
        out[name] = {"counts": counts, "regression": rate(counts["regression"], args.runs),
                     "pass": rate(counts["pass"] + counts["improvement"], args.runs),
                     "mean_delta": float(np.mean(deltas)), "seconds": time.perf_counter() - started}
        print(f"  {name:12s} {counts}", flush=True)
    return out


# -------------------------------------------------------------------- speed


class SlowedEngine:
    """An engine made ``factor`` times slower on the real clock: after each fixed-length generation
    it busy-waits ``factor - 1`` times the generation's own time, and reports the stretched timings."""

    def __init__(self, inner, factor: float):
        self.inner, self.factor = inner, factor

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate_fixed(self, prompts, *, new_tokens, timed=False):
        from slm_assets.core.inference.base import TimedGeneration

        out = []
        for run in self.inner.generate_fixed(prompts, new_tokens=new_tokens, timed=timed):
            end = run.start_ns + int((run.end_ns - run.start_ns) * self.factor)
            while time.perf_counter_ns() < end:
                pass
            stamps = tuple(run.start_ns + int((t - run.start_ns) * self.factor) for t in run.token_ns)
            out.append(TimedGeneration(run.start_ns, end, run.output_tokens, stamps))
        return out


def speed_twins(args) -> dict:
    import torch

    from slm_assets.core.comparison.decision import decide, verdict
    from slm_assets.core.comparison.speed import speed_from_side_by_side, speed_rows, undecided
    from slm_assets.core.inference.transformers import TransformersConfig, TransformersEngine
    from slm_assets.core.profiling.profiler import profile_side_by_side
    from slm_assets.testing import build_tiny_model, generated_corpus

    torch.set_num_threads(1)
    settings = load_settings(DEFAULT_CONFIG)
    cfg = settings.profiling.model_copy(update={
        "warmup_runs": 1, "latency_prompts": 6, "latency_min_seconds": args.speed_window, "latency_new_tokens": 8,
        "batch_sizes": [1], "throughput_new_tokens": 8, "repeats": 1})
    model_dir = args.work / "speed-model"
    if not (model_dir / "config.json").is_file():
        build_tiny_model(model_dir, seed=0, hidden_size=64, layers=2, corpus=generated_corpus(200))
    # Identical weights loaded twice: two engines, as two registered versions of them would be.
    baseline, twin = (TransformersEngine.load(model_dir, TransformersConfig(device="cpu")) for _ in range(2))
    prompts = generated_corpus(6, seed=1)
    comparison = settings.comparison
    print(f"speed: {args.speed_runs} twin and {args.slowdown_runs} slowed side-by-side comparisons "
          f"({comparison.side_by_side_rounds}-{comparison.side_by_side_max_rounds} adaptive rounds)", flush=True)
    out = {}
    # Slowdowns first: on a busy machine the long twin series is the one to cut short (progress is printed).
    for name, factor in {**{f"{f}x slower": f for f in SLOWDOWNS}, "twin": 1.0}.items():
        candidate = twin if factor == 1.0 else SlowedEngine(twin, factor)
        counts = {"pass": 0, "improvement": 0, "regression": 0, "inconclusive": 0}
        rounds, ratios, started = [], [], time.perf_counter()
        runs = args.speed_runs if factor == 1.0 else args.slowdown_runs
        for run in range(runs):
            if run and run % 10 == 0:
                print(f"    {name}: {run}/{runs} {counts}", flush=True)
            results = profile_side_by_side(
                [baseline, candidate], prompts, cfg, comparison.side_by_side_rounds, gpu=None,
                more_rounds=lambda res: bool(undecided(speed_from_side_by_side(res[0], res[1]), comparison)),
                max_rounds=comparison.side_by_side_max_rounds)
            rows = [decide(r, comparison.thresholds.get(r.metric), comparison.policy, comparison.alpha)
                    for r in speed_rows(speed_from_side_by_side(results[0], results[1]), comparison.alpha)]
            counts[verdict(rows, True)[0]] += 1
            rounds.append(results[0]["side_by_side"]["rounds"])
            ratios.append(next(r.ratio for r in rows if r.metric == "latency_p95_ms"))
        out[name] = {"counts": counts, "regression": rate(counts["regression"], runs),
                     "pass": rate(counts["pass"] + counts["improvement"], runs),
                     "mean_rounds": float(np.mean(rounds)), "median_p95_ratio": float(np.median(ratios)),
                     "seconds": time.perf_counter() - started}
        print(f"  {name:12s} {counts} rounds {np.mean(rounds):.1f} P95 ratio {np.median(ratios):.2f}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quality", "speed", "all"], default="all")
    parser.add_argument("--work", type=Path, default=RESULTS / "gate_work")
    parser.add_argument("--runs", type=int, default=200, help="quality comparisons per scenario")
    parser.add_argument("--speed-runs", type=int, default=200, help="speed twin comparisons")
    parser.add_argument("--slowdown-runs", type=int, default=50, help="speed comparisons per slowdown")
    parser.add_argument("--n", type=int, default=80, help="examples per quality comparison (default config: 80)")
    parser.add_argument("--discordance", type=float, default=0.1, help="share of answers an equal model swaps")
    parser.add_argument("--accuracy", type=float,
                        help="resample the recorded answers so they stand for a model of this accuracy")
    parser.add_argument("--pool", type=int, default=400, help="golden test examples recorded once")
    parser.add_argument("--rows", type=int, default=9000, help="synthetic log rows")
    parser.add_argument("--train-steps", type=int, default=150)
    parser.add_argument("--speed-window", type=float, default=0.3, help="latency seconds per comparison")
    parser.add_argument("--predictions", type=Path, help="a predictions.parquet to resample instead of building one")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    if args.mode in ("quality", "all"):
        key = "quality" if args.accuracy is None else f"quality_at_accuracy_{args.accuracy:g}"
        report[key] = quality_twins(recorded_predictions(args), args)
    if args.mode in ("speed", "all"):
        report["speed"] = speed_twins(args)
    print("\n| mode | scenario | runs | REGRESSION | PASS | INCONCLUSIVE |\n|---|---|---|---|---|---|")
    for mode in [k for k in report if k != "args"]:
        for name, r in report[mode].items():
            reg = r["regression"]
            print(f"| {mode} | {name} | {reg['runs']} | {reg['rate']:.3f} [{reg['ci95'][0]:.3f}, {reg['ci95'][1]:.3f}] "
                  f"| {r['pass']['rate']:.3f} | {r['counts']['inconclusive'] / reg['runs']:.3f} |")
    # One file for both modes: a run of one mode keeps the other's last figures.
    out = RESULTS / "bench_gate.json"
    previous = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    atomic_write_json(out, {**previous, **report, "args": {**previous.get("args", {}), args.mode: report["args"]}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
