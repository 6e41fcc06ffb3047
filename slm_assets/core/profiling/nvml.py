"""The thin layer over NVML (``nvidia-ml-py``): the only module that calls pynvml.

Tests replace :class:`NvmlDevice` with a fake object offering the same methods,
so the arithmetic built on it (idle subtraction, joules per inference, VRAM)
is checked without a GPU.
"""


class NvmlDevice:
    """One GPU seen through NVML, chosen by its CUDA index (``CUDA_VISIBLE_DEVICES`` respected)."""

    def __init__(self, cuda_index: int = 0):
        import pynvml

        self._nvml = pynvml
        pynvml.nvmlInit()
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(_nvml_index(cuda_index))

    def name(self) -> str:
        return _text(self._nvml.nvmlDeviceGetName(self._handle))

    def driver_version(self) -> str:
        return _text(self._nvml.nvmlSystemGetDriverVersion())

    def used_memory_bytes(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)

    def total_energy_mj(self) -> int | None:
        """Millijoules since the driver loaded (Volta and newer); None where unsupported."""
        try:
            return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        except self._nvml.NVMLError:
            return None

    def power_mw(self) -> int:
        return int(self._nvml.nvmlDeviceGetPowerUsage(self._handle))

    def close(self) -> None:
        self._nvml.nvmlShutdown()


def _nvml_index(cuda_index: int) -> int:
    # CUDA and NVML number devices differently once CUDA_VISIBLE_DEVICES is set.
    import torch

    try:
        return int(torch.cuda._get_nvml_device_index(cuda_index))
    except Exception:  # noqa: BLE001 - private torch helper; the plain index is right without the variable
        return cuda_index


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
