"""Where a profile was measured: CPU, memory bandwidth, GPU, driver and library versions."""

import os
import platform
import time
from pathlib import Path

import numpy as np
import psutil

from slm_assets.core.profiling.gpu import GpuLayer


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bandwidth_gbps(device: str = "cpu", size_mb: int = 256, repeats: int = 5,
                          gpu: GpuLayer | None = None) -> float:
    """Best-of-``repeats`` copy of a large array, counting bytes read plus written (STREAM "copy").

    On CUDA the copy runs on the device between synchronisations.
    """
    n_bytes = size_mb * 1024 * 1024
    if device.startswith("cuda"):
        import torch

        src = torch.ones(n_bytes // 4, dtype=torch.float32, device=device)
        dst = torch.empty_like(src)
        copy, sync = (lambda: dst.copy_(src)), (gpu.cuda.synchronize if gpu else torch.cuda.synchronize)
    else:
        src = np.ones(n_bytes // 8)
        dst = np.empty_like(src)
        copy, sync = (lambda: np.copyto(dst, src)), (lambda: None)
    copy()  # first touch: page faults are not bandwidth
    best = float("inf")
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        copy()
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n_bytes / best / 1e9


def fingerprint(device: str, gpu: GpuLayer | None = None, bandwidth_mb: int = 256) -> dict:
    import torch
    import transformers

    vm = psutil.virtual_memory()
    env = {
        "cpu_model": cpu_model(),
        "cpu_logical_cores": psutil.cpu_count(logical=True),
        "cpu_physical_cores": psutil.cpu_count(logical=False),
        "cpu_affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "memory_total_gb": vm.total / 1e9,
        "memory_bandwidth_gbps": memory_bandwidth_gbps(device, bandwidth_mb, gpu=gpu),
        "bandwidth_of": "gpu" if device.startswith("cuda") else "cpu",
        "device": device,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gpu_name": None,
        "gpu_driver": None,
        "cuda": None,
    }
    if gpu is not None:
        env.update(gpu_name=gpu.nvml.name(), gpu_driver=gpu.nvml.driver_version(), cuda=gpu.cuda.version())
    return env
