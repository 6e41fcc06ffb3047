"""Shared fixtures: settings in a temp data dir, and a tiny model built once per session."""

import os
from pathlib import Path

import pytest
import yaml

from slm_assets.config import load_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The Makefile exports SLM_CONFIG and DAGSTER_HOME for the demo, and a developer may have SLM_*
# set: tests must never see them. Removed for the whole session (not per test), because
# module- and session-scoped fixtures run before any function-scoped fixture could.
for _var in ("SLM_CONFIG", "SLM_DATA_DIR", "SLM_REGISTRY_DIR", "DAGSTER_HOME"):
    os.environ.pop(_var, None)

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture
def one_torch_thread():
    """Opt-in (autouse in model-heavy folders): several test processes share 2 cores here, and
    spinning intra-op threads make tiny models several times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def make_settings(tmp_path):
    """``make_settings(logs={...}, golden={...})`` -> Settings with data_dir under tmp_path."""

    def _make(name: str = "config.yaml", **sections):
        cfg_dir = tmp_path / "cfg"
        cfg_dir.mkdir(exist_ok=True)
        path = cfg_dir / name
        body = {"data_dir": str(tmp_path / "data"), **sections}
        path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
        return load_settings(path)

    return _make


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from slm_assets.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "model", seed=0)


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory):
    """A tiny float32 GGUF (llama architecture, ChatML template); the same weights as a transformers
    folder lie in ``tiny_gguf.parent.parent / "hf"``."""
    from slm_assets.testing_gguf import build_tiny_gguf

    return build_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf"))[0]


def shared_dataset(*parts: str) -> Path:
    """A file under ../shared/datasets, or skip the test with the reason."""
    path = SHARED_DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset not present: {path}")
    return path
