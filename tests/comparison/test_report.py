"""HTML report and leaderboard from stored artifacts; rendered in headless Chromium."""

import json
from pathlib import Path

import numpy as np
import pytest

from slm_assets.core import layout
from slm_assets.core.comparison.artifacts import load_evaluation
from slm_assets.core.comparison.compare import compare
from slm_assets.core.io import atomic_write_json
from slm_assets.core.reporting import history
from slm_assets.core.reporting.frontier import pareto_front
from slm_assets.core.reporting.leaderboard import write_leaderboard
from slm_assets.core.reporting.report import write_report
from tests.support.chromium import needs_chromium, render

from .synthetic import artifacts, fake_profile, write_artifacts

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "comparison"


def test_pareto_front():
    # (latency, accuracy): b dominates a; c is slower but more accurate; d is dominated by c.
    pts = [(20, 0.7), (10, 0.8), (30, 0.9), (40, 0.85)]
    assert sorted(pareto_front(pts)) == [1, 2]


@pytest.fixture
def reports(make_settings):
    settings = make_settings(comparison={"bootstrap_samples": 200})
    rng = np.random.default_rng(0)
    base_correct = rng.random(120) < 0.7
    cand_correct = base_correct.copy()
    cand_correct[np.flatnonzero(base_correct)[:15]] = False
    variants = rng.random((2, 120)) < 0.6
    write_artifacts(settings, artifacts("m@v1", base_correct, variant_correct=variants), fake_profile(40.0, 30.0))
    write_artifacts(settings, artifacts("m@v2", cand_correct, variant_correct=variants), fake_profile(25.0, 45.0))
    result = compare(load_evaluation(settings, "m@v1"), load_evaluation(settings, "m@v2"), None, settings,
                     inputs={"ex0000": "<script>alert(1)</script> my card"})
    atomic_write_json(layout.comparisons_root(settings) / "m@v2" / "comparison.json", result)
    for key, accuracy in (("m@v1", 0.7), ("m@v2", 0.6), ("m@v2", 0.61)):  # the trends panel reads the history
        history.record(settings, "evaluation", key, {"accuracy": accuracy}, digest="d", engine="transformers")
    return settings, write_report(settings, "m@v2"), write_leaderboard(settings).path


def test_report_files_are_self_contained(reports):
    settings, report, board = reports
    assert report == layout.reports_root(settings) / "m@v2" / "report.html"
    assert board == layout.reports_root(settings) / "leaderboard.html"
    text = report.read_text()
    assert "Verdict: REGRESSION" in text and "m@v1" in text
    assert text.count("plotly.js v") == 1  # the JS is inlined once...
    assert "<script src=" not in text  # ...and nothing is fetched
    assert "<script>alert(1)" not in text  # inputs are escaped
    assert "m@v2" in board.read_text() and "Pareto front" in board.read_text()


def test_report_needs_the_comparison(make_settings):
    settings = make_settings()
    with pytest.raises(FileNotFoundError, match="comparison.json"):
        write_report(settings, "m@v9")


@pytest.mark.slow
@needs_chromium
def test_report_renders_in_headless_chromium(reports, tmp_path):
    _, report, board = reports
    drawn = render([(report, ARTIFACTS / "report.png"), (board, ARTIFACTS / "leaderboard.png")], tmp_path / "chrome")
    for figures in drawn:  # each plotly div holds an SVG with drawn marks, not an empty frame
        assert len(figures) == 5 and all(n > 0 for n in figures), drawn
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    assert json.loads((report.parent.parent.parent / "comparisons" / "m@v2" / "comparison.json").read_text())["verdict"]
