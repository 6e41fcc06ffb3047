"""Each tracker on the tiny model (or on fakes where the hardware is the point)."""

import mmap
import time

import psutil
import pytest
import torch

from slm_assets.core.profiling import memory as memory_module
from slm_assets.core.profiling.energy import measure_energy
from slm_assets.core.profiling.environment import fingerprint, memory_bandwidth_gbps
from slm_assets.core.profiling.gpu import GpuLayer
from slm_assets.core.profiling.latency import measure_latency
from slm_assets.core.profiling.memory import MB, MemoryTracker
from slm_assets.core.profiling.noise import dispersion
from slm_assets.core.profiling.roofline import roofline, weight_bytes
from slm_assets.core.profiling.throughput import is_out_of_memory, measure_throughput

from .fakes import FakeCuda, FakeNvml


def test_latency_percentiles_ttft_and_tpot(tiny_engine, prompts):
    started = time.perf_counter()
    result = measure_latency(tiny_engine, prompts, new_tokens=4, min_seconds=0.3, min_requests=5, repeats=2,
                             max_dispersion=1e9)
    assert time.perf_counter() - started >= 0.3
    assert result["requests"] >= 6  # ceil(5 / 2) per round, two rounds
    assert len(result["samples_ms"]) == result["requests"]
    assert result["p50_ms"] <= result["p90_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert result["p99_ms"] <= max(result["samples_ms"]) + 1e-3
    assert 0 < result["ttft_ms"] < result["p99_ms"]
    # First token plus three more steps fits inside one request's total.
    assert result["ttft_ms"] + 3 * result["tpot_ms"] <= result["p99_ms"]
    assert result["decode_tokens_per_second"] == pytest.approx(1000 / result["tpot_ms"])
    assert len(result["rounds"]) == 2 and result["dispersion"]["n"] == 2


def test_throughput_fixed_output_length(tiny_engine, prompts):
    result = measure_throughput(tiny_engine, prompts, [2, 1], new_tokens=3, repeats=2, max_dispersion=1e9)
    assert [b["batch_size"] for b in result["batches"]] == [1, 2]
    for b in result["batches"]:
        assert b["output_tokens"] == b["batch_size"] * 3
        assert len(b["seconds"]) == 2
        assert b["tokens_per_second"] == pytest.approx(3 * b["requests_per_second"])
    assert result["oom"] is None
    assert result["best_tokens_per_second"] == max(b["tokens_per_second"] for b in result["batches"])


class _OomAbove:
    """The engine, raising the given error once a batch reaches ``limit`` rows; records every batch size tried."""

    def __init__(self, engine, limit: int, error: BaseException):
        self.engine, self.limit, self.error, self.tried = engine, limit, error, []
        self.capabilities = engine.capabilities

    def generate_fixed(self, prompts, *, new_tokens, timed=False):
        self.tried.append(len(prompts))
        if len(prompts) >= self.limit:
            raise self.error
        return self.engine.generate_fixed(prompts, new_tokens=new_tokens, timed=timed)


@pytest.mark.parametrize("error", [
    torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    MemoryError(),
    RuntimeError("[enforce fail] DefaultCPUAllocator: not enough memory: out of memory"),
])
def test_throughput_stops_at_first_oom_and_records_it(tiny_engine, prompts, error):
    cuda = FakeCuda()
    oom_runner = _OomAbove(tiny_engine, limit=4, error=error)
    result = measure_throughput(oom_runner, prompts, [1, 2, 4, 8], new_tokens=2, repeats=1, max_dispersion=1e9,
                                free_memory=cuda.empty_cache)
    assert [b["batch_size"] for b in result["batches"]] == [1, 2]
    assert result["oom"]["batch_size"] == 4
    assert type(error).__name__ in result["oom"]["error"]
    assert 8 not in oom_runner.tried  # the sweep stopped
    assert cuda.empty_cache_calls == 1


def test_errors_other_than_oom_are_raised(tiny_engine, prompts):
    bad = _OomAbove(tiny_engine, limit=2, error=ValueError("broken model"))
    assert not is_out_of_memory(ValueError("out of memory"))
    with pytest.raises(ValueError, match="broken model"):
        measure_throughput(bad, prompts, [1, 2], new_tokens=2, repeats=1, max_dispersion=1e9)


def test_dispersion_flags_noise():
    steady = dispersion([10.0, 10.1, 9.9], 0.05, "x")
    assert not steady["noisy"] and steady["reason"] is None and steady["cv"] < 0.05
    noisy = dispersion([10.0, 20.0, 30.0], 0.05, "tokens/s at batch 8")
    assert noisy["noisy"] and noisy["cv"] == pytest.approx(0.5)
    assert "tokens/s at batch 8" in noisy["reason"] and "50.0%" in noisy["reason"]
    single = dispersion([3.0], 0.05, "x")
    assert single["cv"] is None and not single["noisy"] and "fewer than two" in single["reason"]


def _hold_memory(megabytes: int, seconds: float) -> None:
    # A fresh anonymous mapping touched page by page: in a long test session malloc may
    # serve a large array from pages that are already resident, and RSS would not move.
    size = int(megabytes * MB)
    block = mmap.mmap(-1, size)
    for offset in range(0, size, mmap.PAGESIZE):
        block[offset] = 1
    time.sleep(seconds)
    block.close()


@pytest.mark.parametrize("hwm_reset", [True, False])
def test_memory_peak_rss_per_phase(monkeypatch, hwm_reset):
    if not hwm_reset:
        monkeypatch.setattr(memory_module, "_reset_hwm", lambda: False)
    elif not memory_module._reset_hwm():
        pytest.skip("/proc/self/clear_refs not writable here")
    tracker = MemoryTracker(interval_s=0.005)
    before = psutil.Process().memory_info().rss / MB
    with tracker.phase("small"):
        pass
    with tracker.phase("big"):
        _hold_memory(96, 0.1)
    phases = tracker.report()["phases"]
    assert phases["big"]["rss_method"] == ("vmhwm_reset" if hwm_reset else "sampled")
    assert phases["big"]["peak_rss_mb"] >= before + 90
    assert phases["small"]["peak_rss_mb"] < phases["big"]["peak_rss_mb"] - 80
    assert tracker.report()["peak_rss_mb"] == phases["big"]["peak_rss_mb"]


def test_memory_on_gpu_reads_torch_peak_and_nvml_per_phase():
    cuda = FakeCuda(peak_allocated_bytes=300 * MB)
    gpu = GpuLayer(cuda=cuda, nvml=FakeNvml(cuda, used_bytes=1500 * MB))
    tracker = MemoryTracker(gpu, interval_s=0.005)
    for name in ("latency", "throughput_bs1"):
        with tracker.phase(name):
            time.sleep(0.02)
    report = tracker.report()
    assert cuda.resets == 2  # torch's peak is reset at each phase start
    assert report["gpu_peak_allocated_mb"] == pytest.approx(300)
    assert report["nvml_peak_used_mb"] == pytest.approx(1500)


class _Scripted:
    """A fake clock and power meter: sleeping draws idle power, each inference a known busy power."""

    def __init__(self, idle_watts: float, busy_watts: float, seconds_per_inference: float):
        self.t = 0.0
        self.joules = 0.0
        self.idle_watts, self.busy_watts, self.step = idle_watts, busy_watts, seconds_per_inference

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.joules += self.idle_watts * seconds

    def run_once(self) -> None:
        self.t += self.step
        self.joules += self.busy_watts * self.step


class _MeterNvml(FakeNvml):
    def __init__(self, meter: _Scripted):
        super().__init__(FakeCuda())
        self.meter = meter

    def total_energy_mj(self) -> int:
        return int(round(self.meter.joules * 1000))


def test_energy_nvml_counter_subtracts_idle_and_divides_by_inferences():
    meter = _Scripted(idle_watts=40.0, busy_watts=150.0, seconds_per_inference=0.5)
    nvml = _MeterNvml(meter)
    result = measure_energy(meter.run_once, window_seconds=2.0, idle_seconds=2.0, cpu_watts_per_core=10,
                            gpu=GpuLayer(cuda=nvml.cuda, nvml=nvml), clock=meter.clock, sleep=meter.sleep)
    assert result["method"] == "nvml_energy_counter"
    assert result["inferences"] == 4
    assert result["idle_watts"] == pytest.approx(40.0)
    assert result["gross_joules"] == pytest.approx(300.0)  # 150 W x 2 s
    assert result["net_joules"] == pytest.approx(220.0)  # minus 40 W x 2 s
    assert result["j_per_inference"] == pytest.approx(55.0)


def _rapl_zone(root, name, energy_uj, max_range_uj):
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "energy_uj").write_text(str(energy_uj))
    (zone / "max_energy_range_uj").write_text(str(max_range_uj))
    return zone


