"""Cost per 1,000 requests from measured throughput and energy, with its inputs."""

import pytest

from slm_assets.config import ConfigError
from slm_assets.core.profiling.cost import cost_per_1k_requests, describe
from tests.reporting.conftest import profile


def test_cost_from_best_throughput_plus_measured_energy(make_settings):
    settings = make_settings(cost={"hardware_price_per_hour": {"cpu": 0.36}, "electricity_price_per_kwh": 0.18})
    cost = cost_per_1k_requests(profile(40.0, 32.0, 300.0), settings.cost)
    # best batch: 2 at 32*1.8/16 = 3.6 req/s -> 12,960 req/h; 0.36/12,960*1000 = 0.02778
    assert cost["inputs"]["best_batch_size"] == 2 and cost["inputs"]["requests_per_second"] == pytest.approx(3.6)
    assert cost["hardware_per_1k_requests"] == pytest.approx(0.36 / (3.6 * 3600) * 1000)
    # 2 J x 1000 = 2 kJ = 1/1800 kWh at 0.18 -> 1e-4
    assert cost["energy_per_1k_requests"] == pytest.approx(2000 / 3.6e6 * 0.18)
    assert cost["cost_per_1k_requests"] == pytest.approx(cost["hardware_per_1k_requests"] + 1e-4)
    assert "0.36/h (cpu)" in describe(cost) and "J/request" in describe(cost)


def test_gpu_name_wins_and_estimates_are_not_priced(make_settings):
    settings = make_settings(cost={"hardware_price_per_hour": {"cuda": 2.0, "NVIDIA H200": 4.0}})
    prof = profile(10.0, 100.0, 1000.0, device="cuda:0")
    prof["environment"] = {"gpu_name": "NVIDIA H200"}
    prof["energy"] = {"j_per_inference": 5.0, "method": "estimated"}
    cost = cost_per_1k_requests(prof, settings.cost)
    assert cost["inputs"]["priced_as"] == "NVIDIA H200" and cost["energy_per_1k_requests"] is None
    assert "energy not priced: estimated" in cost["note"]


def test_missing_price_or_throughput_is_said(make_settings):
    settings = make_settings(cost={"hardware_price_per_hour": {"cuda": 2.0}})
    assert "no cost.hardware_price_per_hour for 'cpu'" in describe(cost_per_1k_requests(profile(1, 1, 1), settings.cost))
    prof = profile(1, 1, 1)
    prof["throughput"]["batches"] = []
    assert cost_per_1k_requests(prof, make_settings().cost)["note"] == "no measured throughput"
    with pytest.raises(ConfigError, match="cost.hardware_price_per_hour"):
        make_settings(cost={"hardware_price_per_hour": {"cpu": -1}})
