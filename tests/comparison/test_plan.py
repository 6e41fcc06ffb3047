"""``slm-bench plan`` and the sizes behind it."""

import json

import pytest

from slm_assets.cli import main
from slm_assets.core.comparison import stats
from slm_assets.core.comparison.planning import examples_needed, plan, size_warning


def test_examples_needed_matches_the_textbook_figures():
    # 2-point margin, 10 % discordance, 80 % power, alpha 0.05: (1.96 + 0.84)^2 * 0.1 / 0.02^2 = 1963
    assert examples_needed(0.02, 0.1) == 1963
    assert examples_needed(0.05, 0.1) == 314
    assert examples_needed(0.02, 0.1, power=0.9) > 1963
    # Consistent with the MDD the gate reports: at the planned size the MDD is about the margin.
    assert stats.mcnemar_mdd(1963, 196) == pytest.approx(0.02, abs=0.001)
    with pytest.raises(ValueError, match="margin"):
        examples_needed(0.0, 0.1)


def test_plan_and_the_golden_warning(make_settings):
    settings = make_settings(evaluation={"max_examples": 80}, comparison={"expected_discordance": 0.1})
    p = plan(settings)
    assert (p.margin, p.discordance, p.test_examples, p.evaluated) == (0.02, 0.1, 1963, 80)
    assert 0.09 < p.evaluated_mdd < 0.11
    assert "evaluates 80 golden test examples but needs 1963" in size_warning(settings, test_rows=400)
    big = make_settings("big.yaml", comparison={"expected_discordance": 0.1})
    assert size_warning(big, test_rows=2000) is None


def test_plan_cli(make_settings, capsys):
    settings = make_settings(comparison={"expected_discordance": 0.1})
    assert main(["--config", str(settings.config_path), "plan", "--margin", "0.05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["test_examples"] == 314 and out["robustness_examples"] == 314
    assert main(["--config", str(settings.config_path), "plan", "--accuracy", "0.9"]) == 0
    text = capsys.readouterr().out
    assert "golden test examples: 1963" in text and "robustness subset" in text
    assert main(["--config", str(settings.config_path), "plan", "--margin", "2"]) == 2
