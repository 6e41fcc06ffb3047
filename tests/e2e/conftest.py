"""A live Dagster (webserver + daemon on 127.0.0.1) that has evaluated a tiny model, and headless Chromium."""

import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from slm_assets.config import load_settings
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelCard
from slm_assets.testing import build_tiny_model
from tests.support.dagster_live import ROOT, LiveDagster, wait_for
from tests.support.tiny_project import build_tiny_project

ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PARTITION = "tiny@v1"

RUNS_QUERY = """
query PartitionRuns($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status jobName } }
    ... on PythonError { message }
  }
}
"""


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    """POST one query to Dagster's GraphQL endpoint; raise on GraphQL errors."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    if answer.get("errors"):
        raise AssertionError(f"GraphQL errors from {url}: {answer['errors']}")
    return answer["data"]


LOCATIONS_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def loaded_location(url: str) -> bool:
    """True once the code location has loaded; its load error fails at once (not after the run timeout)."""
    entries = graphql(url, LOCATIONS_QUERY)["workspaceOrError"].get("locationEntries", [])
    for entry in entries:
        error = entry["locationOrLoadError"]
        if error and error["__typename"] == "PythonError":
            raise AssertionError(f"code location {entry['name']} failed to load: {error['message']}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def partition_runs(url: str, partition: str) -> list[dict]:
    data = graphql(url, RUNS_QUERY, {"filter": {"tags": [{"key": "dagster/partition", "value": partition}]}})
    runs = data["runsOrError"]
    if runs["__typename"] != "Runs":
        raise AssertionError(f"runsOrError returned {runs['__typename']}: {runs.get('message')}")
    return runs["results"]


def succeeded_run(url: str, partition: str) -> dict | None:
    """The first successful run of ``partition``; a failed or canceled one fails at once."""
    runs = partition_runs(url, partition)
    ended_badly = [r for r in runs if r["status"] in ("FAILURE", "CANCELED")]
    if ended_badly:
        run = ended_badly[0]
        raise AssertionError(f"run {run['runId']} of {partition} ended {run['status']} (see {url}/runs/{run['runId']})")
    return next((r for r in runs if r["status"] == "SUCCESS"), None)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; its absence skips outside CI and fails in CI."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium; `make test` does it as root)"
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    # Never `playwright install`: the system Chromium is the browser under test.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(90_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def live_ui(browser, tmp_path_factory):
    """``dagster dev`` in a temporary DAGSTER_HOME after the sensor-triggered run of a tiny model succeeded.

    Depends on ``browser`` so that a missing Chromium skips before the slow server start.
    """
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    config = build_tiny_project(tmp / "project")
    settings = load_settings(config)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLM_")}
    env.update({"DAGSTER_HOME": str(home), "SLM_CONFIG": str(config)})
    log = ARTIFACTS / "dagster.log"
    log.unlink(missing_ok=True)
    started = time.time()
    with LiveDagster(env, log) as live:
        wait_for(lambda: loaded_location(live.url), 300, "the code location to load", 2)
        # As if a person had dismissed the "Join the Dagster community" pop-up, which covers the pages.
        graphql(live.url, "mutation { setNuxSeen }")
        get_registry(settings).register(
            build_tiny_model(tmp / "model", seed=0), "tiny", "v1", ModelCard(task=settings.task.name)
        )
        run = wait_for(lambda: succeeded_run(live.url, PARTITION), 600, f"the sensor-triggered run of {PARTITION}", 2)
        print(f"live Dagster up and {PARTITION} evaluated in {time.time() - started:.0f}s (run {run['runId']})")
        yield live, settings, run
