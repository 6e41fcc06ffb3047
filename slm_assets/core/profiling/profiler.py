"""Orchestrates the trackers into one JSON-able profile of one model, or of several side by side.

``profile_model`` measures everything for one loaded model. ``profile_side_by_side``
interleaves models round by round (A B A B ...) for latency and throughput, so
candidate/baseline ratios come from the same run and share its drift.
Both give each result a flat ``summary`` of headline figures (see :func:`headline`).
"""

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from slm_assets.config import ProfilingConfig
from slm_assets.core.profiling.energy import RAPL_ROOT, measure_energy
from slm_assets.core.profiling.environment import fingerprint
from slm_assets.core.profiling.gpu import GpuLayer, open_gpu_layer
from slm_assets.core.profiling.latency import LatencyRounds, measure_latency
from slm_assets.core.profiling.memory import MemoryTracker
from slm_assets.core.profiling.model_facts import model_facts
from slm_assets.core.profiling.roofline import roofline, weight_bytes
from slm_assets.core.profiling.runner import GenerationRunner
from slm_assets.core.profiling.throughput import measure_throughput, merge_throughput

SCHEMA_VERSION = 1
AUTO = "auto"
Progress = Callable[[str], None] | None


def _say(progress: Progress, message: str) -> None:
    if progress:
        progress(message)


def _runner(loaded: Any, gpu: GpuLayer | None) -> GenerationRunner:
    loaded.model.eval()
    return GenerationRunner(loaded.model, loaded.tokenizer, loaded.device, gpu.cuda if gpu else None)


def _warm_up(runner: GenerationRunner, prompts: list[str], cfg: ProfilingConfig) -> None:
    # Uncounted: first calls pay for lazy initialisation, allocator growth and caches.
    for i in range(cfg.warmup_runs):
        runner.generate(runner.encode([prompts[i % len(prompts)]]), cfg.latency_new_tokens)


def profile_model(
    loaded: Any,
    prompts: list[str],
    cfg: ProfilingConfig,
    gpu: GpuLayer | None | str = AUTO,
    progress: Progress = None,
    rapl_root=RAPL_ROOT,
) -> dict:
    """Every figure for one model: latency, throughput, memory, energy, roofline, environment.

    ``loaded`` carries ``model``, ``tokenizer``, ``device`` (and ``load_seconds``, ``path``,
    ``dtype`` when known). ``gpu`` defaults to the real NVML/CUDA layer on a CUDA device;
    tests pass a fake one.
    """
    if not prompts:
        raise ValueError("profile_model needs at least one prompt")
    gpu = open_gpu_layer(loaded.device) if gpu == AUTO else gpu
    runner = _runner(loaded, gpu)
    memory = MemoryTracker(gpu)
    _say(progress, "measuring memory bandwidth and environment")
    env = fingerprint(str(runner.device), gpu, cfg.bandwidth_test_mb)
    _say(progress, f"warm-up: {cfg.warmup_runs} uncounted runs")
    _warm_up(runner, prompts, cfg)
    latency = measure_latency(runner, prompts, cfg.latency_new_tokens, cfg.latency_min_seconds,
                              cfg.latency_prompts, cfg.repeats, cfg.max_relative_dispersion,
                              phase=memory.phase, progress=progress)
    throughput = measure_throughput(runner, prompts, cfg.batch_sizes, cfg.throughput_new_tokens,
                                    cfg.repeats, cfg.max_relative_dispersion,
                                    phase=memory.phase, progress=progress)
    _say(progress, f"energy: idle {cfg.idle_seconds:g} s, then a {cfg.energy_window_seconds:g} s window")
    rounds = LatencyRounds(runner, prompts, cfg.latency_new_tokens)
    with memory.phase("energy"):
        energy = measure_energy(rounds.run_once, cfg.energy_window_seconds, cfg.idle_seconds,
                                cfg.cpu_watts_per_core, gpu=gpu, rapl_root=rapl_root)
    profile = {
        "schema_version": SCHEMA_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "config": cfg.model_dump(mode="json"),
        "model": model_facts(loaded),
        "environment": env,
        "latency": latency,
        "throughput": throughput,
        "memory": memory.report(),
        "energy": energy,
        "roofline": roofline(weight_bytes(loaded.model), env["memory_bandwidth_gbps"],
                             latency["decode_tokens_per_second"]),
    }
    profile["noise"] = noise_verdict(profile)
    profile["summary"] = headline(profile)
    return profile


