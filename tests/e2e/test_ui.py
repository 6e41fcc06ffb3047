"""The Dagster UI as a person sees it: a live webserver and daemon, a tiny model registered, the
sensor-triggered evaluation finished (checked over GraphQL), then the pages in headless Chromium.

Screenshots land in test-artifacts/ui/ (git-ignored); scripts/screenshot_ui.py copies the
asset-graph one into docs/img/ for the README.
"""

import json
from urllib.parse import quote

import pytest

from slm_assets.core import layout
from slm_assets.definitions import defs as load_defs
from tests.e2e.conftest import ARTIFACTS, PARTITION
from tests.support.dagster_live import wait_for

defs = load_defs()

pytestmark = pytest.mark.slow

GRAPH_SCREENSHOT = ARTIFACTS / "asset-graph.png"


def _shows(label: str, name: str) -> bool:
    # Zoomed out, the graph middle-truncates long names ("baseli…_comparison").
    if "…" not in label:
        return label == name
    head, _, tail = label.partition("…")
    return name.startswith(head) and name.endswith(tail) and len(head) + len(tail) < len(name)


def _missing_nodes(page, names: list[str]) -> list[str]:
    # The visible text leaves of the graph's nodes (SVG foreignObjects have no innerText).
    texts = page.locator("foreignObject").evaluate_all(
        "nodes => nodes.flatMap(n => [...n.querySelectorAll('*')]"
        ".filter(e => !e.children.length && e.getClientRects().length"
        " && getComputedStyle(e).visibility !== 'hidden').map(e => e.textContent))"
    )
    labels = {text.strip() for text in texts}
    return [name for name in names if not any(_shows(label, name) for label in labels)]


def test_asset_graph_shows_every_asset(live_ui, page):
    live, _, _ = live_ui
    expected = sorted(key.to_user_string() for key in defs.resolve_all_asset_keys())
    page.set_viewport_size({"width": 1800, "height": 1000})
    page.goto(f"{live.url}/asset-groups")
    page.locator("foreignObject.group").first.wait_for()
    # The graph opens with groups collapsed; Alt+E is the UI's "Expand all groups" shortcut.
    page.keyboard.press("Alt+KeyE")
    groups = page.locator("foreignObject.group")
    collapsed = groups.filter(has=page.locator("[class*=CollapsedGroupNode_collapsedGroupNodeContainer]"))
    wait_for(lambda: groups.count() and not collapsed.count(), 60, "the asset groups to expand", 0.5)
    # Reloaded, the graph keeps the groups open and fits itself to the window.
    page.reload()
    wait_for(lambda: not _missing_nodes(page, expected), 120, f"graph nodes of all of {expected}")
    page.wait_for_timeout(1500)
    # Cropped to the groups' bounding box: the graph without the surrounding chrome, for the README.
    boxes = [group.bounding_box() for group in page.locator("foreignObject.group").all()]
    left, top = min(b["x"] for b in boxes) - 24, min(b["y"] for b in boxes) - 24
    right, bottom = max(b["x"] + b["width"] for b in boxes) + 24, max(b["y"] + b["height"] for b in boxes) + 24
    page.screenshot(path=GRAPH_SCREENSHOT, clip={"x": left, "y": top, "width": right - left, "height": bottom - top})
    assert GRAPH_SCREENSHOT.stat().st_size > 10_000


def test_evaluation_page_shows_the_partition_metadata(live_ui, page):
    live, settings, _ = live_ui
    metrics_files = list((layout.evaluations_root(settings) / PARTITION).glob("*/metrics.json"))
    assert len(metrics_files) == 1, metrics_files
    metrics = json.loads(metrics_files[0].read_text())
    page.goto(f"{live.url}/assets/model_evaluation?partition={quote(PARTITION)}")
    table = page.locator("table").filter(has_text="hallucination_rate")
    table.wait_for()
    page.get_by_text(PARTITION, exact=True).filter(visible=True).first.wait_for()

    # Key -> value of the top-level metadata rows (per_stratum nests a table of its own).
    rows = table.evaluate(
        "t => Object.fromEntries([...t.tBodies[0].rows].map("
        "r => [r.cells[0].innerText.trim(), r.cells[r.cells.length - 1].innerText.trim()]))"
    )

    def shown(key: str) -> str:
        assert key in rows, f"metadata key {key} not on the page; shown: {sorted(rows)}"
        return rows[key]

    for key in ("accuracy", "macro_f1", "hallucination_rate", "invalid_rate", "n_examples"):
        assert float(shown(key)) == pytest.approx(metrics[key]), key
    assert shown("golden_version") == metrics["golden_version"]
    assert shown("model_digest") == metrics["model_digest"]
    page.screenshot(path=ARTIFACTS / "model-evaluation.png", full_page=True)


def test_run_page_shows_the_sensor_run_succeeded(live_ui, page):
    live, _, run = live_ui
    page.goto(f"{live.url}/runs/{run['runId']}")
    page.get_by_text("Success", exact=True).filter(visible=True).first.wait_for()
    page.get_by_text(f"partition: {PARTITION}", exact=True).filter(visible=True).first.wait_for()
    page.screenshot(path=ARTIFACTS / "run.png")


def test_automation_page_lists_sensors_and_schedules(live_ui, page):
    live, _, _ = live_ui
    names = [sensor.name for sensor in defs.sensors or []] + [schedule.name for schedule in defs.schedules or []]
    assert "new_model_version_sensor" in names
    page.goto(f"{live.url}/automation")
    for name in names:
        # Visible only: truncated labels keep a hidden full-length copy for measuring.
        page.get_by_text(name, exact=True).filter(visible=True).first.wait_for()
    page.screenshot(path=ARTIFACTS / "automation.png", full_page=True)
