"""Energy per inference over a measured window, with the idle draw taken off.

Sources, best first:
- ``nvml_energy_counter``: on NVIDIA, NVML's total-energy counter (mJ, Volta and newer);
- ``rapl``: on CPU, ``/sys/class/powercap/intel-rapl:N/energy_uj`` (package zones) when readable;
- ``estimated``: otherwise a power model, ``cpu_watts_per_core`` x busy cores x time, i.e. watts
  per core x this process's CPU seconds. It is an estimate, labelled as one; it counts only busy
  cores, so there is no idle baseline to subtract.

For the measured sources the idle power is read over ``idle_seconds`` just before the window;
joules per inference = (window energy - idle watts x window seconds) / inferences.
"""

import time
from collections.abc import Callable
from pathlib import Path

import psutil

from slm_assets.core.profiling.gpu import GpuLayer

RAPL_ROOT = Path("/sys/class/powercap")


class RaplCounter:
    """Sum of the package-level RAPL zones, in joules, unwrapping counter overflow."""

    def __init__(self, root: Path = RAPL_ROOT):
        self.zones = sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)
        if not self.zones:
            raise OSError(f"no RAPL package zone under {root}")
        self._ranges = [int((z / "max_energy_range_uj").read_text()) for z in self.zones]
        self._last = [self._read(z) for z in self.zones]
        self._total_uj = 0

    @staticmethod
    def _read(zone: Path) -> int:
        return int((zone / "energy_uj").read_text())

    def __call__(self) -> float:
        for i, zone in enumerate(self.zones):
            now = self._read(zone)
            delta = now - self._last[i]
            self._total_uj += delta if delta >= 0 else delta + self._ranges[i]
            self._last[i] = now
        return self._total_uj / 1e6


def open_rapl(root: Path = RAPL_ROOT) -> RaplCounter | None:
    try:
        return RaplCounter(root)
    except (OSError, ValueError):
        return None  # absent, or root-only energy_uj (common since CVE-2020-8694)


def measure_energy(
    run_once: Callable[[], None],
    window_seconds: float,
    idle_seconds: float,
    cpu_watts_per_core: float,
    gpu: GpuLayer | None = None,
    rapl_root: Path = RAPL_ROOT,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Run ``run_once`` (one synchronised inference) until ``window_seconds`` have passed."""
    counter, method, note = _choose_counter(gpu, rapl_root, cpu_watts_per_core)
    if counter is None:
        return {"method": "unavailable", "j_per_inference": None, "note": note}
    idle_watts = 0.0
    if method != "estimated" and idle_seconds > 0:
        e0, t0 = counter(), clock()
        sleep(idle_seconds)
        e1, t1 = counter(), clock()
        idle_watts = (e1 - e0) / (t1 - t0)
    e0, t0 = counter(), clock()
    inferences = 0
    while inferences == 0 or clock() - t0 < window_seconds:
        run_once()
        inferences += 1
    e1, t1 = counter(), clock()
    seconds = t1 - t0
    gross = e1 - e0
    net = max(gross - idle_watts * seconds, 0.0)
    return {
        "method": method,
        "note": note,
        "window_seconds": seconds,
        "inferences": inferences,
        "idle_watts": idle_watts,
        "gross_joules": gross,
        "net_joules": net,
        "average_watts": gross / seconds if seconds > 0 else None,
        "j_per_inference": net / inferences,
    }


def _choose_counter(gpu: GpuLayer | None, rapl_root: Path, watts_per_core: float):
    if gpu is not None:
        if gpu.nvml.total_energy_mj() is None:
            return None, "unavailable", "this GPU has no NVML total-energy counter (pre-Volta)"
        return (lambda: gpu.nvml.total_energy_mj() / 1000.0), "nvml_energy_counter", "NVML total-energy counter, idle subtracted"
    rapl = open_rapl(rapl_root)
    if rapl is not None:
        return rapl, "rapl", f"RAPL package zones {', '.join(z.name for z in rapl.zones)}, idle subtracted"
    process = psutil.Process()

    def cpu_joules() -> float:
        t = process.cpu_times()
        return (t.user + t.system) * watts_per_core

    note = (f"estimated, not measured: RAPL unreadable; {watts_per_core:g} W per busy core "
            "x this process's CPU seconds (profiling.cpu_watts_per_core)")
    return cpu_joules, "estimated", note
