"""Blocking asset checks on the golden splits (thin wiring over core.leakage and core.validation).

Cross-split checks attach to ``golden_test`` (the split every evaluation reads) and
declare the other splits as additional deps; ``golden_set_unchanged`` and
``expectations_pass`` run on each split. An ERROR-severity failure stops every
asset downstream of the checked split in the same run; ``label_distribution_stable``
(and ``temporal_order_respected`` under the ``stratified`` strategy) only warn.
"""

import json
from collections.abc import Iterable

import dagster as dg

from slm_assets.core.golden.store import GoldenSetError, load_split
from slm_assets.core.golden.leakage import CheckOutcome, golden_unchanged, run_leakage_checks
from slm_assets.core.schema import SPLITS
from slm_assets.core.golden.validation import validate_splits
from slm_assets.core.markdown import md_escape
from slm_assets.defs.resources import SlmSettings

SPLIT_ASSETS = {split: dg.AssetKey(f"golden_{split}") for split in SPLITS}
TEST_ASSET = SPLIT_ASSETS["test"]
OTHER_SPLITS = [key for split, key in SPLIT_ASSETS.items() if split != "test"]

LEAKAGE_CHECKS = {
    "no_exact_overlap": "No normalised text (content_hash) appears in two splits.",
    "no_near_duplicate_overlap": "No pair of texts in two splits reaches the near-duplicate Jaccard threshold (MinHash/LSH, verified exactly).",
    "no_id_overlap": "No source example id appears in two splits.",
    "no_group_overlap": "No group id (customer, session...) appears in two splits.",
    "temporal_order_respected": "Each split starts at least golden.embargo_days after the previous one ends (passes when there are no timestamps).",
    "strata_covered": "Every validation and test stratum has training rows.",
    "label_distribution_stable": "Train/test label total-variation distance within golden.label_shift_tolerance (warning).",
}


def _severity(outcome: CheckOutcome) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.WARN if outcome.severity == "warn" else dg.AssetCheckSeverity.ERROR


def _examples_markdown(examples: list[dict]) -> str:
    if not examples:
        return "(none)"
    lines = []
    for e in examples:
        if "left" in e and "right" in e:
            extra = md_escape(", ".join(f"{k}={v}" for k, v in e.items() if k not in ("left", "right")))
            left, right = ({k: md_escape(v if k != "input" else repr(v)) for k, v in e[side].items()}
                           for side in ("left", "right"))
            lines.append(
                f"- **{left['split']}** {left['example_id']} ({left['source']}): {left['input']}\n"
                f"  **{right['split']}** {right['example_id']} ({right['source']}): {right['input']}"
                + (f"\n  {extra}" if extra else "")
            )
        else:
            lines.append("- " + md_escape(", ".join(f"{k}: {v}" for k, v in e.items())))
    return "\n".join(lines)


def check_result(outcome: CheckOutcome, asset_key: dg.AssetKey, check_name: str) -> dg.AssetCheckResult:
    metadata: dict = {k: v for k, v in outcome.counts.items() if isinstance(v, int | float)}
    metadata["summary"] = dg.MetadataValue.text(outcome.description)
    metadata["examples"] = dg.MetadataValue.json(json.loads(json.dumps(outcome.examples, default=str)))
    metadata["examples_md"] = dg.MetadataValue.md(_examples_markdown(outcome.examples))
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=outcome.passed,
        severity=_severity(outcome),
        description=outcome.description,
        metadata=metadata,
    )


@dg.multi_asset_check(
    specs=[
        *[
            dg.AssetCheckSpec(name, asset=TEST_ASSET, additional_deps=OTHER_SPLITS, blocking=True, description=text)
            for name, text in LEAKAGE_CHECKS.items()
        ],
        *[
            dg.AssetCheckSpec(
                "golden_set_unchanged",
                asset=key,
                blocking=True,
                description="The frozen files still hash to what manifest.json recorded.",
            )
            for key in SPLIT_ASSETS.values()
        ],
    ],
)
def golden_leakage_checks(context: dg.AssetCheckExecutionContext, slm: SlmSettings) -> Iterable[dg.AssetCheckResult]:
    settings = slm.get()
    unchanged = golden_unchanged(settings)
    for key in SPLIT_ASSETS.values():
        yield check_result(unchanged, key, "golden_set_unchanged")
    if not unchanged.passed:
        raise GoldenSetError(f"leakage checks not run: {unchanged.description}")
    splits = {split: load_split(settings, split) for split in SPLITS}
    context.log.info(f"leakage checks on {({s: len(f) for s, f in splits.items()})} rows")
    next_report = 0

    def progress(done: int, total: int) -> None:
        nonlocal next_report
        if done >= next_report or done == total:  # about ten lines however large the set
            context.log.info(f"near-duplicate signatures: {done}/{total} texts")
            next_report = done + max(total // 10, 1)

    for name, outcome in run_leakage_checks(splits, settings, progress).items():
        context.log.info(f"{name}: {'passed' if outcome.passed else 'FAILED'}: {outcome.description}")
        yield check_result(outcome, TEST_ASSET, name)


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "expectations_pass",
            asset=key,
            blocking=True,
            description="Great Expectations suite: columns, nulls, unique ids, allowed labels, length bounds, timestamp range.",
        )
        for key in SPLIT_ASSETS.values()
    ],
)
def golden_expectations(context: dg.AssetCheckExecutionContext, slm: SlmSettings) -> Iterable[dg.AssetCheckResult]:
    settings = slm.get()
    for split, key in SPLIT_ASSETS.items():
        outcome = validate_splits({split: load_split(settings, split)}, settings)
        context.log.info(f"expectations on {split}: {outcome.description}")
        yield check_result(outcome, key, "expectations_pass")


golden_checks = [golden_leakage_checks, golden_expectations]
