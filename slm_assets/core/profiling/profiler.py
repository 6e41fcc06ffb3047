"""Orchestrates the trackers into one JSON-able profile of one engine, or of several side by side.

``profile_model`` measures everything for one loaded engine. ``profile_side_by_side``
interleaves engines round by round (A B A B ...) for latency and throughput, so
candidate/baseline ratios come from the same run and share its drift.
Both give each result a flat ``summary`` of headline figures (see :func:`headline`).

Every figure comes from the engine's ``generate_fixed``, the decoder that produced the evaluated
answers. Memory is the engine's alone (``memory.method``): torch's peak allocated on CUDA; on
CPU the peak RSS of a fresh process (``memory_probe``, see ``isolated_memory``), else this
process's RSS, labelled as such; "not measured: remote" for a server. Energy likewise.
"""

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from slm_assets.config import ProfilingConfig
from slm_assets.core.inference.base import Engine
from slm_assets.core.profiling.energy import RAPL_ROOT, measure_energy
from slm_assets.core.profiling.environment import fingerprint
from slm_assets.core.profiling.gpu import GpuLayer, open_gpu_layer
from slm_assets.core.profiling.latency import LatencyRounds, measure_latency
from slm_assets.core.profiling.memory import MemoryTracker
from slm_assets.core.profiling.model_facts import model_facts
from slm_assets.core.profiling.roofline import roofline
from slm_assets.core.profiling.throughput import measure_throughput, merge_throughput

SCHEMA_VERSION = 2
AUTO = "auto"
REMOTE = "not measured: remote"
Progress = Callable[[str], None] | None
MemoryProbe = Callable[[], dict] | None


def _say(progress: Progress, message: str) -> None:
    if progress:
        progress(message)


def _gpu_of(engine: Engine, gpu: GpuLayer | None | str) -> GpuLayer | None:
    if gpu != AUTO:
        return gpu
    return None if engine.capabilities.remote else open_gpu_layer(engine.facts().device)


def _warm_up(engine: Engine, prompts: list[str], cfg: ProfilingConfig) -> None:
    # Uncounted: first calls pay for lazy initialisation, allocator growth and caches.
    for i in range(cfg.warmup_runs):
        engine.generate_fixed([prompts[i % len(prompts)]], new_tokens=cfg.latency_new_tokens)


def _memory(engine: Engine, tracker: MemoryTracker, probe: MemoryProbe, progress: Progress) -> dict:
    if not engine.capabilities.measures_memory:
        return {"method": REMOTE, "phases": {}}
    if tracker.gpu is not None:
        return {**tracker.report(), "method": "torch_peak_allocated"}
    if probe is not None:
        _say(progress, "memory: peak RSS of the engine alone, in a fresh process")
        return probe()
    return {**tracker.report(), "method": "in_process",
            "note": "RSS of the profiling process: includes whatever it held before this engine"}


def _energy(engine: Engine, rounds: LatencyRounds, cfg: ProfilingConfig, gpu, rapl_root, tracker) -> dict:
    if not engine.capabilities.measures_energy:
        return {"method": REMOTE, "j_per_inference": None, "note": "the server's hardware is not visible from here"}
    with tracker.phase("energy"):
        return measure_energy(rounds.run_once, cfg.energy_window_seconds, cfg.idle_seconds,
                              cfg.cpu_watts_per_core, gpu=gpu, rapl_root=rapl_root)


def profile_model(
    engine: Engine,
    prompts: list[str],
    cfg: ProfilingConfig,
    gpu: GpuLayer | None | str = AUTO,
    progress: Progress = None,
    rapl_root=RAPL_ROOT,
    memory_probe: MemoryProbe = None,
) -> dict:
    """Every figure for one engine: latency, throughput, memory, energy, roofline, environment.

    ``gpu`` defaults to the real NVML/CUDA layer on a CUDA device; tests pass a fake one.
    ``memory_probe`` returns the engine's memory measured in isolation (used on CPU).
    """
    if not prompts:
        raise ValueError("profile_model needs at least one prompt")
    gpu = _gpu_of(engine, gpu)
    facts = model_facts(engine)
    tracker = MemoryTracker(gpu)
    _say(progress, "measuring memory bandwidth and environment")
    env = fingerprint(facts["device"] if gpu is not None else "cpu", gpu, cfg.bandwidth_test_mb)
    _say(progress, f"warm-up: {cfg.warmup_runs} uncounted runs")
    _warm_up(engine, prompts, cfg)
    latency = measure_latency(engine, prompts, cfg.latency_new_tokens, cfg.latency_min_seconds,
                              cfg.latency_prompts, cfg.repeats, cfg.max_relative_dispersion,
                              phase=tracker.phase, progress=progress)
    throughput = measure_throughput(engine, prompts, cfg.batch_sizes, cfg.throughput_new_tokens,
                                    cfg.repeats, cfg.max_relative_dispersion, phase=tracker.phase,
                                    progress=progress, free_memory=gpu.cuda.empty_cache if gpu else None)
    _say(progress, f"energy: idle {cfg.idle_seconds:g} s, then a {cfg.energy_window_seconds:g} s window")
    energy = _energy(engine, LatencyRounds(engine, prompts, cfg.latency_new_tokens), cfg, gpu, rapl_root, tracker)
    profile = {
        "schema_version": SCHEMA_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "config": cfg.model_dump(mode="json"),
        "model": facts,
        "environment": env,
        "latency": latency,
        "throughput": throughput,
        "memory": _memory(engine, tracker, memory_probe, progress),
        "energy": energy,
        "roofline": roofline(facts["weight_bytes"] or 0, env["memory_bandwidth_gbps"],
                             latency["decode_tokens_per_second"]),
    }
    profile["noise"] = noise_verdict(profile)
    profile["summary"] = headline(profile)
    return profile


