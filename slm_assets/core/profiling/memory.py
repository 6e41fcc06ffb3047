"""Peak memory per phase: process RSS, and on NVIDIA torch's peak allocated plus NVML used memory.

RSS peak: where ``/proc/self/clear_refs`` is writable the kernel's high-water mark
(VmHWM) is reset at each phase start and read at its end (exact, no sampling);
otherwise a thread samples RSS. NVML used memory is always sampled by the thread.
"""

import re
import threading
from contextlib import contextmanager
from pathlib import Path

import psutil

from slm_assets.core.profiling.gpu import GpuLayer

MB = 1024 * 1024
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")  # "5" resets the peak RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _read_hwm_bytes() -> int | None:
    try:
        match = re.search(r"^VmHWM:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


class _Sampler(threading.Thread):
    def __init__(self, interval_s: float, sample_rss: bool, gpu: GpuLayer | None):
        super().__init__(daemon=True, name="memory-sampler")
        self._stop_event = threading.Event()
        self._interval = interval_s
        self._process = psutil.Process() if sample_rss else None
        self._gpu = gpu
        self.peak_rss = 0
        self.peak_nvml = 0

    def sample(self) -> None:
        if self._process is not None:
            self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
        if self._gpu is not None:
            self.peak_nvml = max(self.peak_nvml, self._gpu.nvml.used_memory_bytes())

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


class MemoryTracker:
    """``with tracker.phase("latency"): ...`` records that phase's peaks; ``report()`` sums them up."""

    def __init__(self, gpu: GpuLayer | None = None, interval_s: float = 0.02):
        self.gpu = gpu
        self.interval_s = interval_s
        self.phases: dict[str, dict] = {}

    @contextmanager
    def phase(self, name: str):
        hwm = _reset_hwm()
        if self.gpu is not None:
            self.gpu.cuda.reset_peak_memory()
        sampler = None
        if not hwm or self.gpu is not None:
            sampler = _Sampler(self.interval_s, sample_rss=not hwm, gpu=self.gpu)
            sampler.sample()
            sampler.start()
        try:
            yield
        finally:
            if sampler is not None:
                sampler.stop()
            peak_rss = _read_hwm_bytes() if hwm else None
            if peak_rss is None:
                peak_rss = sampler.peak_rss if sampler else psutil.Process().memory_info().rss
            entry = {"peak_rss_mb": peak_rss / MB, "rss_method": "vmhwm_reset" if hwm else "sampled"}
            if self.gpu is not None:
                entry["gpu_peak_allocated_mb"] = self.gpu.cuda.max_memory_allocated() / MB
                entry["nvml_peak_used_mb"] = sampler.peak_nvml / MB
            self.phases[name] = entry

    def report(self) -> dict:
        out: dict = {"phases": self.phases}
        if not self.phases:
            return out
        out["peak_rss_mb"] = max(p["peak_rss_mb"] for p in self.phases.values())
        if self.gpu is not None:
            out["gpu_peak_allocated_mb"] = max(p["gpu_peak_allocated_mb"] for p in self.phases.values())
            out["nvml_peak_used_mb"] = max(p["nvml_peak_used_mb"] for p in self.phases.values())
        return out
