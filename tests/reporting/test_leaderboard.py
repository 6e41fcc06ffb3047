"""Leaderboard: trends from the history, Pareto frontier, recommendation; the recommend command; the asset."""

import json
from pathlib import Path

import dagster as dg
import pytest

from slm_assets.cli import main
from slm_assets.core.reporting.frontier import frontier, recommend
from slm_assets.core.reporting.history import read_history
from slm_assets.core.reporting.leaderboard import write_leaderboard
from slm_assets.core.reporting.trends import PRODUCTION_SERIES, trend_series
from slm_assets.defs.reporting.assets import leaderboard
from slm_assets.defs.resources import SlmSettings
from tests.support.chromium import needs_chromium, render

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reporting"


def test_trend_series_per_version_and_for_production(board_settings):
    series = trend_series(read_history(board_settings), "v1")
    assert [v for _, v in series["accuracy"]["m@v2"]] == [0.72, 0.71]
    assert len(series["accuracy"][PRODUCTION_SERIES]) == 3 and len(series["accuracy"]["m@v1"]) == 5
    assert set(series["cost_per_1k_requests"]) == {"m@v1", "m@v2", "m@v3"}
    assert trend_series(read_history(board_settings), "v2")["accuracy"] == {}


def test_frontier_and_recommendation():
    rows = [
        {"key": "a", "accuracy": 0.8, "latency_p95_ms": 10, "peak_memory_mb": 100, "cost_per_1k_requests": 1.0},
        {"key": "b", "accuracy": 0.7, "latency_p95_ms": 20, "peak_memory_mb": 200, "cost_per_1k_requests": 2.0},
        {"key": "c", "accuracy": 0.9, "latency_p95_ms": 30, "peak_memory_mb": 100, "cost_per_1k_requests": 3.0},
        {"key": "d", "accuracy": 0.5, "latency_p95_ms": None, "peak_memory_mb": 1, "cost_per_1k_requests": 0.1},
    ]
    front = frontier(rows)
    assert sorted(front["joint"]) == ["a", "c"] and front["incomplete"] == ["d"]
    assert front["per_axis"]["peak_memory_mb"] == ["d", "c"]  # a ties c on memory, c is more accurate
    ok = [{"name": "p95", "status": "pass"}]
    for r, verdict in zip(rows, ("pass", "pass", "regression", "pass"), strict=True):
        r.update(scorecard=ok, baseline="b", verdict=verdict)
    rec = recommend(rows, production="b")
    assert rec["recommended"] == "d"  # cheapest, and meets its SLOs: the frontier needs no latency
    rows[3]["scorecard"] = [{"name": "p95", "status": "fail"}]
    rec = recommend(rows, production="b")
    assert rec["recommended"] == "a" and rec["reasons"]["c"].startswith("significant regression")
    assert rec["reasons"]["d"] == "misses SLO p95"


def test_leaderboard_html_names_the_recommendation(board_settings):
    board = write_leaderboard(board_settings)
    rec = board.recommendations["m"]
    assert rec["production"] == "m@v1" and rec["recommended"] == "m@v2"
    assert rec["reasons"]["m@v3"] == "significant regression against m@v1"
    text = board.path.read_text()
    assert "recommended m@v2" in text and "Pareto frontier" in text and "Trends over time" in text
    assert text.count("plotly.js v") == 1 and "<script src=" not in text


def test_recommend_command_text_and_json(board_settings, capsys):
    config = str(board_settings.config_path)
    assert main(["--config", config, "recommend"]) == 0
    out = capsys.readouterr().out
    assert "recommended: m@v2" in out and "m@v3: significant regression" in out
    assert main(["--config", config, "recommend", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["models"]["m"]["recommended"] == "m@v2" and data["currency"] == "USD"
    assert main(["--config", config, "recommend", "--model", "other"]) == 2


def test_leaderboard_asset_metadata_carries_the_series(board_settings):
    result = dg.materialize([leaderboard], resources={"slm": SlmSettings(config_path=str(board_settings.config_path))})
    [mat] = result.asset_materializations_for_node("leaderboard")
    md = mat.metadata
    assert md["versions"].value == 3 and md["recommended[m]"].value == "m@v2"
    assert md["production_accuracy"].value == pytest.approx(0.66)  # the newest nightly point
    assert set(md["trends"].value["accuracy"]) == {"m@v1", "m@v2", "m@v3", PRODUCTION_SERIES}


@pytest.mark.slow
@needs_chromium
def test_leaderboard_trends_and_frontier_render_in_headless_chromium(board_settings, tmp_path):
    board = write_leaderboard(board_settings)
    [drawn] = render([(board.path, ARTIFACTS / "leaderboard-trends.png")], tmp_path / "chrome")
    # frontier, trends, per stratum, latency distribution, throughput: each drew marks
    assert len(drawn) == 5 and all(n > 0 for n in drawn), drawn
