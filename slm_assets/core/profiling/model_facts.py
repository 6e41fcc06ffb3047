"""What was profiled: the engine's facts (engine, format, precision, device, weights, load time)."""

from dataclasses import asdict

from slm_assets.core.inference.base import Engine

MB = 1024 * 1024


def model_facts(engine: Engine) -> dict:
    facts = asdict(engine.facts())
    weight_bytes = facts["weight_bytes"]
    return {
        **facts,
        "path": facts["details"].get("path"),
        "dtype": facts["precision"],  # the name profiles had before engines
        "size_mb": weight_bytes / MB if weight_bytes is not None else None,
    }
