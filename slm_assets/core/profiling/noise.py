"""Dispersion of repeated measurements, and the ``noisy`` flag when it is too high."""

import numpy as np


def dispersion(values: list[float], max_relative: float, what: str) -> dict:
    """Coefficient of variation and relative IQR of ``values``; noisy when the CV exceeds ``max_relative``."""
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean()) if arr.size else 0.0
    if arr.size < 2 or mean == 0.0:
        return {"n": int(arr.size), "cv": None, "relative_iqr": None, "noisy": False,
                "reason": f"{what}: fewer than two repeats, dispersion unknown" if arr.size < 2 else None}
    cv = float(arr.std(ddof=1) / mean)
    q1, q3 = np.percentile(arr, [25, 75])
    noisy = cv > max_relative
    reason = f"{what}: coefficient of variation {cv:.1%} > {max_relative:.1%} across {arr.size} repeats" if noisy else None
    return {"n": int(arr.size), "cv": cv, "relative_iqr": float((q3 - q1) / float(np.median(arr))),
            "noisy": noisy, "reason": reason}
