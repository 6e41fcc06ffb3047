"""User text in Markdown (issue 17): stratum names holding Markdown or HTML arrive as text in
Dagster metadata and in the gate's step summary."""

from slm_assets.core.comparison.render import markdown_table
from slm_assets.core.markdown import md_escape
from slm_assets.defs.evaluation.assets import stratum_table
from slm_assets.defs.golden.assets import _counts_markdown

HOSTILE = "<img src=x onerror=alert(1)> **bold** | [link](http://e.x) `code` $x$\nnext"


def test_md_escape_neutralises_markdown_html_and_newlines():
    text = md_escape(HOSTILE)
    assert "<" not in text and ">" not in text and "\n" not in text
    assert "&lt;img" in text and r"\*\*bold\*\*" in text and r"\|" in text and r"\[link\]" in text
    assert r"\`code\`" in text and r"\$x\$" in text
    assert md_escape("product=app") == "product=app"  # ordinary names stay readable


def _cells(line: str) -> list[str]:
    # split on unescaped pipes only
    cells, current, escaped = [], "", False
    for ch in line:
        if ch == "|" and not escaped:
            cells.append(current)
            current = ""
        else:
            current += ch
        escaped = ch == "\\" and not escaped
    return cells + [current]


def test_golden_and_evaluation_metadata_tables_escape_stratum_names():
    golden = _counts_markdown({HOSTILE: 3, "plain": 1}, "stratum").splitlines()
    evaluation = stratum_table({HOSTILE: {"n": 3, "accuracy": 0.5, "ci_low": 0.1, "ci_high": 0.9}}).splitlines()
    for table in (golden, evaluation):
        assert all("<img" not in line for line in table)
        assert len(_cells(table[2])) == len(_cells(table[0]))  # the name's '|' does not add a column


def test_gate_summary_table_escapes_stratum_names():
    result = {
        "candidate": "tiny@v2", "baseline": "tiny@v1", "verdict": "pass", "policy": "significant_regression",
        "alpha": 0.05, "golden_version": "v1", "paired_examples": 3, "flipped": {},
        "rows": [{"metric": f"accuracy[{HOSTILE}]", "baseline": 0.5, "candidate": 0.5, "delta": 0.0,
                  "ci": [0.0, 0.0], "p_value": 1.0, "threshold": None, "status": "pass"}],
    }
    table = markdown_table(result)
    assert "<img" not in table and "&lt;img" in table
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("| metric"))
    rows = [line for line in lines if line.startswith("| accuracy")]
    assert len(rows) == 1 and len(_cells(rows[0])) == len(_cells(header))
