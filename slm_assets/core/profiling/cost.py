"""Cost per 1,000 requests, from a measured profile and priced assumptions (``cost`` in the config).

hardware = price per device-hour / requests per hour at the best measured batch size
energy   = measured joules per inference x 1,000 / 3.6e6 J/kWh x price per kWh

The prices are assumptions the user sets, not measurements; the result carries every
input so a reader can redo the arithmetic. Energy is priced only when it was measured
(NVML, RAPL), never from the CPU power-model estimate.
"""

from typing import Any

from slm_assets.config import CostConfig

REQUESTS = 1000
J_PER_KWH = 3.6e6


def device_kind(profile: dict) -> str:
    """``cuda`` / ``cpu`` / ``remote`` ... from the profile's device (``cuda:0`` -> ``cuda``)."""
    device = str((profile.get("model") or {}).get("device") or "cpu")
    return device.split(":", 1)[0]


def best_requests_per_second(profile: dict) -> tuple[float | None, int | None]:
    batches = (profile.get("throughput") or {}).get("batches") or []
    rated = [b for b in batches if b.get("requests_per_second")]
    if not rated:
        return None, None
    best = max(rated, key=lambda b: b["requests_per_second"])
    return float(best["requests_per_second"]), best.get("batch_size")


def hourly_price(profile: dict, cfg: CostConfig) -> tuple[float | None, str]:
    """The price of the device the profile ran on: its GPU name first, else its device kind."""
    gpu = (profile.get("environment") or {}).get("gpu_name")
    for key in (gpu, device_kind(profile)):
        if key and key in cfg.hardware_price_per_hour:
            return cfg.hardware_price_per_hour[key], key
    return None, device_kind(profile)


def hardware_cost_per_1k(price_per_hour: float, requests_per_second: float) -> float:
    return price_per_hour / (requests_per_second * 3600) * REQUESTS


def cost_per_1k_requests(profile: dict, cfg: CostConfig) -> dict[str, Any]:
    """``{"cost_per_1k_requests": float | None, "hardware": .., "energy": .., "inputs": {..}, "note": ..}``."""
    rps, batch = best_requests_per_second(profile)
    price, priced_as = hourly_price(profile, cfg)
    energy = profile.get("energy") or {}
    joules, method = energy.get("j_per_inference"), energy.get("method")
    inputs = {
        "priced_as": priced_as,
        "price_per_hour": price,
        "requests_per_second": rps,
        "best_batch_size": batch,
        "energy_j_per_inference": joules,
        "energy_method": method,
        "electricity_price_per_kwh": cfg.electricity_price_per_kwh,
        "currency": cfg.currency,
    }
    notes = []
    hardware = None
    if price is None:
        notes.append(f"no cost.hardware_price_per_hour for {priced_as!r}")
    elif not rps:
        notes.append("no measured throughput")
    else:
        hardware = hardware_cost_per_1k(price, rps)
    energy_cost = None
    if joules is not None and method not in (None, "estimated", "unavailable") and cfg.electricity_price_per_kwh:
        energy_cost = joules * REQUESTS / J_PER_KWH * cfg.electricity_price_per_kwh
    elif joules is not None and cfg.electricity_price_per_kwh:
        notes.append(f"energy not priced: {method} (only measured energy is)")
    total = None if hardware is None else hardware + (energy_cost or 0.0)
    return {
        "cost_per_1k_requests": total,
        "hardware_per_1k_requests": hardware,
        "energy_per_1k_requests": energy_cost,
        "inputs": inputs,
        "note": "; ".join(notes) or "prices are assumptions from the cost config section",
    }


def describe(cost: dict[str, Any]) -> str:
    """One line with the figure and its inputs, e.g. for the demo summary and the report."""
    i = cost["inputs"]
    if cost["cost_per_1k_requests"] is None:
        return f"n/a ({cost['note']})"
    text = (f"{cost['cost_per_1k_requests']:.4g} {i['currency']} per 1,000 requests = {i['price_per_hour']:g}/h "
            f"({i['priced_as']}) / {i['requests_per_second']:.3g} req/s at batch {i['best_batch_size']}")
    if cost["energy_per_1k_requests"] is not None:
        text += (f" + energy {i['energy_j_per_inference']:.3g} J/request at "
                 f"{i['electricity_price_per_kwh']:g}/kWh ({i['energy_method']})")
    return text
