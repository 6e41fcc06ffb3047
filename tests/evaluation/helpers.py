"""Golden sets, registered tiny models and settings for the evaluation tests."""

from pathlib import Path

import pandas as pd

from slm_assets.core.golden.store import write_golden
from slm_assets.core.normalize import normalize_text
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from tests.support.log_rows import log_frame

LABELS = ["refund", "login", "delivery"]
_WORDS = "my order card password refund invoice app broken where please cancel help account shipping".split()


def golden_rows(n: int, offset: int = 0, labels=LABELS) -> pd.DataFrame:
    """Distinct canonical rows (LOG_SCHEMA columns), labels and two strata cycling."""
    rows = []
    for i in range(offset, offset + n):
        text = normalize_text(
            f"{' '.join(_WORDS[(i * k) % len(_WORDS)] for k in range(1, 2 + i % 6))} request {i}"
        )
        rows.append(
            {"example_id": f"ex-{i}", "input": text, "reference": labels[i % len(labels)],
             "stratum": f"product={'app' if i % 2 else 'web'}", "source_line": i + 1}
        )
    return log_frame(rows)


def write_test_golden(settings, test_rows: int = 12, train: pd.DataFrame | None = None):
    train = golden_rows(20, offset=1000) if train is None else train
    splits = {"train": train, "validation": golden_rows(4, offset=2000), "test": golden_rows(test_rows)}
    return write_golden(settings, splits, source_fingerprint="tests")


def register(settings, model_dir: Path, name: str = "tiny", version: str = "v1", **card):
    card = ModelCard(task=settings.task.name, **card)
    return get_registry(settings).register(model_dir, name, version, card)


def eval_sections(**evaluation) -> dict:
    return {
        "task": {"labels": LABELS, "max_new_tokens": 5, "stop": ["\n"]},
        "evaluation": {"batch_size": 4, "device": "cpu", "robustness": {"subset_size": 4}, **evaluation},
    }
