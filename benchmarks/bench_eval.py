"""model_evaluation's generation throughput against three references, side by side in one run.

On the real SmolLM2-135M-Instruct and golden test examples (built from the
default synthetic logs in a work folder, or any config's golden set), all from
one loaded model and the same prompts:

- ours:   ``evaluate_model`` with its cache cleared: the generation phase (batched greedy
          generation with stop sequences and the shared-prefix KV cache, plus per-batch cache
          commits) is what the ratios use; its end-to-end time (model load, prompts, scoring,
          Parquet/JSON) is reported too;
- ours-whole: the transformers engine's ``generate_until`` with ``share_prefix=False`` (every batch prefills whole
          prompts: the same work as ``generate``, so this one is the like-for-like against bare);
- naive:  a batch-1 ``model.generate`` loop (HF ``stop_strings``);
- bare:   a bare batched ``generate`` loop, same batch size and longest-first order,
          HF ``stop_strings``, no bookkeeping (the ceiling);
- lm-eval: lm-evaluation-harness 0.4.13 ``generate_until`` on a local JSONL task with the
          same prompts and batch size (in this process, same model object; time of its
          ``generate_until`` call, and of the whole ``simple_evaluate``).
Then the agreement of our predictions across batch sizes 1, 8 and 32.
Targets: ours >= 0.9 x bare, >= 1.0 x lm-eval, >= 3 x naive; agreement >= 99 %.

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 .venv/bin/python benchmarks/bench_eval.py --examples 300 --rounds 1

Prints a table and writes ``benchmarks/results/bench_eval.json``.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import yaml  # noqa: E402

from slm_assets.config import DEFAULT_CONFIG, load_settings  # noqa: E402
from slm_assets.core.models.base_model import BASE_REF, import_base_model  # noqa: E402
from slm_assets.core.evaluation.run import evaluate_model, evaluation_rows  # noqa: E402
from slm_assets.core.inference.base import cut_at_stop  # noqa: E402
from slm_assets.core.inference.engine_cache import EngineCache  # noqa: E402
from slm_assets.core.golden.store import GoldenSetError, load_split  # noqa: E402
from slm_assets.core.evaluation.cache import open_cache  # noqa: E402
from slm_assets.core.evaluation.prompts import build_prompt, effective_task  # noqa: E402
from slm_assets.core.models.registry import get_registry
from slm_assets.core.evaluation.robustness import ORIGINAL  # noqa: E402
from slm_assets.core.ingestion.synthetic import write_logs  # noqa: E402
from slm_assets.core import layout

RESULTS = Path(__file__).resolve().parent / "results"


def prepare_settings(args):
    """A config in the work folder: default task, golden set from synthetic logs, no robustness variants."""
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    base = yaml.safe_load((args.config or DEFAULT_CONFIG).read_text(encoding="utf-8"))
    base["data_dir"] = str(work / "data")
    base.setdefault("evaluation", {})
    base["evaluation"].update(
        {"batch_size": args.batch_size, "max_examples": args.examples, "device": args.device,
         "robustness": {"enabled": False}}
    )
    base.setdefault("task", {})["max_new_tokens"] = args.max_new_tokens
    path = work / "bench_eval.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")
    os.environ.pop("SLM_DATA_DIR", None)
    settings = load_settings(path)
    try:
        load_split(settings, "test")
    except GoldenSetError:
        make_golden(settings, rows=max(args.examples * 60, 2000))  # 2,000 rows left 112 test rows
    if len(load_split(settings, "test")) < args.examples:
        sys.exit(f"golden_test of {layout.golden_dir(settings)} has fewer than {args.examples} rows")
    import_base_model(settings, progress=lambda m: print(m, file=sys.stderr))
    return settings


def make_golden(settings, rows: int) -> None:
    """The core use cases the Dagster assets call: ingest, then build and freeze the golden set."""
    from slm_assets.core.golden.build import build_golden
    from slm_assets.core.ingestion.logs import ingest_logs

    print(f"building a golden set from {rows} synthetic log rows in {settings.data_dir}", file=sys.stderr)
    write_logs(layout.logs_dir(settings) / "support.jsonl", rows, seed=1)
    ingest_logs(settings, layout.ingested_dir(settings))
    build_golden(settings)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def naive_loop(loaded, prompts, max_new_tokens, stop):
    texts, tokens = [], 0
    tok = loaded.tokenizer
    with torch.inference_mode():
        for prompt in prompts:
            enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(loaded.device)
            out = loaded.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                        stop_strings=stop, tokenizer=tok)
            new = out[0, enc["input_ids"].shape[1]:]
            tokens += int((new != tok.pad_token_id).sum())
            texts.append(cut_at_stop(tok.decode(new, skip_special_tokens=True), stop))
    return texts, tokens


def bare_batched(loaded, prompts, max_new_tokens, stop, batch_size):
    tok = loaded.tokenizer
    lengths = [len(ids) for ids in tok(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    texts, tokens = [None] * len(prompts), 0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = tok([prompts[i] for i in idx], return_tensors="pt", padding=True,
                      add_special_tokens=False).to(loaded.device)
            out = loaded.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                        stop_strings=stop, tokenizer=tok)
            new = out[:, enc["input_ids"].shape[1]:]
            tokens += int((new != tok.pad_token_id).sum())
            for row, i in enumerate(idx):
                texts[i] = cut_at_stop(tok.decode(new[row], skip_special_tokens=True), stop)
    return texts, tokens


class LmEvalRunner:
    """lm-evaluation-harness on a local JSONL task holding the same prompts, the same model object.

    ``run()`` returns (texts, seconds inside ``generate_until``, seconds of the whole ``simple_evaluate``).
    """

    def __init__(self, loaded, prompts, references, max_new_tokens, stop, batch_size):
        from lm_eval.models.huggingface import HFLM

        self.folder = Path(tempfile.mkdtemp(prefix="bench-eval-lm-"))
        data = self.folder / "examples.jsonl"
        data.write_text("".join(json.dumps({"prompt": p, "reference": r}) + "\n" for p, r in zip(prompts, references)))
        task = {
            "task": "slm_bench_eval", "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data)}},
            "test_split": "test", "output_type": "generate_until", "doc_to_text": "{{prompt}}",
            "doc_to_target": "{{reference}}", "target_delimiter": "",
            "generation_kwargs": {"until": list(stop), "max_gen_toks": max_new_tokens, "do_sample": False},
            "metric_list": [{"metric": "exact_match"}],
        }
        (self.folder / "slm_bench_eval.yaml").write_text(yaml.safe_dump(task, sort_keys=False))
        self.batch_size = batch_size
        self.lm = HFLM(pretrained=loaded.model, tokenizer=loaded.tokenizer, batch_size=batch_size,
                       max_length=4096, device=str(loaded.device))
        self.generate_seconds: list[float] = []
        real = self.lm.generate_until

        def timed_generate(requests, *a, **k):
            out, seconds = timed(lambda: real(requests, *a, **k))
            self.generate_seconds.append(seconds)
            return out

        self.lm.generate_until = timed_generate

    def run(self):
        from lm_eval import simple_evaluate
        from lm_eval.tasks import TaskManager

        self.generate_seconds.clear()
        result, total = timed(lambda: simple_evaluate(
            model=self.lm, tasks=["slm_bench_eval"], task_manager=TaskManager(include_path=str(self.folder)),
            log_samples=True, batch_size=self.batch_size, apply_chat_template=False))
        samples = sorted(result["samples"]["slm_bench_eval"], key=lambda s: s["doc_id"])
        return [s["resps"][0][0] for s in samples], sum(self.generate_seconds), total


def agreement(a, b) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def engine_vs_bare(engine, prompts, max_new_tokens, stop, batch_size, rounds: int = 2) -> dict:
    """The transformers engine's ``generate_until`` (shared head on) against a bare batched
    ``generate`` loop: same prompts, longest-first order and batch size, rounds alternating,
    best time of each kept. ``ratio`` is engine examples/s over bare examples/s (target >= 0.9)."""
    engine_seconds, bare_seconds, engine_texts, bare_texts = [], [], None, None
    for r in range(rounds):
        for name in (("engine", "bare") if r % 2 == 0 else ("bare", "engine")):
            if name == "engine":
                out, seconds = timed(lambda: engine.generate_until(
                    prompts, max_new_tokens=max_new_tokens, stop=stop, batch_size=batch_size))
                engine_texts = [g.text for g in out]
                engine_seconds.append(seconds)
            else:
                (bare_texts, _), seconds = timed(lambda: bare_batched(engine, prompts, max_new_tokens, stop, batch_size))
                bare_seconds.append(seconds)
    best_engine, best_bare = min(engine_seconds), min(bare_seconds)
    return {"engine_seconds": best_engine, "bare_seconds": best_bare, "ratio": best_bare / best_engine,
            "engine_examples_per_second": len(prompts) / best_engine,
            "bare_examples_per_second": len(prompts) / best_bare, "agreement": agreement(engine_texts, bare_texts)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--config", type=Path, help="config whose golden set to use (default: synthetic default)")
    parser.add_argument("--work", type=Path, default=RESULTS / "bench_eval_work")
    parser.add_argument("--skip-lm-eval", action="store_true")
    parser.add_argument("--agreement-sizes", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of ours/bare, best of each kept")
    parser.add_argument("--threads", type=int, help="torch threads (1 is faster on an oversubscribed machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    settings = prepare_settings(args)
    version = get_registry(settings).get(BASE_REF)
    engines = EngineCache()
    # The engine exposes model, tokenizer and device: the bare, naive and lm-eval runners share its model.
    loaded = engines.get(version, defaults={"device": settings.evaluation.device})
    task = effective_task(settings.task, version.card.prompt_template)
    labels = settings.task_labels()
    rows = evaluation_rows(settings, load_split(settings, "test"))
    rows = rows[rows["variant"] == ORIGINAL]
    prompts = [build_prompt(loaded, task, labels, t) for t in rows["input"]]
    stop, new_tokens, bs = list(task.stop), task.max_new_tokens, settings.evaluation.batch_size
    n = len(prompts)
    print(f"{n} prompts, batch size {bs}, max_new_tokens {new_tokens}, device {loaded.device}", file=sys.stderr)
    loaded.generate_until(prompts[:bs], max_new_tokens=new_tokens, stop=stop, batch_size=bs)  # warm-up

    figures = {}

    def record(name, seconds, tokens, texts=None, **extra):
        figures[name] = {"seconds": seconds, "examples_per_second": n / seconds,
                         "output_tokens_per_second": tokens / seconds, **extra}
        print(f"  {name:10} {seconds:7.1f} s  {n / seconds:6.2f} ex/s  {tokens / seconds:7.1f} tok/s", file=sys.stderr)

    def ours():
        open_cache(settings).clear(version.digest)  # a cold run: every answer generated
        return timed(lambda: evaluate_model(settings, version, show_progress=False, engines=engines))

    lm_eval = None if args.skip_lm_eval else LmEvalRunner(
        loaded, prompts, rows["reference"].tolist(), new_tokens, stop, bs)
    # Every runner once per round, the order rotating between rounds, best time of each kept:
    # load on a shared machine drifts, and this way it hits every runner alike.
    runs = {"ours": [], "ours-whole": [], "bare": [], "lm-eval": []}
    steps = {
        "ours": ours,
        "ours-whole": lambda: timed(lambda: [g.text for g in loaded.generate_until(
            prompts, max_new_tokens=new_tokens, stop=stop, batch_size=bs, share_prefix=False)]),
        "bare": lambda: timed(lambda: bare_batched(loaded, prompts, new_tokens, stop, bs)),
        "lm-eval": lambda: lm_eval.run(),
    }
    names = [name for name in steps if name != "lm-eval" or lm_eval is not None]
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            runs[name].append(steps[name]())
            print(f"  round {r + 1}: {name} done", file=sys.stderr)
    result = runs["ours"][0][0]
    assert result.metrics["generated_examples"] == n
    ours_texts = result.predictions["raw_output"].tolist()
    ours_tokens = int(result.predictions["output_tokens"].sum())
    generation = min(r.metrics["timings"]["generation_seconds"] for r, _ in runs["ours"])
    record("ours", generation, ours_tokens, end_to_end_seconds=min(s for _, s in runs["ours"]),
           accuracy=result.metrics["accuracy"])
    whole_texts = runs["ours-whole"][0][0]
    record("ours-whole", min(s for _, s in runs["ours-whole"]), ours_tokens)
    (bare_texts, bare_tokens), _ = runs["bare"][0]
    record("bare", min(s for _, s in runs["bare"]), bare_tokens)
    (naive_texts, naive_tokens), seconds = timed(lambda: naive_loop(loaded, prompts, new_tokens, stop))
    record("naive", seconds, naive_tokens)
    lm_texts = None
    if lm_eval is not None:
        lm_texts = runs["lm-eval"][0][0]
        record("lm-eval", min(g for _, g, _ in runs["lm-eval"]), ours_tokens,
               simple_evaluate_seconds=min(t for _, _, t in runs["lm-eval"]),
               note="generate_until time; tokens/s uses our output token count (same greedy outputs)")

    sizes = [int(s) for s in args.agreement_sizes.split(",")]
    by_size = {}
    for size in sizes:
        by_size[size] = ours_texts if size == bs else [
            g.text for g in loaded.generate_until(prompts, max_new_tokens=new_tokens, stop=stop, batch_size=size)]
    pairs = {f"{a}_vs_{b}": agreement(by_size[a], by_size[b]) for i, a in enumerate(sizes) for b in sizes[i + 1:]}
    ratios = {
        "ours_vs_bare": figures["ours"]["examples_per_second"] / figures["bare"]["examples_per_second"],
        "ours_vs_naive": figures["ours"]["examples_per_second"] / figures["naive"]["examples_per_second"],
        "ours_whole_vs_bare": figures["ours-whole"]["examples_per_second"] / figures["bare"]["examples_per_second"],
    }
    if lm_texts is not None:
        ratios["ours_vs_lm_eval"] = figures["ours"]["examples_per_second"] / figures["lm-eval"]["examples_per_second"]
    targets = {"ours_vs_bare": 0.9, "ours_vs_naive": 3.0, "ours_vs_lm_eval": 1.0, "ours_whole_vs_bare": 0.9}
    output_agreement = {
        "ours_vs_bare": agreement(ours_texts, bare_texts),
        "ours_vs_ours_whole": agreement(ours_texts, whole_texts),
        "ours_vs_naive": agreement(ours_texts, naive_texts),
        "ours_first_vs_last_round": agreement(ours_texts, runs["ours"][-1][0].predictions["raw_output"].tolist()),
    }
    if lm_texts is not None:
        output_agreement["ours_vs_lm_eval"] = agreement(ours_texts, [cut_at_stop(t, stop) for t in lm_texts])

    print(f"\n| runner | seconds | examples/s | output tokens/s |\n|---|---:|---:|---:|")
    for name, f in figures.items():
        print(f"| {name} | {f['seconds']:.1f} | {f['examples_per_second']:.2f} | {f['output_tokens_per_second']:.1f} |")
    print("\n| ratio (examples/s) | value | target | met |\n|---|---:|---:|---|")
    for name, value in ratios.items():
        print(f"| {name} | {value:.2f} | >= {targets[name]} | {'yes' if value >= targets[name] else 'NO'} |")
    print("\n| agreement of predictions | share |\n|---|---:|")
    for name, value in {**{f"batch {k}": v for k, v in pairs.items()}, **output_agreement}.items():
        print(f"| {name} | {value:.3f} |")
    payload = {
        "examples": n, "batch_size": bs, "max_new_tokens": new_tokens, "device": loaded.device,
        "model": BASE_REF.key, "figures": figures, "ratios": ratios, "targets": targets,
        "batch_size_agreement": pairs, "output_agreement": output_agreement,
        "torch_threads": torch.get_num_threads(), "rounds": args.rounds,
        "load_average": os.getloadavg(), "cpu_count": os.cpu_count(), "config": str(settings.config_path),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_eval.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'bench_eval.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
