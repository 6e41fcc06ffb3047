"""The CUDA side of profiling, behind one small object that tests can fake.

:class:`GpuLayer` bundles the two things the trackers need on NVIDIA: CUDA
(synchronise before reading a clock, peak allocated memory per phase) and NVML
(used memory, energy counter). On CPU the trackers get ``None`` and use the
process-level measurements instead.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from slm_assets.core.profiling.nvml import NvmlDevice


class CudaOps(Protocol):
    def synchronize(self) -> None: ...
    def reset_peak_memory(self) -> None: ...
    def max_memory_allocated(self) -> int: ...
    def empty_cache(self) -> None: ...
    def version(self) -> str | None: ...


class Nvml(Protocol):
    def name(self) -> str: ...
    def driver_version(self) -> str: ...
    def used_memory_bytes(self) -> int: ...
    def total_energy_mj(self) -> int | None: ...
    def power_mw(self) -> int: ...


class TorchCuda:
    """``torch.cuda`` for one device."""

    def __init__(self, device: Any):
        import torch

        self._cuda = torch.cuda
        self._device = torch.device(device)
        self._version = torch.version.cuda

    def synchronize(self) -> None:
        self._cuda.synchronize(self._device)

    def reset_peak_memory(self) -> None:
        self._cuda.reset_peak_memory_stats(self._device)

    def max_memory_allocated(self) -> int:
        return int(self._cuda.max_memory_allocated(self._device))

    def empty_cache(self) -> None:
        self._cuda.empty_cache()

    def version(self) -> str | None:
        return self._version


@dataclass
class GpuLayer:
    cuda: CudaOps
    nvml: Nvml


def open_gpu_layer(device: Any) -> GpuLayer | None:
    """The real layer when ``device`` is a CUDA device, else None (CPU path)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return None
    index = device.index if device.index is not None else torch.cuda.current_device()
    return GpuLayer(cuda=TorchCuda(torch.device("cuda", index)), nvml=NvmlDevice(index))
