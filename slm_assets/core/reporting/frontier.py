"""Which variant to ship: the Pareto frontier of quality against P95 latency, peak memory and cost,
and the cheapest version that meets every SLO without a significant regression against production.

Works on the headline rows of ``report.version_summary`` (one per version evaluated on the
current golden set). Higher accuracy is better; lower latency, memory and cost are better.
"""

from typing import Any

COST_AXES = ("latency_p95_ms", "peak_memory_mb", "cost_per_1k_requests")
QUALITY = "accuracy"


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both axes (lower x, higher y)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _dominates(a: dict, b: dict, axes: tuple[str, ...]) -> bool:
    no_worse = a[QUALITY] >= b[QUALITY] and all(a[x] <= b[x] for x in axes)
    better = a[QUALITY] > b[QUALITY] or any(a[x] < b[x] for x in axes)
    return no_worse and better


def frontier(versions: list[dict[str, Any]], axes: tuple[str, ...] = COST_AXES) -> dict[str, Any]:
    """Keys on the joint frontier (no version is as good on every axis and better on one), plus the
    two-axis front for each cost axis; versions missing a figure are listed, not ranked."""
    complete = [v for v in versions if v.get(QUALITY) is not None and all(v.get(x) is not None for x in axes)]
    joint = [v["key"] for v in complete if not any(_dominates(o, v, axes) for o in complete if o is not v)]
    per_axis = {}
    for axis in axes:
        pts = [v for v in versions if v.get(QUALITY) is not None and v.get(axis) is not None]
        per_axis[axis] = sorted((pts[i]["key"] for i in pareto_front([(v[axis], v[QUALITY]) for v in pts])),
                                key=lambda k: next(v[axis] for v in pts if v["key"] == k))
    incomplete = [v["key"] for v in versions if v not in complete]
    return {"joint": joint, "per_axis": per_axis, "incomplete": incomplete}


def eligibility(version: dict[str, Any], production: str | None) -> str | None:
    """Why ``version`` cannot be recommended, or None when it can."""
    failed = [s["name"] for s in version.get("scorecard") or [] if s.get("status") == "fail"]
    if not version.get("scorecard"):
        return "no SLO scorecard (profile missing)"
    if failed:
        return "misses SLO " + ", ".join(failed)
    if version.get("cost_per_1k_requests") is None:
        return "no cost figure"
    if version["key"] == production:
        return None
    if production is None:
        return "no production version to compare with"
    if version.get("baseline") != production:
        return f"not compared with production {production} (last baseline: {version.get('baseline') or 'none'})"
    if version.get("verdict") == "regression":
        return f"significant regression against {production}"
    return None


def recommend(versions: list[dict[str, Any]], production: str | None) -> dict[str, Any]:
    """The cheapest eligible version (ties: higher accuracy, then lower latency), with every version's reason."""
    reasons = {v["key"]: eligibility(v, production) for v in versions}
    eligible = [v for v in versions if reasons[v["key"]] is None]
    best = min(eligible, key=lambda v: (v["cost_per_1k_requests"], -(v.get(QUALITY) or 0),
                                        v.get("latency_p95_ms") or float("inf")), default=None)
    return {
        "production": production,
        "recommended": best["key"] if best else None,
        "cost_per_1k_requests": best["cost_per_1k_requests"] if best else None,
        "accuracy": best.get(QUALITY) if best else None,
        "reasons": {k: r or "eligible" for k, r in reasons.items()},
        "frontier": frontier(versions),
    }


def recommendation_text(result: dict[str, Any], currency: str = "USD") -> str:
    lines = [f"production: {result['production'] or 'none'}"]
    if result["recommended"]:
        lines.append(f"recommended: {result['recommended']} ({result['cost_per_1k_requests']:.4g} {currency} per "
                     f"1,000 requests, accuracy {result['accuracy']:.3f}): the cheapest version that meets every "
                     "SLO with no significant regression against production")
    else:
        lines.append("recommended: none (no version meets every SLO without a significant regression)")
    front = result["frontier"]
    lines.append("Pareto frontier (accuracy vs P95 latency, peak memory, cost): " + (", ".join(front["joint"]) or "none"))
    for axis, keys in front["per_axis"].items():
        lines.append(f"  accuracy vs {axis}: {', '.join(keys) or 'none'}")
    lines.append("versions:")
    lines.extend(f"  {key}: {reason}" for key, reason in sorted(result["reasons"].items()))
    return "\n".join(lines)