def profile_side_by_side(
    loaded_models: list[Any],
    prompts: list[str],
    cfg: ProfilingConfig,
    rounds: int,
    gpu: GpuLayer | None | str = AUTO,
    progress: Progress = None,
    more_rounds: Callable[[list[dict]], bool] | None = None,
    max_rounds: int | None = None,
) -> list[dict]:
    """Latency and throughput of several models, interleaved A B A B ... over ``rounds`` rounds.

    Each round gives every model 1/``rounds`` of the configured latency window and one
    throughput run per batch size. After ``rounds`` rounds, while ``more_rounds(results so far)``
    says so, further rounds run, up to ``max_rounds`` in all. Returns one result per model, in the
    given order, with the same ``latency``/``throughput``/``memory``/``roofline``/``summary`` shape
    as ``profile_model`` (no energy: that window is too long to interleave). Process RSS is shared
    by every loaded model, so compare ``gpu_peak_allocated_mb`` rather than RSS between them.
    """
    if not prompts:
        raise ValueError("profile_side_by_side needs at least one prompt")
    layers = [open_gpu_layer(m.device) if gpu == AUTO else gpu for m in loaded_models]
    runners = [_runner(m, layer) for m, layer in zip(loaded_models, layers, strict=True)]
    trackers = [MemoryTracker(layer) for layer in layers]
    latency = [LatencyRounds(r, prompts, cfg.latency_new_tokens) for r in runners]
    sweeps: list[list[dict]] = [[] for _ in runners]
    env = fingerprint(str(runners[0].device), layers[0], cfg.bandwidth_test_mb)
    for runner in runners:
        _warm_up(runner, prompts, cfg)
    per_round_requests = max(1, math.ceil(cfg.latency_prompts / rounds))
    budget = max(rounds, max_rounds or rounds)
    done = 0
    while done < budget:
        done += 1
        for i, runner in enumerate(runners):
            _say(progress, f"side by side round {done}/{rounds if done <= rounds else budget}: model {i + 1}/{len(runners)}")
            with trackers[i].phase(f"latency_round{done}"):
                latency[i].round(per_round_requests, cfg.latency_min_seconds / rounds)
            sweeps[i].append(measure_throughput(runner, prompts, cfg.batch_sizes, cfg.throughput_new_tokens,
                                                1, cfg.max_relative_dispersion, phase=trackers[i].phase))
        if done >= rounds and (more_rounds is None or done == budget
                               or not more_rounds(_side_by_side_results(loaded_models, latency, sweeps, trackers, env, cfg))):
            break
    return _side_by_side_results(loaded_models, latency, sweeps, trackers, env, cfg)


def _side_by_side_results(loaded_models, latency, sweeps, trackers, env, cfg: ProfilingConfig) -> list[dict]:
    results = []
    for i, loaded in enumerate(loaded_models):
        lat = latency[i].summary(cfg.max_relative_dispersion)
        result = {
            "schema_version": SCHEMA_VERSION,
            "side_by_side": {"rounds": len(sweeps[i]), "position": i, "models": len(loaded_models)},
            "model": model_facts(loaded),
            "environment": env,
            "latency": lat,
            "throughput": merge_throughput(sweeps[i], cfg.max_relative_dispersion),
            "memory": trackers[i].report(),
            "energy": None,
            "roofline": roofline(weight_bytes(loaded.model), env["memory_bandwidth_gbps"],
                                 lat["decode_tokens_per_second"]),
        }
        result["noise"] = noise_verdict(result)
        result["summary"] = headline(result)
        results.append(result)
    return results


def noise_verdict(profile: dict) -> dict:
    checks = [profile["latency"]["dispersion"]] + [b["dispersion"] for b in profile["throughput"]["batches"]]
    reasons = [c["reason"] for c in checks if c["noisy"]]
    return {"noisy": bool(reasons), "reasons": reasons}


def headline(profile: dict) -> dict:
    """Flat figures for metadata, comparisons and trends (numbers, plus a few labels)."""
    lat, thr, mem = profile["latency"], profile["throughput"], profile["memory"]
    energy, roof, model = profile.get("energy") or {}, profile["roofline"], profile["model"]
    gpu_peak = mem.get("gpu_peak_allocated_mb")
    out: dict[str, Any] = {f"latency_{k}": lat[k] for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "mean_ms", "std_ms")}
    out.update(
        ttft_ms=lat["ttft_ms"],
        tpot_ms=lat["tpot_ms"],
        decode_tokens_per_second=lat["decode_tokens_per_second"],
        tokens_per_second=thr["best_tokens_per_second"],
        best_batch_size=thr["best_batch_size"],
        oom_batch_size=thr["oom"]["batch_size"] if thr["oom"] else None,
        peak_rss_mb=mem.get("peak_rss_mb"),
        gpu_peak_allocated_mb=gpu_peak,
        nvml_peak_used_mb=mem.get("nvml_peak_used_mb"),
        peak_memory_mb=gpu_peak if gpu_peak is not None else mem.get("peak_rss_mb"),
        energy_j_per_inference=energy.get("j_per_inference"),
        energy_method=energy.get("method"),
        load_seconds=model["load_seconds"],
        size_mb=model["size_mb"],
        parameters=model["parameters"],
        memory_bandwidth_gbps=roof["bandwidth_gbps"],
        roofline_bound_tokens_per_second=roof["bound_tokens_per_second"],
        roofline_share=roof["share"],
        latency_noisy=lat["dispersion"]["noisy"],
        throughput_noisy=any(b["dispersion"]["noisy"] for b in thr["batches"]),
        noisy=profile["noise"]["noisy"],
    )
    for b in thr["batches"]:
        out[f"tokens_per_second_bs{b['batch_size']}"] = b["tokens_per_second"]
        out[f"requests_per_second_bs{b['batch_size']}"] = b["requests_per_second"]
    return out
