import pytest

from slm_assets.config import ProfilingConfig
from slm_assets.core.inference.transformers import TransformersConfig, TransformersEngine


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir):
    with TransformersEngine.load(tiny_model_dir, TransformersConfig(device="cpu")) as engine:
        yield engine


@pytest.fixture
def prompts():
    return ["refund my order please", "login problem with my password", "where is my invoice"]


@pytest.fixture
def fast_cfg():
    return ProfilingConfig(
        warmup_runs=1, latency_prompts=4, latency_min_seconds=0.0, latency_new_tokens=4,
        batch_sizes=[1, 2], throughput_new_tokens=3, repeats=2, max_relative_dispersion=1e9,
        energy_window_seconds=0.05, idle_seconds=0.05, bandwidth_test_mb=8,
    )
