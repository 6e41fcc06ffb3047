"""The real SmolLM2-135M-Instruct, profiled briefly on CPU (converted from the bundled GGUF)."""

import pytest

from slm_assets.core.models.base_model import BASE_REF, BaseModelError, find_gguf, import_base_model
from slm_assets.core.profiling.version_profile import profile_version


@pytest.mark.slow
def test_profile_real_smollm2(make_settings):
    try:
        find_gguf()
    except BaseModelError as exc:
        pytest.skip(str(exc))
    settings = make_settings(
        evaluation={"device": "cpu"},
        profiling={"warmup_runs": 1, "latency_prompts": 2, "latency_min_seconds": 0.0, "latency_new_tokens": 4,
                   "batch_sizes": [1, 2], "throughput_new_tokens": 4, "repeats": 2, "max_relative_dispersion": 10.0,
                   "energy_window_seconds": 0.0, "idle_seconds": 0.0, "bandwidth_test_mb": 64},
    )
    import_base_model(settings, set_production_alias=False, progress=lambda _: None)
    run = profile_version(settings, BASE_REF.key, inputs=["I was charged twice, please refund me", "Where is my order?"])
    s = run.profile["summary"]
    assert 134e6 < s["parameters"] < 136e6
    assert s["size_mb"] > 400  # fp32 safetensors
    assert s["latency_p95_ms"] > 0 and s["ttft_ms"] > 0 and s["tpot_ms"] > 0
    assert s["tokens_per_second_bs2"] > 0 and s["energy_method"] == "estimated"
    # Batch-1 decode cannot beat streaming the weights once per token (20 % slack for bandwidth-test noise).
    assert 0 < s["roofline_share"] < 1.2
    assert run.path.is_file()
