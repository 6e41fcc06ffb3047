"""Prompt-variant families for robustness: deterministic per (seed, example, family).

Each family perturbs one part of the prompt (instruction, label list or input
text) the way real users and prompt edits do. ``perturb`` always returns parts
that differ from the ones it was given when the family can change them at all,
so a variant is never silently the unperturbed prompt.
"""

import hashlib
import random
import string
from dataclasses import dataclass, replace

import pandas as pd

FAMILIES = ("paraphrase", "casing", "whitespace_punctuation", "typos", "label_order")
ORIGINAL = "original"

# Instruction paraphrases: same request, different wording.
PARAPHRASES = (
    "Decide which one of the allowed labels fits the text below.",
    "Read the text and reply with the single most fitting label.",
    "Which label best describes this text? Pick exactly one.",
    "Assign one label from the list to the following text.",
    "Your job: choose the correct category for the text.",
)

# Neighbouring keys on a QWERTY keyboard, for substitution typos.
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    ch: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row))
    for row in _KEYBOARD_ROWS
    for i, ch in enumerate(row)
}


@dataclass(frozen=True)
class PromptParts:
    instruction: str
    labels: tuple[str, ...]
    input: str


def variant_rng(seed: int, example_id: str, family: str) -> random.Random:
    """A generator that depends only on its arguments (never on Python's hash seed)."""
    digest = hashlib.sha256(f"{seed}\x1f{example_id}\x1f{family}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def perturb(family: str, parts: PromptParts, rng: random.Random, typo_rate: float = 0.05) -> PromptParts:
    if family == "paraphrase":
        choices = [p for p in PARAPHRASES if p != parts.instruction]
        return replace(parts, instruction=rng.choice(choices))
    if family == "casing":
        return replace(parts, input=_recase(parts.input, rng))
    if family == "whitespace_punctuation":
        return replace(parts, input=_whitespace_punctuation(parts.input, rng))
    if family == "typos":
        return replace(parts, input=_typos(parts.input, rng, typo_rate))
    if family == "label_order":
        return replace(parts, labels=_shuffled(parts.labels, rng))
    raise ValueError(f"unknown robustness family {family!r}; known: {', '.join(FAMILIES)}")


def _recase(text: str, rng: random.Random) -> str:
    styles = [str.upper, str.lower, str.swapcase, lambda s: s.title()]
    rng.shuffle(styles)
    for style in styles:
        changed = style(text)
        if changed != text:
            return changed
    return text  # no cased letters at all: nothing a casing change can do


def _whitespace_punctuation(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    out = []
    for word in words:
        roll = rng.random()
        if roll < 0.15:
            word = word + rng.choice([",", ".", "!", " -", ";"])
        elif roll < 0.3:
            word = word.strip(string.punctuation) or word
        out.append(word)
    joined = ""
    for i, word in enumerate(out):
        joined += word if i == 0 else rng.choice([" ", " ", "  ", "\t", " \n"]) + word
    # Leading/trailing noise guarantees a change even for a one-word input.
    return rng.choice(["  ", "\n", " "]) + joined + rng.choice(["  ", " ?", "!!", " ..."])


def _typos(text: str, rng: random.Random, rate: float) -> str:
    """About ``rate`` of the letters get a typo (at least one): keyboard-neighbour
    substitution, dropped letter, doubled letter or swap with the next letter."""
    chars = list(text)
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    if not letters:
        return text + rng.choice(string.ascii_lowercase)
    count = max(1, round(rate * len(letters)))
    # Right to left, so that edits never shift the positions still to edit.
    for i in sorted(rng.sample(letters, min(count, len(letters))), reverse=True):
        ch = chars[i]
        kind = rng.choice(["substitute", "drop", "double", "swap"])
        if kind == "drop":
            del chars[i]
        elif kind == "double":
            chars.insert(i, ch)
        elif kind == "swap" and i + 1 < len(chars) and chars[i + 1] != ch:
            chars[i], chars[i + 1] = chars[i + 1], ch
        else:
            options = _NEIGHBOURS.get(ch.lower()) or string.ascii_lowercase.replace(ch.lower(), "")
            new = rng.choice(options)
            chars[i] = new.upper() if ch.isupper() else new
    changed = "".join(chars)
    return changed if changed != text else text + rng.choice(string.ascii_lowercase)


def _shuffled(labels: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    if len(set(labels)) < 2:
        return labels
    order = list(labels)
    while tuple(order) == labels:
        rng.shuffle(order)
    return tuple(order)


def stratified_subset(frame: pd.DataFrame, size: int, seed: int, stratum_column: str = "stratum") -> pd.DataFrame:
    """A deterministic sample of ``size`` rows keeping each stratum's share (largest remainder,
    at least one row per stratum while the budget allows); the whole frame when it is smaller."""
    if size >= len(frame):
        return frame
    counts = frame[stratum_column].value_counts().sort_index()
    quotas = counts * size / len(frame)
    alloc = quotas.astype(int).clip(lower=min(1, size // max(len(counts), 1)))
    alloc = alloc.clip(upper=counts)
    remainder = (quotas - quotas.astype(int)).sort_values(ascending=False, kind="stable")
    for stratum in remainder.index:
        if alloc.sum() >= size:
            break
        if alloc[stratum] < counts[stratum]:
            alloc[stratum] += 1
    while alloc.sum() > size:  # the per-stratum minimum overshot: trim the largest
        alloc[alloc.idxmax()] -= 1
    picked = [
        group.sample(n=int(alloc[stratum]), random_state=seed)
        for stratum, group in frame.groupby(stratum_column, sort=True)
        if alloc[stratum] > 0
    ]
    return pd.concat(picked).sort_index()
