"""What was profiled: load time, size on disk, parameters, dtype, device."""

from pathlib import Path
from typing import Any

MB = 1024 * 1024


def model_facts(loaded: Any) -> dict:
    model = loaded.model
    path = Path(loaded.path) if getattr(loaded, "path", None) else None
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path and path.is_dir() else None
    dtype = getattr(loaded, "dtype", None) or next(model.parameters()).dtype
    return {
        "path": str(path) if path else None,
        "load_seconds": getattr(loaded, "load_seconds", None),
        "size_mb": size / MB if size is not None else None,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(dtype).removeprefix("torch."),
        "device": str(loaded.device),
    }
