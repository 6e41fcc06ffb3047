"""Render a self-contained HTML page in headless Chromium and count what each Plotly figure drew."""

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # --headless and --user-data-dir go through playwright's own parameters

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="no chromium binary (apt-get install -y chromium)")


def render(pages: list[tuple[Path, Path]], profile_dir: Path) -> list[list[int]]:
    """For each (html, screenshot): the drawn marks per Plotly div; fails on any network request."""
    from playwright.sync_api import sync_playwright

    drawn_per_page = []
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(profile_dir), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = browser.new_page()
            for path, shot in pages:
                requests = []
                page.on("request", lambda r: requests.append(r.url))
                page.goto(path.as_uri())
                page.wait_for_function("document.querySelectorAll('.plotly-graph-div .main-svg').length > 0")
                drawn_per_page.append(page.evaluate("""() => Array.from(document.querySelectorAll('.plotly-graph-div'))
                    .map(d => d.querySelectorAll('svg .point, svg path.js-line, svg .bars path, svg .scatterlayer path').length)"""))
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True)
                assert not [u for u in requests if u.startswith("http")], requests
        finally:
            browser.close()
    return drawn_per_page