def test_energy_rapl_unwraps_the_counter(tmp_path):
    package = _rapl_zone(tmp_path, "intel-rapl:0", 999_000_000, 1_000_000_000)
    _rapl_zone(tmp_path, "intel-rapl:0:0", 0, 1_000_000_000)  # a sub-zone, already inside the package
    meter = _Scripted(idle_watts=5.0, busy_watts=25.0, seconds_per_inference=1.0)

    def write_counter():
        (package / "energy_uj").write_text(str(int(999_000_000 + meter.joules * 1e6) % 1_000_000_000))

    def sleep(seconds):
        meter.sleep(seconds)
        write_counter()

    def run_once():
        meter.run_once()
        write_counter()

    result = measure_energy(run_once, window_seconds=2.0, idle_seconds=1.0, cpu_watts_per_core=10,
                            rapl_root=tmp_path, clock=meter.clock, sleep=sleep)
    assert result["method"] == "rapl" and "intel-rapl:0" in result["note"]
    assert result["idle_watts"] == pytest.approx(5.0)
    assert result["gross_joules"] == pytest.approx(50.0)  # across the wrap at 1000 J
    assert result["j_per_inference"] == pytest.approx(20.0)


def test_energy_without_rapl_is_an_estimate_and_says_so(tmp_path):
    def busy():
        end = time.process_time() + 0.03
        while time.process_time() < end:
            pass

    process = psutil.Process()
    cpu_before = sum(process.cpu_times()[:2])
    result = measure_energy(busy, window_seconds=0.1, idle_seconds=5.0, cpu_watts_per_core=10, rapl_root=tmp_path)
    cpu_spent = sum(process.cpu_times()[:2]) - cpu_before
    assert result["method"] == "estimated"
    assert result["note"].startswith("estimated, not measured")
    assert result["idle_watts"] == 0.0  # no idle window: the model counts busy CPU time only
    # psutil reads CPU time in 10 ms clock ticks: a 30 ms call can count as 20 ms on a busy machine.
    assert 0.03 * 10 * 0.5 <= result["j_per_inference"]
    assert result["gross_joules"] <= 10 * cpu_spent + 1e-6


