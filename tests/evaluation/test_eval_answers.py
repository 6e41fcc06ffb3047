"""Output normalisation: from raw text to a label."""

from slm_assets.core.evaluation.answers import clean_output, match_label
from slm_assets.core.inference.base import cut_at_stop
from tests.evaluation.helpers import LABELS


def test_output_normalisation():
    assert cut_at_stop("refund\nmore", ["\n"]) == "refund"
    assert cut_at_stop("abc", ["", "z"]) == "abc"
    assert clean_output('  \n "Refund."  \nsecond line') == "Refund"
    assert match_label("Refund.", LABELS) == "refund"
    assert match_label("'LOGIN'", LABELS) == "login"
    assert match_label("card_arrival", ["card arrival"]) == "card arrival"
    assert match_label("refunds please", LABELS) is None
    assert match_label("", LABELS) is None
