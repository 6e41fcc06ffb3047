"""MinHash/LSH near-duplicates against exact brute-force Jaccard on generated text."""

import random

import numpy as np
import pytest

from slm_assets.config import NearDuplicateConfig
from slm_assets.core.golden.near_duplicates import (
    NearDuplicateIndex,
    cluster_near_duplicates,
    cross_duplicates,
    find_cross_pairs,
    lsh_params,
)

CFG = NearDuplicateConfig(threshold=0.8, num_perm=128, shingle_size=3)


def shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    """The reference definition, written independently of the vectorised code."""
    words = [w.strip(".,!?;:'\"()") for w in text.lower().split()]
    words = [w for w in words if w]
    return {tuple(words[i : i + k]) for i in range(max(len(words) - k + 1, 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def families(n_base: int, copies: int, seed: int) -> list[str]:
    """Base sentences re-sent with 0-3 word edits: a realistic spread of similarities near 0.8."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    base = [[rng.choice(vocab) for _ in range(rng.randint(8, 40))] for _ in range(n_base)]
    texts = []
    for _ in range(n_base * copies):
        words = list(rng.choice(base))
        for _ in range(rng.randint(0, 3)):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        texts.append(" ".join(words))
    return texts


def brute_force_pairs(texts: list[str], threshold: float) -> set[tuple[int, int]]:
    sets = [shingles(t) for t in texts]
    return {
        (i, j)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= threshold
    }


def test_recall_and_precision_against_brute_force():
    texts = families(n_base=400, copies=3, seed=1)
    truth = brute_force_pairs(texts, CFG.threshold)
    assert len(truth) > 150  # the generated set has enough near-duplicate pairs to measure

    result = cross_duplicates(texts, texts, CFG, limit=None)
    found = {(p.left_index, p.right_index) for p in result.pairs if p.left_index < p.right_index}
    recall = len(found & truth) / len(truth)
    assert recall >= 0.95, recall
    assert found <= truth  # every reported pair is verified on the exact shingle sets
    for p in result.pairs[:200]:
        assert p.jaccard == pytest.approx(jaccard(texts[p.left_index], texts[p.right_index]), abs=1e-3)


def test_clusters_follow_near_duplicate_chains():
    texts = [
        "please refund my order number one two three four five",
        "Please refund my order number one two three four five!",  # case and punctuation only
        "please refund my order number one two three four five six",  # one more word
        "where is my parcel it was shipped last week from the warehouse",
        "reset my password because the login page keeps failing today",
        "reset my password because the login page keeps failing today",
    ]
    ids = cluster_near_duplicates(texts, CFG)
    assert ids.dtype == np.int64
    assert list(ids) == [0, 0, 0, 3, 4, 4]  # id is the first row of the cluster


def test_cross_pairs_use_positions_within_each_side_and_respect_limit():
    left = ["alpha beta gamma delta epsilon zeta eta", "totally unrelated words about invoices and billing"]
    right = [
        "something else entirely about the weather",
        "alpha beta gamma delta epsilon zeta eta",
        "Alpha beta gamma delta epsilon zeta eta.",
    ]
    pairs = find_cross_pairs(left, right, CFG)
    assert {(p.left_index, p.right_index) for p in pairs} == {(0, 1), (0, 2)}
    assert all(p.jaccard == 1.0 for p in pairs)
    assert len(find_cross_pairs(left, right, CFG, limit=1)) == 1
    summary = cross_duplicates(left, right, CFG, limit=0)
    assert (summary.total_pairs, summary.a_rows, summary.b_rows, summary.exact_pairs) == (2, 1, 2, 2)
    assert summary.pairs == []


def test_dissimilar_pairs_are_not_reported():
    rng = random.Random(3)
    vocab = [f"v{i}" for i in range(5000)]
    left = [" ".join(rng.choice(vocab) for _ in range(20)) for _ in range(300)]
    right = [" ".join(rng.choice(vocab) for _ in range(20)) for _ in range(300)]
    assert find_cross_pairs(left, right, CFG) == []


def test_short_empty_and_missing_texts():
    texts = ["hi", "Hi!", "", None, "hello there"]
    ids = cluster_near_duplicates(texts, CFG)
    assert ids[0] == ids[1]  # shorter than a shingle: the whole text is one shingle
    assert ids[2] == ids[3]  # empty and missing are the same (empty) text
    assert len(set(ids.tolist())) == 3
    assert cluster_near_duplicates([], CFG).shape == (0,)
    assert find_cross_pairs([], ["a b c"], CFG) == []


def test_signatures_are_deterministic_and_order_independent():
    texts = families(n_base=50, copies=2, seed=5)
    a = NearDuplicateIndex(texts, CFG).signatures
    b = NearDuplicateIndex(list(reversed(texts)), CFG).signatures[::-1]
    np.testing.assert_array_equal(a, b)


def test_long_text_is_hashed_in_slices():
    long_text = " ".join(f"tok{i}" for i in range(20_000))  # more shingles than one hashing chunk
    edited = long_text.replace("tok100 ", "changed ", 1)
    pairs = find_cross_pairs([long_text], [edited, "short text"], CFG)
    assert [(p.left_index, p.right_index) for p in pairs] == [(0, 0)]
    assert pairs[0].jaccard == pytest.approx(jaccard(long_text, edited), abs=1e-4)


@pytest.mark.parametrize("threshold,num_perm", [(0.8, 128), (0.5, 128), (0.9, 64), (0.7, 256)])
def test_lsh_params_reach_the_recall_target_at_the_threshold(threshold, num_perm):
    bands, rows = lsh_params(threshold, num_perm)
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= 0.98
