"""A tiny model whose greedy outputs vary with the prompt (the stock one always says "\\n")."""

import pytest
import torch


@pytest.fixture(scope="session")
def lively_model_dir(tmp_path_factory):
    from transformers import AutoModelForCausalLM

    from slm_assets.testing import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("lively") / "model", seed=0)
    model = AutoModelForCausalLM.from_pretrained(path)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # larger weights: sharper, prompt-dependent next-token choices
        for param in model.parameters():
            if param.dim() > 1:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.25)
    model.save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
