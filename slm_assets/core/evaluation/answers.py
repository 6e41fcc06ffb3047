"""From raw model output to an answer: the first line, unquoted, matched against the labels."""

import re
import string
from collections.abc import Sequence

_EDGE_PUNCT = string.punctuation + "“”‘’«»"


def clean_output(raw: str) -> str:
    """First non-empty line, stripped of surrounding quotes and trailing punctuation."""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = line.strip("\"'`“”‘’«» ")
    return line.rstrip(".,;:!?" + " ").strip()


def match_label(raw: str, labels: Sequence[str]) -> str | None:
    """The label the output names: exact, then case-insensitive (spaces/underscores alike)."""
    cleaned = clean_output(raw)
    if cleaned in labels:
        return cleaned
    folded = _fold(cleaned)
    for label in labels:
        if _fold(label) == folded:
            return label
    return None


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip(_EDGE_PUNCT).lower()).strip()
