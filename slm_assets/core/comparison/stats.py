"""Paired statistics for comparing two models on the same examples.

Both models answer the same golden examples, so tests work on pairs: McNemar's
exact test on the discordant pairs of a binary outcome, and a paired bootstrap
(the same resampled example indices for both models) for any metric.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps


@dataclass(frozen=True)
class McNemarResult:
    improved: int  # pairs where only the candidate is positive (wrong -> right for correctness)
    worsened: int  # pairs where only the baseline is positive
    p_value: float  # two-sided exact p-value


def mcnemar_exact(baseline: Sequence[bool], candidate: Sequence[bool]) -> McNemarResult:
    """McNemar's exact test: a two-sided binomial test of the discordant pairs at p = 1/2."""
    base = np.asarray(baseline, dtype=bool)
    cand = np.asarray(candidate, dtype=bool)
    if base.shape != cand.shape:
        raise ValueError(f"paired samples differ in length: {base.shape} vs {cand.shape}")
    improved = int(np.sum(~base & cand))
    worsened = int(np.sum(base & ~cand))
    n = improved + worsened
    # No discordant pair: nothing suggests a difference.
    p = 1.0 if n == 0 else float(sps.binomtest(min(improved, worsened), n, 0.5).pvalue)
    return McNemarResult(improved=improved, worsened=worsened, p_value=min(1.0, p))


@dataclass(frozen=True)
class BootstrapResult:
    delta: float  # metric(candidate) - metric(baseline) on the full sample
    ci_low: float
    ci_high: float
    p_value: float  # two-sided: how often the resampled delta falls on the other side of zero


def paired_bootstrap(
    metric: Callable[[np.ndarray], float],
    n: int,
    samples: int,
    seed: int = 0,
    alpha: float = 0.05,
) -> BootstrapResult:
    """Percentile CI of a paired difference.

    ``metric(indices)`` returns candidate-minus-baseline on the examples at
    ``indices`` (the same indices for both models: that is what pairs them).
    """
    if n <= 0:
        raise ValueError("paired bootstrap needs at least one example")
    rng = np.random.default_rng(seed)
    delta = float(metric(np.arange(n)))
    draws = np.fromiter(
        (metric(rng.integers(0, n, size=n)) for _ in range(samples)), dtype=float, count=samples
    )
    return _bootstrap_result(delta, draws, alpha)


def paired_bootstrap_mean(differences: np.ndarray, samples: int, seed: int = 0, alpha: float = 0.05) -> BootstrapResult:
    """``paired_bootstrap`` of a mean of per-pair differences (e.g. candidate minus baseline
    correctness), all resamples drawn at once: the same percentile interval, far fewer Python calls."""
    n = len(differences)
    if n <= 0:
        raise ValueError("paired bootstrap needs at least one example")
    rng = np.random.default_rng(seed)
    values = np.asarray(differences, dtype=float)
    draws = np.concatenate([values[rng.integers(0, n, size=(min(256, samples - i), n))].mean(axis=1)
                            for i in range(0, samples, 256)])
    return _bootstrap_result(float(values.mean()), draws, alpha)


def _bootstrap_result(delta: float, draws: np.ndarray, alpha: float) -> BootstrapResult:
    samples = len(draws)
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    # Add-one smoothing keeps the p-value above zero with a finite number of draws.
    below = (np.sum(draws <= 0) + 1) / (samples + 1)
    above = (np.sum(draws >= 0) + 1) / (samples + 1)
    p = float(min(1.0, 2 * min(below, above)))
    if np.all(draws == 0):
        p = 1.0
    return BootstrapResult(delta=delta, ci_low=float(low), ci_high=float(high), p_value=p)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in input order."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, (m - rank) * p[idx])
        adjusted[idx] = min(1.0, running)
    return adjusted.tolist()


def wilson_ci(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when there is no observation."""
    if n == 0:
        return 0.0, 1.0
    z = float(sps.norm.ppf(1 - alpha / 2))
    phat = successes / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


# ------------------------------------------------------------------------ power


def mcnemar_mdd(n: int, discordant: int, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Minimum detectable difference of a paired proportion (McNemar, two-sided ``alpha``) at
    ``power``, for ``n`` pairs and the observed discordance ``discordant / n``.

    Normal approximation (Connor 1987): a difference d is detected when
    ``d * sqrt(n) >= z_a * sqrt(p) + z_b * sqrt(p - d**2)`` with p the discordant share. A drop
    of d makes at least d * n pairs discordant, so p is taken as at least d. None when n is 0.
    """
    if n <= 0:
        return None
    z_a, z_b = float(sps.norm.ppf(1 - alpha / 2)), float(sps.norm.ppf(power))
    observed = discordant / n

    def gap(d: float) -> float:
        p = max(observed, d)
        return d * np.sqrt(n) - z_a * np.sqrt(p) - z_b * np.sqrt(max(p - d * d, 0.0))

    if gap(1.0) < 0:
        return 1.0  # nothing short of every example flipping is detectable
    return float(optimize.brentq(gap, 1e-9, 1.0))


def interval_mdd(ci: Sequence[float], alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable difference of a metric whose (two-sided ``alpha``) interval is ``ci``:
    ``(z_a + z_b) * SE`` with the standard error read off the interval's width."""
    z_a, z_b = float(sps.norm.ppf(1 - alpha / 2)), float(sps.norm.ppf(power))
    se = (ci[1] - ci[0]) / (2 * z_a)
    return float((z_a + z_b) * se)


def ratio_interval(ratios: Sequence[float], alpha: float = 0.05) -> tuple[float, float] | None:
    """Interval of the typical candidate/baseline ratio from per-round ratios: a t interval of
    the mean log ratio; identical rounds give [r, r]. None for fewer than two rounds."""
    logs = np.log(np.asarray(ratios, dtype=float))
    if len(logs) < 2:
        return None
    half = float(sps.t.ppf(1 - alpha / 2, len(logs) - 1)) * logs.std(ddof=1) / np.sqrt(len(logs))
    return float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))
