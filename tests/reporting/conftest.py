"""Three versions of one model on golden set v1, with profiles, comparisons and a history."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from slm_assets.core import layout
from slm_assets.core.io import atomic_write_json
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from slm_assets.core.reporting import history
from tests.comparison.synthetic import artifacts, fake_profile, write_artifacts

# key -> (correct share, p95 ms, tokens/s at batch 1, peak MB, verdict against production)
VERSIONS = {
    "m@v1": (0.70, 40.0, 30.0, 300.0, None),          # production
    "m@v2": (0.72, 25.0, 45.0, 280.0, "pass"),         # cheaper, as good: recommended
    "m@v3": (0.40, 10.0, 90.0, 150.0, "regression"),   # cheapest but a regression
}


def profile(p95, tps, memory, device="cpu"):
    prof = fake_profile(p95, tps)
    for b in prof["throughput"]["batches"]:
        b["requests_per_second"] = b["tokens_per_second"] / 16
    prof["summary"]["peak_memory_mb"] = memory
    prof["model"] = {"device": device}
    prof["energy"] = {"j_per_inference": 2.0, "method": "rapl"}
    return prof


@pytest.fixture
def board_settings(make_settings, tiny_model_dir):
    settings = make_settings(comparison={"bootstrap_samples": 200},
                             cost={"hardware_price_per_hour": {"cpu": 0.36}, "electricity_price_per_kwh": 0.18})
    registry = get_registry(settings)
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i, (key, (share, p95, tps, memory, verdict)) in enumerate(VERSIONS.items()):
        registry.register(tiny_model_dir, "m", key.split("@")[1], ModelCard(task=settings.task.name))
        write_artifacts(settings, artifacts(key, rng.random(100) < share), profile(p95, tps, memory))
        if verdict:
            atomic_write_json(layout.comparison_file(settings, key),
                              {"verdict": verdict, "baseline": "m@v1", "rows": []})
        for day in range(2):
            when = start + timedelta(days=day, hours=i)
            history.record(settings, "evaluation", key, {"accuracy": share - 0.01 * day}, digest=f"d{i}",
                           engine="transformers", now=when)
            history.record(settings, "profile", key, {"summary": {"latency_p95_ms": p95, "tokens_per_second": tps,
                                                                  "peak_memory_mb": memory,
                                                                  "energy_j_per_inference": 2.0,
                                                                  "cost_per_1k_requests": 0.01 * (i + 1)}},
                           digest=f"d{i}", engine="transformers", now=when)
    registry.set_alias("m", "production", "v1")
    for day in range(3):  # the nightly re-evaluation of production
        history.record(settings, "evaluation", "m@v1", {"accuracy": 0.70 - 0.02 * day}, digest="d0",
                       engine="transformers", trigger=history.NIGHTLY_TRIGGER, now=start + timedelta(days=5 + day))
    return settings


def read(path):
    return json.loads(path.read_text())
