"""Batch-1 decode roofline: every output token streams all weights from memory once,
so tokens/s cannot exceed memory bandwidth / weight bytes."""

from typing import Any


def weight_bytes(model: Any) -> int:
    # parameters() yields tied tensors once, as they are read once per token.
    return sum(p.numel() * p.element_size() for p in model.parameters())


def roofline(weight_bytes: int, bandwidth_gbps: float, decode_tokens_per_second: float | None) -> dict:
    bound = bandwidth_gbps * 1e9 / weight_bytes if weight_bytes else None
    share = decode_tokens_per_second / bound if bound and decode_tokens_per_second else None
    return {
        "weight_bytes": weight_bytes,
        "bandwidth_gbps": bandwidth_gbps,
        "bound_tokens_per_second": bound,
        "achieved_tokens_per_second": decode_tokens_per_second,
        "share": share,
    }
