"""The project's definitions with a gate on the ``slm`` resource, for the Celery worker tests.

A worker started with ``SLM_TEST_GATE_DIR`` holds the first step of the run of partition
``$SLM_TEST_GATE_PARTITION`` that it sets up: it writes ``held`` (the worker's name) and waits
for ``release``. The test kills that worker while it waits: "mid-run" without timing guesses.
Whoever sets the step up later (the worker it is redelivered to) passes straight through.
"""

import os
import time
from pathlib import Path

import dagster as dg
from dagster_shared.record import copy

import slm_assets.definitions
from slm_assets.defs.resources import SlmSettings


class GatedSlmSettings(SlmSettings):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        gate = os.environ.get("SLM_TEST_GATE_DIR")
        run = context.dagster_run
        if not gate or run is None or run.tags.get("dagster/partition") != os.environ.get("SLM_TEST_GATE_PARTITION"):
            return
        try:
            fd = os.open(Path(gate) / "held", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # already held once: this is the redelivered step
        os.write(fd, os.environ.get("SLM_TEST_WORKER", "?").encode())
        os.close(fd)
        while not (Path(gate) / "release").exists():
            time.sleep(0.1)


@dg.definitions
def defs() -> dg.Definitions:
    project = dg.load_from_defs_folder(path_within_project=Path(slm_assets.definitions.__file__).parent)
    return copy(project, resources={**project.resources, "slm": GatedSlmSettings()})
