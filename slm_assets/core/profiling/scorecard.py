"""The SLO scorecard: each target from ``settings.slo`` -> pass, fail or not applicable, with value and target."""

from slm_assets.config import SloConfig

PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "not_applicable"


def _row(name: str, value: float | None, target: float, op: str, unit: str, note: str | None = None) -> dict:
    if value is None:
        status = NOT_APPLICABLE
    else:
        status = PASS if (value < target if op == "<" else value >= target) else FAIL
    return {"name": name, "value": value, "target": target, "op": op, "unit": unit, "status": status, "note": note}


def build_scorecard(summary: dict, slo: SloConfig, evaluation_metrics: dict | None = None) -> list[dict]:
    """``summary``: a profile's headline figures; ``evaluation_metrics``: the evaluation's metrics.json."""
    on_gpu = summary.get("gpu_peak_allocated_mb") is not None
    vram = summary["gpu_peak_allocated_mb"] / 1024 if on_gpu else None
    hallucination = (evaluation_metrics or {}).get("hallucination_rate")
    energy_method = summary.get("energy_method")
    return [
        _row("p95_latency", summary.get("latency_p95_ms"), slo.p95_latency_ms, "<", "ms", "batch 1"),
        _row("throughput", summary.get("tokens_per_second"), slo.tokens_per_second, ">=", "tokens/s",
             f"best batch size {summary.get('best_batch_size')}"),
        _row("vram", vram, slo.vram_gb, "<", "GB",
             "torch peak allocated" if on_gpu else "not applicable: profiled on CPU, no VRAM"),
        _row("hallucination_rate", hallucination, slo.hallucination_rate, "<", "fraction",
             None if hallucination is not None else "not applicable: no evaluation metrics.json yet"),
        _row("energy_per_inference", summary.get("energy_j_per_inference"), slo.energy_j_per_inference, "<", "J",
             f"energy_method: {energy_method}" if energy_method else "not applicable: energy not measured"),
    ]


def scorecard_markdown(rows: list[dict]) -> str:
    lines = ["| SLO | value | target | status | note |", "|---|---|---|---|---|"]
    for r in rows:
        value = "n/a" if r["value"] is None else f"{r['value']:.4g} {r['unit']}"
        lines.append(f"| {r['name']} | {value} | {r['op']} {r['target']:g} {r['unit']} | "
                     f"{r['status']} | {r['note'] or ''} |")
    return "\n".join(lines)
