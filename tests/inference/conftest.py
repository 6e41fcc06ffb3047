"""Tiny models of several architectures, built offline, and one lively Llama engine per module."""

import pytest

from slm_assets.testing import build_tiny_model

LIVELY = 0.25  # initializer range giving sharp, prompt-dependent greedy answers


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def tiny_model_of(tmp_path_factory):
    """``tiny_model_of("gpt2")``: the folder of a tiny random model of that architecture (built once)."""
    built = {}

    def build(model_type: str):
        if model_type not in built:
            folder = tmp_path_factory.mktemp(model_type) / "model"
            built[model_type] = build_tiny_model(folder, model_type=model_type, initializer_range=LIVELY)
        return built[model_type]

    return build


@pytest.fixture(scope="module")
def engine(tiny_model_of):
    from slm_assets.core.inference.transformers import TransformersConfig, TransformersEngine

    with TransformersEngine.load(tiny_model_of("llama"), TransformersConfig(device="cpu")) as loaded:
        yield loaded
