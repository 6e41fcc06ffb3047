"""A fake CUDA + NVML layer: the GPU code paths run on CPU with known answers."""

import time

MB = 1024 * 1024


class FakeCuda:
    def __init__(self, peak_allocated_bytes: int = 123 * MB):
        self.syncs = 0
        self.resets = 0
        self.empty_cache_calls = 0
        self.peak_allocated_bytes = peak_allocated_bytes

    def synchronize(self) -> None:
        self.syncs += 1

    def reset_peak_memory(self) -> None:
        self.resets += 1

    def max_memory_allocated(self) -> int:
        return self.peak_allocated_bytes

    def empty_cache(self) -> None:
        self.empty_cache_calls += 1

    def version(self) -> str:
        return "12.8"


class FakeNvml:
    """Energy = idle watts x elapsed time + a fixed cost per CUDA synchronisation, in whole mJ like NVML.

    A timed inference synchronises twice (before and after), so it costs 2 x ``joules_per_sync``
    above idle: the figure the profiler must recover after subtracting idle power.
    """

    def __init__(self, cuda: FakeCuda, idle_watts: float = 60.0, joules_per_sync: float = 0.2,
                 used_bytes: int = 2048 * MB, clock=time.perf_counter):
        self.cuda = cuda
        self.idle_watts = idle_watts
        self.joules_per_sync = joules_per_sync
        self.used_bytes = used_bytes
        self.clock = clock
        self.t0 = clock()

    def name(self) -> str:
        return "Fake H100"

    def driver_version(self) -> str:
        return "570.00"

    def used_memory_bytes(self) -> int:
        return self.used_bytes

    def total_energy_mj(self) -> int:
        joules = self.idle_watts * (self.clock() - self.t0) + self.joules_per_sync * self.cuda.syncs
        return int(joules * 1000)

    def power_mw(self) -> int:
        return int(self.idle_watts * 1000)
