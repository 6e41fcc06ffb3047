"""The demo summary table: figures per version, the comparison's decision, gaps shown as n/a."""

from slm_assets.core.reporting.demo_summary import figures_table


def test_table_shows_figures_decisions_and_gaps():
    base = {"accuracy": 0.12, "P95 latency (ms)": 850.0}
    cand = {"accuracy": 0.91, "P95 latency (ms)": 700.0, "energy/inference (J)": None}
    rows = [{"metric": "accuracy", "status": "pass", "delta": 0.79},
            {"metric": "latency_p95_ms", "status": "pass", "ratio": 0.82}]
    lines = figures_table({"baseline b": base, "candidate c": cand}, rows).splitlines()
    assert lines[0].split() == ["metric", "baseline", "b", "candidate", "c", "comparison"]
    accuracy = next(line for line in lines if line.startswith("accuracy"))
    assert accuracy.split() == ["accuracy", "0.120", "0.910", "pass", "(+0.790)"]
    latency = next(line for line in lines if line.startswith("P95 latency"))
    assert latency.split()[-4:] == ["850.0", "700.0", "pass", "(x0.82)"]
    energy = next(line for line in lines if line.startswith("energy/inference"))
    assert energy.split()[-3:] == ["n/a", "n/a", "-"]