def profile_side_by_side(
    engines: list[Engine],
    prompts: list[str],
    cfg: ProfilingConfig,
    rounds: int,
    gpu: GpuLayer | None | str = AUTO,
    progress: Progress = None,
    memory_probes: list[MemoryProbe] | None = None,
    more_rounds: Callable[[list[dict]], bool] | None = None,
    max_rounds: int | None = None,
) -> list[dict]:
    """Latency and throughput of several engines, interleaved A B A B ... over ``rounds`` rounds.

    Each round gives every engine 1/``rounds`` of the configured latency window and one
    throughput run per batch size. After ``rounds`` rounds, while ``more_rounds(results so far)``
    says so, further rounds run, up to ``max_rounds`` in all (the results passed to it carry the
    in-process memory figures: the probes run once, at the end). Returns one result per engine, in
    the given order, with the same ``latency``/``throughput``/``memory``/``roofline``/``summary``
    shape as ``profile_model`` (no energy: that window is too long to interleave). Memory is each
    engine's own measure (``memory_probes``, one per engine, on CPU: process RSS is shared by
    every loaded engine).
    """
    if not prompts:
        raise ValueError("profile_side_by_side needs at least one prompt")
    layers = [_gpu_of(e, gpu) for e in engines]
    facts = [model_facts(e) for e in engines]
    trackers = [MemoryTracker(layer) for layer in layers]
    latency = [LatencyRounds(e, prompts, cfg.latency_new_tokens) for e in engines]
    sweeps: list[list[dict]] = [[] for _ in engines]
    env = fingerprint(facts[0]["device"] if layers[0] is not None else "cpu", layers[0], cfg.bandwidth_test_mb)
    for engine in engines:
        _warm_up(engine, prompts, cfg)
    per_round_requests = max(1, math.ceil(cfg.latency_prompts / rounds))
    budget = max(rounds, max_rounds or rounds)
    done = 0
    probes = memory_probes or [None] * len(engines)

    def results(final: bool) -> list[dict]:
        memory = [_memory(e, trackers[i], probes[i] if final else None, progress) for i, e in enumerate(engines)]
        return [_side_by_side_result({"rounds": len(sweeps[i]), "position": i, "models": len(engines)}, facts[i], env,
                                     latency[i], sweeps[i], memory[i], cfg) for i in range(len(engines))]

    while done < budget:
        done += 1
        for i, engine in enumerate(engines):
            _say(progress, f"side by side round {done}/{rounds if done <= rounds else budget}: "
                           f"model {i + 1}/{len(engines)}")
            with trackers[i].phase(f"latency_round{done}"):
                latency[i].round(per_round_requests, cfg.latency_min_seconds / rounds)
            sweeps[i].append(measure_throughput(engine, prompts, cfg.batch_sizes, cfg.throughput_new_tokens,
                                                1, cfg.max_relative_dispersion, phase=trackers[i].phase))
        if done >= rounds and (more_rounds is None or done == budget or not more_rounds(results(final=False))):
            break
    return results(final=True)


def _side_by_side_result(where: dict, facts: dict, env: dict, latency: LatencyRounds, sweeps: list[dict],
                         memory: dict, cfg: ProfilingConfig) -> dict:
    lat = latency.summary(cfg.max_relative_dispersion)
    result = {
        "schema_version": SCHEMA_VERSION,
        "side_by_side": where,
        "model": facts,
        "environment": env,
        "latency": lat,
        "throughput": merge_throughput(sweeps, cfg.max_relative_dispersion),
        "memory": memory,
        "energy": None,
        "roofline": roofline(facts["weight_bytes"] or 0, env["memory_bandwidth_gbps"], lat["decode_tokens_per_second"]),
    }
    result["noise"] = noise_verdict(result)
    result["summary"] = headline(result)
    return result


def noise_verdict(profile: dict) -> dict:
    checks = [profile["latency"]["dispersion"]] + [b["dispersion"] for b in profile["throughput"]["batches"]]
    reasons = [c["reason"] for c in checks if c["noisy"]]
    return {"noisy": bool(reasons), "reasons": reasons}


def headline(profile: dict) -> dict:
    """Flat figures for metadata, comparisons and trends (numbers, plus a few labels)."""
    lat, thr, mem = profile["latency"], profile["throughput"], profile["memory"]
    energy, roof, model = profile.get("energy") or {}, profile["roofline"], profile["model"]
    gpu_peak = mem.get("gpu_peak_allocated_mb")
    peak_memory = gpu_peak if gpu_peak is not None else mem.get("peak_rss_mb")
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
        peak_memory_mb=peak_memory,
        memory_method=mem.get("method"),
        energy_j_per_inference=energy.get("j_per_inference"),
        energy_method=energy.get("method"),
        engine=model["engine"],
        format=model["format"],
        precision=model["precision"],
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
