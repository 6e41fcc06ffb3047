"""The Great Expectations 1.x suite run on every golden split.

Expectations: every canonical column exists; example_id, input and reference are
never null and example_id is unique within a split; reference is one of the
configured labels (when the task has labels); input length lies within
``golden.min_input_chars``..``golden.max_input_chars``; timestamps (when any) lie
between ``TIMESTAMP_FLOOR`` and now (plus a day of clock skew).

GX is called directly (ephemeral context, pandas data source, one
ExpectationSuite, one ValidationDefinition per split). It takes seconds to
import, so it is imported inside the function.
"""

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pandas as pd

from slm_assets.config import Settings
from slm_assets.core.golden.leakage import MAX_EXAMPLES, TEXT_CHARS, CheckOutcome
from slm_assets.core.schema import EXAMPLE_ID, INPUT, LOG_SCHEMA, REFERENCE, TIMESTAMP

TIMESTAMP_FLOOR = pd.Timestamp("2000-01-01", tz="UTC")
"""Older timestamps are taken for clock or parsing errors (epoch 0, year 1900...)."""
CLOCK_SKEW = timedelta(days=1)
SUITE_NAME = "golden_split"


def build_suite(name: str, frame_has_timestamps: bool, settings: Settings):
    """The ExpectationSuite for one split (``frame_has_timestamps``: add the time-range expectation)."""
    import great_expectations as gx

    ex = gx.expectations
    golden = settings.golden
    expectations = [ex.ExpectColumnToExist(column=name) for name in LOG_SCHEMA.names]
    expectations += [ex.ExpectColumnValuesToNotBeNull(column=c) for c in (EXAMPLE_ID, INPUT, REFERENCE)]
    expectations.append(ex.ExpectColumnValuesToBeUnique(column=EXAMPLE_ID))
    expectations.append(
        ex.ExpectColumnValueLengthsToBeBetween(
            column=INPUT, min_value=golden.min_input_chars, max_value=golden.max_input_chars
        )
    )
    labels = settings.task_labels()
    if labels:
        expectations.append(ex.ExpectColumnValuesToBeInSet(column=REFERENCE, value_set=labels))
    if frame_has_timestamps:
        expectations.append(
            ex.ExpectColumnValuesToBeBetween(
                column=TIMESTAMP,
                min_value=TIMESTAMP_FLOOR,
                max_value=pd.Timestamp.now(tz="UTC") + CLOCK_SKEW,
            )
        )
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > TEXT_CHARS:
        return value[: TEXT_CHARS - 1] + "…"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, int | float | bool) else str(value)


def validate_splits(splits: Mapping[str, pd.DataFrame], settings: Settings) -> CheckOutcome:
    """Run the suite on each split; the outcome lists every failing expectation with a few bad values."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no network calls from a test or a run
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("golden")
    counts: dict[str, int | float] = {"expectations": 0, "failed_expectations": 0}
    failures: list[dict[str, Any]] = []
    for split, frame in splits.items():
        has_time = TIMESTAMP in frame.columns and bool(frame[TIMESTAMP].notna().any())
        suite = context.suites.add(build_suite(f"{SUITE_NAME}_{split}", has_time, settings))
        batch = source.add_dataframe_asset(split).add_batch_definition_whole_dataframe("whole")
        validation = context.validation_definitions.add(gx.ValidationDefinition(name=split, data=batch, suite=suite))
        result = validation.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES},
        )
        counts["expectations"] += len(result.results)
        failed = [r for r in result.results if not r.success]
        counts["failed_expectations"] += len(failed)
        counts[f"{split}_failed_expectations"] = len(failed)
        for r in failed:
            config, info = r.expectation_config, r.exception_info or {}
            error = info.get("exception_message") if isinstance(info, dict) and info.get("raised_exception") else None
            failures.append(
                {
                    "split": split,
                    "expectation": config.type,
                    "column": config.kwargs.get("column"),
                    "unexpected_count": r.result.get("unexpected_count"),
                    "unexpected_percent": _short(r.result.get("unexpected_percent")),
                    "unexpected_values": [_short(v) for v in r.result.get("partial_unexpected_list") or []],
                    **({"error": error} if error else {}),
                }
            )
    described = "; ".join(
        f"{f['split']}: {f['expectation']}({f['column'] or ''})"
        + (f" {f['unexpected_count']} unexpected" if f["unexpected_count"] else "")
        for f in failures[:10]
    )
    return CheckOutcome(
        passed=not failures,
        severity="error",
        description=(
            f"all {counts['expectations']} expectations pass"
            if not failures
            else f"{len(failures)} of {counts['expectations']} expectations fail: {described}"
        ),
        counts=counts,
        examples=failures,
    )
