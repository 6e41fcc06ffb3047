"""Near-duplicate detection at scale: MinHash over word shingles, LSH banding, exact verification.

Texts are lower-cased and split on white space, punctuation is trimmed from the
ends of words, and the shingles are the runs of ``shingle_size`` consecutive
words (a shorter text is one shingle). Two texts are near-duplicates when the
exact Jaccard similarity of their shingle sets reaches ``threshold``.

Cost is linear in rows and vectorised: words are split and hashed by pyarrow and
pandas in C, shingle hashes are combined with numpy, and all ``num_perm`` MinHash
permutations of a batch of shingles are one array expression ((a*x + b) mod 2^32,
then ``np.minimum.reduceat`` per text). Rows with the same shingle set are folded
into one group first, so repeated texts cost nothing in LSH. LSH bands are chosen
so that a pair exactly at the threshold becomes a candidate with probability >=
``MIN_CANDIDATE_PROBABILITY``; buckets are paired within ``BUCKET_WINDOW``;
candidates are pre-filtered on the signature estimate and then verified on the
exact shingle sets, so every reported pair truly reaches the threshold.

Slightly over 350 lines: signatures, banding and verification are one algorithm.
"""

import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from slm_assets.config import NearDuplicateConfig

MIN_CANDIDATE_PROBABILITY = 0.98
"""LSH recall for a pair exactly at the threshold (pairs above it are found more often)."""
BUCKET_WINDOW = 16
"""In an LSH bucket, each group is paired with its next BUCKET_WINDOW neighbours: all pairs in
ordinary buckets; in a bucket of many look-alikes (templated text) a bounded band of pairs, still
connected, so cost stays linear in rows (pair counts are then a lower bound, row counts hold)."""
_ESTIMATE_SIGMAS = 3.0
"""Candidates whose signature estimate is this many standard errors below the threshold are
dropped before the exact check (a true pair is dropped with probability ~0.1 %)."""
_TEXT_BATCH = 20_000
_HASH_CELLS = 1 << 18  # permutations x shingles hashed at once: stays in cache
PUNCTUATION = string.punctuation + "“”‘’«»„‹›—–…¿¡·•、。，！？：；（）「」"
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SEED = 0x5EED


@dataclass(frozen=True)
class NearDuplicatePair:
    left_index: int
    right_index: int
    jaccard: float


@dataclass(frozen=True)
class CrossDuplicates:
    """Near-duplicate pairs between two sides of one index (rows of ``a`` x rows of ``b``)."""

    pairs: list[NearDuplicatePair]
    """Up to ``limit`` pairs, strongest groups first; indices are positions within each side."""
    total_pairs: int
    a_rows: int
    """Rows of side ``a`` with at least one near-duplicate in side ``b``."""
    b_rows: int
    exact_pairs: int
    """Pairs whose shingle sets are identical (same words, up to case and punctuation)."""


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows): the fewest false candidates whose recall at ``threshold`` meets the target."""
    grid = np.linspace(0.0, threshold, 200)
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands < MIN_CANDIDATE_PROBABILITY:
            continue
        false_area = float(np.mean(1 - (1 - grid**rows) ** bands)) * threshold
        if best is None or false_area < best[0]:
            best = (false_area, bands, rows)
    if best is None:  # not reachable with this num_perm: maximise recall instead
        return num_perm, 1
    return best[1], best[2]


def _as_arrow(texts) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        arr = texts.combine_chunks()
    elif isinstance(texts, pa.Array):
        arr = texts
    elif isinstance(texts, pd.Series):
        arr = pa.array(texts.astype(object), type=pa.large_string(), from_pandas=True)
    else:
        arr = pa.array(list(texts), type=pa.large_string())
    return pc.fill_null(arr.cast(pa.large_string()), "")


def _mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads combined word hashes over all 64 bits (in place)."""
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def _words(batch: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hash of every word (lower-cased, end punctuation trimmed) and the word count per text."""
    words = pc.utf8_split_whitespace(pc.utf8_lower(batch))
    flat = pc.utf8_trim(pc.list_flatten(words), characters=PUNCTUATION)
    keep = pc.not_equal(flat, "")
    parents = pc.list_parent_indices(words).to_numpy()[keep.to_numpy(zero_copy_only=False)]
    encoded = pc.dictionary_encode(pc.filter(flat, keep))
    vocab = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    word_h = pd.util.hash_array(vocab) if len(vocab) else np.zeros(0, np.uint64)
    return word_h[encoded.indices.to_numpy(zero_copy_only=False)], np.bincount(parents, minlength=len(batch))


def _shingle_hashes(batch: pa.Array, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct 32-bit shingle hashes, sorted, concatenated; and their count per text."""
    w, n_words = _words(batch)
    counts = np.maximum(n_words - k + 1, 1)  # a text shorter than k words is one shingle
    text_of = np.repeat(np.arange(len(counts)), counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    word_starts = np.concatenate(([0], np.cumsum(n_words)[:-1]))
    first_word = word_starts[text_of] + (np.arange(len(text_of)) - starts[text_of])
    width = np.minimum(n_words, k)[text_of]
    h = np.zeros(len(text_of), dtype=np.uint64)
    for j in range(k):
        valid = j < width
        word = w[np.where(valid, first_word + j, 0)] if len(w) else np.zeros(len(h), np.uint64)
        h = h * _MIX + np.where(valid, word, np.uint64(0)) + np.uint64(1)
    keys = _sorted_unique((text_of.astype(np.uint64) << np.uint64(32)) | (_mix64(h) >> np.uint64(32)))
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), np.bincount(
        (keys >> np.uint64(32)).astype(np.int64), minlength=len(counts)
    )


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hash-based unique is several times slower on uint64)."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if len(a) else a


