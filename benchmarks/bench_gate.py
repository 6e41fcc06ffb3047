"""Calibrating the gate: false alarms on a model against itself, detections of worse candidates.

In a work folder: synthetic production logs -> ingestion -> a frozen golden set; a
tiny Llama (random init, tokenizer trained on the logs' text) fine-tuned on golden_train
with the project's own fine-tune (``trained``), the same fine-tune stopped early
(``weak``), and the trained weights with a damaged prompt template on their card
(``damaged-prompt``). Then, for each robustness seed (its own config):

- the trained weights registered again under new versions, gated against ``trained``
  (``--baseline``): every run should pass (a failure is a false alarm);
- ``weak`` and ``damaged-prompt`` gated against ``trained``: each should be caught (exit 1).

Every gate is the real ``slm-bench gate`` (in-process), with the default thresholds and
policy (significant_regression), side-by-side speed ratios included.

    .venv/bin/python benchmarks/bench_gate.py            # about 10-15 min on 2 busy cores

Prints a table and writes ``benchmarks/results/bench_gate.json``.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # shared, busy cores: one thread per process thrashes least
os.environ.pop("DAGSTER_HOME", None)  # ephemeral Dagster instance per gate run
os.environ.pop("GITHUB_STEP_SUMMARY", None)

import pyarrow.parquet as pq  # noqa: E402
import yaml  # noqa: E402

from slm_assets.cli import main as slm_bench  # noqa: E402
from slm_assets.config import DEFAULT_CONFIG, load_settings  # noqa: E402
from slm_assets.core.models.finetune import finetune  # noqa: E402
from slm_assets.core.golden.store import file_sha256, freeze_or_verify, load_split  # noqa: E402
from slm_assets.core.io import atomic_write_json  # noqa: E402
from slm_assets.core.ingestion.logs import ingest_logs  # noqa: E402
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard, ModelRef, RegistryError
from slm_assets.core.golden.splits import build_splits  # noqa: E402
from slm_assets.core.ingestion.synthetic import write_logs  # noqa: E402
from slm_assets.testing import build_tiny_model, generated_corpus  # noqa: E402
from slm_assets.core import layout

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
NAME = "bench"
DAMAGED_TEMPLATE = "{input}"  # no instruction, no label list: what a broken template change looks like


def write_config(work: Path, seed: int, args) -> Path:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["data_dir"] = str(work / "data")
    raw["logs"]["sources"] = [{"path": str(work / "data" / "logs")}]
    raw["golden"]["max_rows"] = {"train": 2400, "validation": 200, "test": 160}  # fixed: the golden set is frozen
    raw["evaluation"] = {"batch_size": 16, "max_examples": args.examples, "device": "cpu",
                         "robustness": {"subset_size": args.robustness_subset, "seed": seed}}
    raw["profiling"] = {"warmup_runs": 2, "latency_prompts": 16, "latency_min_seconds": 2.0, "latency_new_tokens": 8,
                        "batch_sizes": [1, 8], "throughput_new_tokens": 8, "repeats": 2,
                        "energy_window_seconds": 1.0, "idle_seconds": 0.5, "bandwidth_test_mb": 64}
    raw["finetune"] = {"batch_size": 16, "learning_rate": args.lr, "max_length": 128, "eval_every": 50,
                       "validation_examples": 64, "patience": 4, "device": "cpu"}
    raw["comparison"] = {"baseline": "production", "side_by_side_rounds": args.rounds, "promote_on_pass": False}
    path = work / f"config-seed{seed}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def build_golden(settings, rows: int) -> None:
    if (layout.golden_dir(settings) / "manifest.json").is_file():
        return
    write_logs(settings.data_dir / "logs" / "support_logs.jsonl", rows, seed=0)
    ingest_logs(settings, layout.ingested_dir(settings))
    source = layout.ingested_dir(settings) / "production_logs.parquet"
    frame = pq.read_table(source).to_pandas()
    freeze_or_verify(settings, lambda: build_splits(frame, settings), file_sha256(source))


def build_models(settings, work: Path, args) -> None:
    registry = get_registry(settings)
    if any(v.ref.name == NAME for v in registry.list_ready()):
        return
    train = load_split(settings, "train")
    corpus = generated_corpus(400) + train["input"].tolist() + list(settings.task_labels())
    base_dir = build_tiny_model(work / "base-model", seed=0, hidden_size=args.hidden, layers=2, corpus=corpus)
    registry.register(base_dir, NAME, "base", ModelCard(task=settings.task.name, description="random init"))
    finetune(settings, f"{NAME}@base", steps=args.train_steps, version="trained", show_progress=False)
    finetune(settings, f"{NAME}@base", steps=args.weak_steps, version="weak", show_progress=False)
    trained = registry.get(ModelRef(NAME, "trained"))
    damaged = trained.card.model_copy(update={"prompt_template": DAMAGED_TEMPLATE,
                                              "description": "trained weights, damaged prompt template"})
    registry.register(trained.path, NAME, "damaged-prompt", damaged)


def same_weights(settings, version: str) -> str:
    """The trained weights registered again under ``version``: a candidate identical to its baseline."""
    registry = get_registry(settings)
    trained = registry.get(ModelRef(NAME, "trained"))
    try:
        registry.get(ModelRef(NAME, version))
    except RegistryError:
        registry.register(trained.path, NAME, version, trained.card)
    return f"{NAME}@{version}"


def gate(config: Path, candidate: str, out: Path) -> tuple[int, dict, float]:
    started = time.perf_counter()
    code = slm_bench(["--config", str(config), "gate", "--candidate", candidate, "--baseline", f"{NAME}@trained",
                      "--json", str(out), "--log-level", "WARNING"])
    return code, json.loads(out.read_text()), time.perf_counter() - started


def row_of(result: dict, metric: str) -> dict:
    return next((r for r in (result.get("comparison") or {}).get("rows", []) if r["metric"] == metric), {})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=RESULTS / "gate_work")
    parser.add_argument("--rows", type=int, default=9000, help="synthetic log rows")
    parser.add_argument("--examples", type=int, default=120, help="golden_test examples evaluated")
    parser.add_argument("--robustness-subset", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="robustness seeds")
    parser.add_argument("--repeats", type=int, default=2, help="same-model gates per seed")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4, help="side-by-side A B rounds per gate")
    parser.add_argument("--train-steps", type=int, default=150)
    parser.add_argument("--weak-steps", type=int, default=10)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--fresh", action="store_true", help="delete the work folder first")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    configs = {seed: write_config(args.work, seed, args) for seed in args.seeds}
    settings = load_settings(configs[args.seeds[0]])
    t0 = time.perf_counter()
    build_golden(settings, args.rows)
    build_models(settings, args.work, args)
    setup_seconds = time.perf_counter() - t0

    runs = []
    for seed, config in configs.items():
        plan = [(same_weights(settings, f"same-s{seed}-r{k}"), "pass") for k in range(args.repeats)]
        plan += [(f"{NAME}@weak", "regression"), (f"{NAME}@damaged-prompt", "regression")]
        for candidate, expected in plan:
            code, result, seconds = gate(config, candidate, args.work / f"gate-{seed}-{candidate}.json")
            acc, lat = row_of(result, "accuracy"), row_of(result, "latency_p95_ms")
            runs.append({
                "seed": seed, "candidate": candidate, "expected": expected, "exit_code": code,
                "verdict": result.get("verdict"), "regressions": (result.get("comparison") or {}).get("regressions"),
                "reason": result.get("reason"), "baseline_accuracy": acc.get("baseline"),
                "candidate_accuracy": acc.get("candidate"), "accuracy_delta": acc.get("delta"),
                "accuracy_p_value": acc.get("p_value"), "latency_p95_ratio": lat.get("ratio"), "seconds": seconds,
            })
            r = runs[-1]
            print(f"seed {seed} {candidate:24s} expected {expected:10s} exit {code} verdict {r['verdict']} "
                  f"regressions {r['regressions']} ({seconds:.0f} s)", flush=True)

    same = [r for r in runs if r["expected"] == "pass"]
    worse = [r for r in runs if r["expected"] == "regression"]
    summary = {
        "false_alarms": sum(r["exit_code"] != 0 for r in same),
        "same_model_runs": len(same),
        "detections": sum(r["exit_code"] == 1 for r in worse),
        "worse_runs": len(worse),
        "setup_seconds": setup_seconds,
    }
    print("\n| seed | candidate | expected | exit | verdict | acc base | acc cand | Δacc | p | latency ratio | regressions |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    fmt = lambda v: "–" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))  # noqa: E731
    for r in runs:
        print(f"| {r['seed']} | {r['candidate']} | {r['expected']} | {r['exit_code']} | {r['verdict']} | "
              f"{fmt(r['baseline_accuracy'])} | {fmt(r['candidate_accuracy'])} | {fmt(r['accuracy_delta'])} | "
              f"{fmt(r['accuracy_p_value'])} | {fmt(r['latency_p95_ratio'])} | {', '.join(r['regressions'] or []) or '–'} |")
    print(f"\nfalse alarms: {summary['false_alarms']}/{summary['same_model_runs']} same-model gates; "
          f"detections: {summary['detections']}/{summary['worse_runs']} worse candidates")
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS / "bench_gate.json", {"args": {k: str(v) for k, v in vars(args).items()},
                                                    "summary": summary, "runs": runs})
    return 0 if summary["false_alarms"] == 0 and summary["detections"] == summary["worse_runs"] else 1


if __name__ == "__main__":
    sys.exit(main())
