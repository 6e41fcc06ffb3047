"""A whole tiny project on disk: config, frozen golden set, folder registry (for live-Dagster tests)."""

from pathlib import Path

import yaml

from slm_assets.config import load_settings
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from tests.evaluation.helpers import LABELS, write_test_golden

TINY_SECTIONS = {
    "task": {"labels": LABELS, "max_new_tokens": 4, "stop": ["\n"]},
    "evaluation": {"batch_size": 4, "device": "cpu", "robustness": {"subset_size": 4}},
    "profiling": {
        "warmup_runs": 1, "latency_prompts": 4, "latency_min_seconds": 0.0, "latency_new_tokens": 3,
        "batch_sizes": [1, 2], "throughput_new_tokens": 3, "repeats": 2, "energy_window_seconds": 0.05,
        "idle_seconds": 0.05, "bandwidth_test_mb": 8,
        "memory_in_fresh_process": False,  # a spawned process per profile costs ~10 s; tests/profiling covers it
    },
    "comparison": {"bootstrap_samples": 200, "side_by_side_rounds": 1},
}


def build_tiny_project(root: Path, models: dict[str, Path] | None = None, sections: dict | None = None,
                       test_rows: int = 12) -> Path:
    """Write ``root/config.yaml`` (data under ``root/data``), freeze a small golden set and register
    ``models`` ({"NAME@VERSION": model dir}); return the config path."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yaml"
    body = {"data_dir": str(root / "data"), **TINY_SECTIONS, **(sections or {})}
    config.write_text(yaml.safe_dump(body, sort_keys=False))
    settings = load_settings(config)
    write_test_golden(settings, test_rows=test_rows)
    for key, model_dir in (models or {}).items():
        name, version = key.split("@")
        get_registry(settings).register(model_dir, name, version, ModelCard(task=settings.task.name))
    return config