def _segments(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the segments ``offsets[r]:offsets[r+1]`` for each r, and their lengths."""
    lengths = offsets[rows + 1] - offsets[rows]
    ends = np.cumsum(lengths)
    within = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)
    return np.repeat(offsets[rows], lengths) + within, lengths


class NearDuplicateIndex:
    """MinHash signatures and verified near-duplicate groups for one list of texts."""

    def __init__(self, texts, cfg: NearDuplicateConfig, progress=None):
        self.cfg = cfg
        arr = _as_arrow(texts)
        self.n = len(arr)
        rng = np.random.default_rng(_SEED)
        # (a*x + b) mod 2^32 with odd a is a permutation of 32-bit values; x are random-like hashes.
        self._a = rng.integers(0, 2**31, size=cfg.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = rng.integers(0, 2**32, size=cfg.num_perm, dtype=np.uint32)
        self.signatures = np.empty((self.n, cfg.num_perm), dtype=np.uint32)
        shingles, counts, set_keys = [np.zeros(0, np.uint32)], [np.zeros(0, np.int64)], [np.zeros(0, np.uint64)]
        for start in range(0, self.n, _TEXT_BATCH):
            x, c = _shingle_hashes(arr.slice(start, _TEXT_BATCH), cfg.shingle_size)
            self.signatures[start : start + len(c)] = self._minhash(x, c)
            # an order-free digest of each shingle set: rows with equal digests have identical sets
            set_keys.append(np.add.reduceat(_mix64(x.astype(np.uint64) + _MIX), np.cumsum(c) - c))
            shingles.append(x)
            counts.append(c)
            if progress is not None:
                progress(min(start + _TEXT_BATCH, self.n), self.n)
        self._shingles = np.concatenate(shingles)
        self._offsets = np.concatenate(([0], np.cumsum(np.concatenate(counts))))
        self._set_keys = np.concatenate(set_keys)

    def _minhash(self, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Signatures (texts x num_perm) of one batch; every text has at least one shingle."""
        seg_start = np.concatenate(([0], np.cumsum(counts)))
        step = max(1, _HASH_CELLS // self.cfg.num_perm)
        # chunks of whole texts of about `step` shingles; a longer text is reduced slice by slice
        bounds = np.unique(np.append(np.searchsorted(seg_start, np.arange(0, len(x), step)), len(counts)))
        out = np.empty((len(counts), self.cfg.num_perm), dtype=np.uint32)
        for t0, t1 in zip(bounds[:-1], bounds[1:]):
            c0, c1 = seg_start[t0], seg_start[t1]
            if t1 - t0 == 1 and c1 - c0 > step:
                out[t0] = np.min([self._permute(x[s : min(s + step, c1)]).min(axis=1) for s in range(c0, c1, step)], axis=0)
            else:
                out[t0:t1] = np.minimum.reduceat(self._permute(x[c0:c1]), seg_start[t0:t1] - c0, axis=1).T
        return out

    def _permute(self, x: np.ndarray) -> np.ndarray:
        buf = np.multiply.outer(self._a, x)
        buf += self._b[:, None]
        return buf

    # -- groups of identical shingle sets, then verified similar group pairs --

    @cached_property
    def _grouping(self) -> tuple[np.ndarray, np.ndarray]:
        """(group id per row, representative row per group): a group is one distinct shingle set."""
        _, rep, group = np.unique(self._set_keys, return_index=True, return_inverse=True)
        return group.astype(np.int64), rep.astype(np.int64)

    @property
    def groups(self) -> np.ndarray:
        return self._grouping[0]

    def exact_jaccard(self, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
        """Exact Jaccard of the shingle sets of row pairs, vectorised (sets are sorted and distinct)."""
        rows_a, rows_b = np.asarray(rows_a, np.int64), np.asarray(rows_b, np.int64)
        pos_a, len_a = _segments(self._offsets, rows_a)
        pos_b, len_b = _segments(self._offsets, rows_b)
        pair = np.arange(len(rows_a), dtype=np.uint64)
        keys = np.concatenate(
            [
                (np.repeat(pair, len_a) << np.uint64(32)) | self._shingles[pos_a],
                (np.repeat(pair, len_b) << np.uint64(32)) | self._shingles[pos_b],
            ]
        )
        keys.sort()
        shared = keys[1:][keys[1:] == keys[:-1]] >> np.uint64(32)
        inter = np.bincount(shared.astype(np.int64), minlength=len(rows_a))
        return inter / (len_a + len_b - inter)

    @cached_property
    def similar_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group a, group b, exact Jaccard) for every verified pair of distinct groups."""
        rep = self._grouping[1]
        g = len(rep)
        sig = self.signatures[rep]
        bands, rows = lsh_params(self.cfg.threshold, self.cfg.num_perm)
        codes = []
        for band in range(bands):
            key = np.zeros(g, dtype=np.uint64)
            for col in range(band * rows, (band + 1) * rows):
                key = key * _MIX + sig[:, col]
            order = np.argsort(key, kind="stable")
            ks = key[order]
            alive = np.nonzero(ks[:-1] == ks[1:])[0]
            d = 1
            while alive.size and d <= BUCKET_WINDOW:
                lo, hi = order[alive], order[alive + d]
                codes.append(np.minimum(lo, hi) * g + np.maximum(lo, hi))
                d += 1
                alive = alive[alive + d < g]
                alive = alive[ks[alive + d] == ks[alive]]
        empty = np.zeros(0, np.int64)
        if not codes:
            return empty, empty, np.zeros(0)
        cand = _sorted_unique(np.concatenate(codes))
        ga, gb = cand // g, cand % g
        t = self.cfg.threshold
        floor = t - _ESTIMATE_SIGMAS * np.sqrt(t * (1 - t) / self.cfg.num_perm)
        keep = np.zeros(len(cand), dtype=bool)
        for s in range(0, len(cand), 100_000):
            e = slice(s, s + 100_000)
            keep[e] = (sig[ga[e]] == sig[gb[e]]).mean(axis=1) >= floor
        ga, gb = ga[keep], gb[keep]
        jac = np.concatenate(
            [np.zeros(0)] + [self.exact_jaccard(rep[ga[s : s + 50_000]], rep[gb[s : s + 50_000]]) for s in range(0, len(ga), 50_000)]
        )
        ok = jac >= t
        return ga[ok], gb[ok], jac[ok]

    # -- queries --

    def cluster_ids(self) -> np.ndarray:
        """Connected components of the near-duplicate graph; id = the smallest row in the cluster."""
        if self.n == 0:
            return np.zeros(0, dtype=np.int64)
        group, rep = self._grouping
        ga, gb, _ = self.similar_groups
        g = len(rep)
        graph = coo_matrix((np.ones(len(ga)), (ga, gb)), shape=(g, g))
        _, comp = connected_components(graph, directed=False)
        comp_of_row = comp[group]
        first_row = np.full(comp.max() + 1 if g else 0, self.n, dtype=np.int64)
        np.minimum.at(first_row, comp_of_row, np.arange(self.n))
        return first_row[comp_of_row]

    def cross(self, side: np.ndarray, a, b, limit: int | None = None) -> CrossDuplicates:
        """Near-duplicate pairs between rows where ``side == a`` and rows where ``side == b``."""
        side = np.asarray(side)
        group, rep = self._grouping
        g = len(rep)
        in_a, in_b = side == a, side == b
        cnt_a = np.bincount(group[in_a], minlength=g)
        cnt_b = np.bincount(group[in_b], minlength=g)
        ga, gb, jac = self.similar_groups
        exact_pairs = int((cnt_a * cnt_b).sum())
        total = exact_pairs + int((cnt_a[ga] * cnt_b[gb] + cnt_a[gb] * cnt_b[ga]).sum())
        hit_a, hit_b = cnt_b > 0, cnt_a > 0  # groups whose a-rows (b-rows) have a partner
        hit_a[ga[cnt_b[gb] > 0]] = True
        hit_a[gb[cnt_b[ga] > 0]] = True
        hit_b[ga[cnt_a[gb] > 0]] = True
        hit_b[gb[cnt_a[ga] > 0]] = True
        both = np.nonzero((cnt_a > 0) & (cnt_b > 0))[0]
        links = (
            np.concatenate([both, ga, gb]),
            np.concatenate([both, gb, ga]),
            np.concatenate([np.ones(len(both)), jac, jac]),
        )
        pairs = self._example_pairs(in_a, in_b, links, limit) if limit != 0 else []
        return CrossDuplicates(
            pairs=pairs,
            total_pairs=total,
            a_rows=int(hit_a[group[in_a]].sum()),
            b_rows=int(hit_b[group[in_b]].sum()),
            exact_pairs=exact_pairs,
        )

    def _example_pairs(self, in_a, in_b, links, limit) -> list[NearDuplicatePair]:
        """Expand (a-group, b-group, jaccard) links into row pairs, strongest first."""
        group = self._grouping[0]
        pos = np.cumsum(in_a) - 1, np.cumsum(in_b) - 1  # position of a row within its side
        by_group = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[by_group], np.arange(len(self._grouping[1]) + 1))
        left_g, right_g, score = links
        out: list[NearDuplicatePair] = []
        for k in np.argsort(-score, kind="stable"):
            lg, rg = left_g[k], right_g[k]
            left_rows = by_group[bounds[lg] : bounds[lg + 1]]
            right_rows = by_group[bounds[rg] : bounds[rg + 1]]
            for li in left_rows[in_a[left_rows]]:
                for ri in right_rows[in_b[right_rows]]:
                    out.append(NearDuplicatePair(int(pos[0][li]), int(pos[1][ri]), round(float(score[k]), 4)))
                    if limit is not None and len(out) >= limit:
                        return out
        return out

def cluster_near_duplicates(texts, cfg: NearDuplicateConfig, progress=None) -> np.ndarray:
    """Cluster id per row (int64): rows linked by chains of near-duplicate pairs share an id."""
    return NearDuplicateIndex(texts, cfg, progress).cluster_ids()


def cross_duplicates(left, right, cfg: NearDuplicateConfig, limit: int | None = None) -> CrossDuplicates:
    """Near-duplicates between two lists of texts (counts, plus up to ``limit`` example pairs)."""
    left_arr, right_arr = _as_arrow(left), _as_arrow(right)
    index = NearDuplicateIndex(pa.concat_arrays([left_arr, right_arr]), cfg)
    side = np.repeat(np.array([0, 1], dtype=np.int8), [len(left_arr), len(right_arr)])
    return index.cross(side, 0, 1, limit)


def find_cross_pairs(
    left: Sequence[str], right: Sequence[str], cfg: NearDuplicateConfig, limit: int | None = None
) -> list[NearDuplicatePair]:
    """Pairs (left_index, right_index, jaccard) whose Jaccard similarity reaches the threshold."""
    return cross_duplicates(left, right, cfg, limit).pairs
