"""Refresh docs/img/asset-graph.png (the README's asset graph) from the live UI test.

Runs tests/e2e/test_ui.py::test_asset_graph_shows_every_asset (a real `dagster dev` that has
evaluated a tiny model, headless Chromium) and copies its screenshot into docs/img/.

    .venv/bin/python scripts/screenshot_ui.py
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOT = ROOT / "test-artifacts" / "ui" / "asset-graph.png"
TARGET = ROOT / "docs" / "img" / "asset-graph.png"
MAX_BYTES = 300_000  # the README image stays small in the repository


def main() -> int:
    SHOT.unlink(missing_ok=True)
    test = "tests/e2e/test_ui.py::test_asset_graph_shows_every_asset"
    result = subprocess.run([sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider"], cwd=ROOT)
    if result.returncode != 0 or not SHOT.exists():
        print(f"screenshot_ui: {test} did not pass (exit {result.returncode}); {TARGET} left as it was")
        return 2
    size = SHOT.stat().st_size
    if size > MAX_BYTES:
        print(f"screenshot_ui: {SHOT} is {size / 1000:.0f} KB, over {MAX_BYTES / 1000:.0f} KB; not copied")
        return 2
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHOT, TARGET)
    print(f"screenshot_ui: wrote {TARGET} ({size / 1000:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
