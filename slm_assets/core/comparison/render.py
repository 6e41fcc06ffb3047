"""The comparison as Markdown: Dagster metadata, the gate's summary, ``$GITHUB_STEP_SUMMARY``."""

from typing import Any

from slm_assets.core.evaluation.metric_specs import spec_for
from slm_assets.core.markdown import md_escape


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000 or abs(value) < 10 ** -(digits - 1):
            return f"{value:.{digits - 1}g}"
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


def change_text(row: dict[str, Any]) -> str:
    if row.get("ratio") is not None:
        return f"×{row['ratio']:.3f}"
    return "–" if row.get("delta") is None else f"{row['delta']:+.4f}"


def threshold_text(row: dict[str, Any]) -> str:
    th = row.get("threshold")
    if not th:
        return "–"
    return f"{th['kind']} {th['max_regression']:g} ({'↑' if th['direction'] == 'higher_is_better' else '↓'})"


def _value(metric: str, value: Any) -> str:
    spec = spec_for(metric)
    return spec.format(value) if spec and value is not None else fmt(value)


def markdown_table(result: dict[str, Any]) -> str:
    head = (
        f"**{result['candidate']}** vs **{result['baseline'] or 'no baseline'}**: "
        f"verdict **{result['verdict'].upper()}** (policy {result['policy']}, alpha {result['alpha']}, "
        f"golden {result['golden_version']}, {result.get('paired_examples', 0)} paired examples)\n\n"
    )
    power = (result.get("power") or {}).get("sentence")
    lines = ["| metric | baseline | candidate | delta / ratio | interval | p | MDD | threshold | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        ci = f"[{fmt(r['ci'][0])}, {fmt(r['ci'][1])}]" if r.get("ci") else "–"
        status = {"regression": "**REGRESSION**", "inconclusive": "*inconclusive*"}.get(r["status"], r["status"])
        lines.append(
            f"| {md_escape(r['metric'])} | {_value(r['metric'], r['baseline'])} | {_value(r['metric'], r['candidate'])} | "
            f"{change_text(r)} | {ci} | {fmt(r.get('p_value'))} | {fmt(r.get('mdd'))} | {threshold_text(r)} | {status} |"
        )
    rounds = [f"{r['metric']}: " + ", ".join(f"×{x:.3f}" for x in r["rounds"]) for r in result["rows"] if r.get("rounds")]
    flips = result.get("flipped", {})
    tail = (
        (f"\n\nSide-by-side rounds ({result.get('side_by_side_rounds', '?')}): " + "; ".join(rounds) if rounds else "")
        + f"\n\nFlipped right→wrong: {len(flips.get('right_to_wrong', []))}, "
        f"wrong→right: {len(flips.get('wrong_to_right', []))}"
    )
    return head + (f"{power}\n\n" if power else "") + "\n".join(lines) + tail
