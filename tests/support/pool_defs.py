"""A one-op job in the ``accelerator`` pool for the run-monitoring test: the op writes its
process id to ``$POOL_TEST_DIR/<run_id>.pid`` and then holds the pool slot until killed."""

import os
import time
from pathlib import Path

import dagster as dg


@dg.op(pool="accelerator")
def hold_accelerator(context: dg.OpExecutionContext) -> None:
    Path(os.environ["POOL_TEST_DIR"], f"{context.run_id}.pid").write_text(str(os.getpid()))
    time.sleep(600)


@dg.job(executor_def=dg.in_process_executor)
def hold_accelerator_job() -> None:
    hold_accelerator()


defs = dg.Definitions(jobs=[hold_accelerator_job])
