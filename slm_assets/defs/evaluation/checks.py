"""Blocking check on ``model_evaluation``: the model's training data must not overlap golden_test.

It is evaluated inside the asset, before any generation (a contaminated model
is not worth evaluating), and reported through this check spec so it shows in
the UI with its counts and example pairs.
"""

import dagster as dg

from slm_assets.core.evaluation.contamination import ContaminationReport

CONTAMINATION_CHECK = "training_data_not_in_golden_test"

contamination_check_spec = dg.AssetCheckSpec(
    CONTAMINATION_CHECK,
    asset="model_evaluation",
    blocking=True,
    description="Exact and near-duplicate overlap between the training data named by the model card and golden_test.",
)


def contamination_check_result(report: ContaminationReport | None) -> dg.AssetCheckResult:
    if report is None:
        return dg.AssetCheckResult(
            check_name=CONTAMINATION_CHECK,
            passed=True,
            metadata={"training_data": "not named by the model card (nothing to compare)"},
        )
    return dg.AssetCheckResult(
        check_name=CONTAMINATION_CHECK,
        passed=not report.contaminated,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.describe(),
        metadata={
            "training_data": report.source,
            "training_rows": report.training_rows,
            "test_rows": report.test_rows,
            "exact_overlap": report.exact_overlap,
            "near_duplicate_overlap": report.near_duplicate_overlap,
            "examples": dg.MetadataValue.json(report.examples),
        },
    )