def test_environment_fingerprint():
    env = fingerprint("cpu", None, bandwidth_mb=8)
    assert env["cpu_logical_cores"] >= 1 and env["torch_threads"] >= 1
    assert env["memory_bandwidth_gbps"] > 0.1
    assert env["torch"] == torch.__version__ and env["transformers"]
    assert env["gpu_name"] is None and env["bandwidth_of"] == "cpu"
    cuda = FakeCuda()
    gpu_env = fingerprint("cpu", GpuLayer(cuda=cuda, nvml=FakeNvml(cuda)), bandwidth_mb=8)
    assert (gpu_env["gpu_name"], gpu_env["gpu_driver"], gpu_env["cuda"]) == ("Fake H100", "570.00", "12.8")
    assert memory_bandwidth_gbps("cpu", 8, repeats=2) > 0.1


def test_roofline_arithmetic(tiny_engine):
    expected = sum(p.numel() for p in tiny_engine.model.parameters()) * 4  # fp32
    assert weight_bytes(tiny_engine.model) == expected == tiny_engine.facts().weight_bytes
    r = roofline(500_000_000, bandwidth_gbps=10.0, decode_tokens_per_second=15.0)
    assert r["bound_tokens_per_second"] == pytest.approx(20.0)
    assert r["share"] == pytest.approx(0.75)
    assert roofline(500_000_000, 10.0, None)["share"] is None
