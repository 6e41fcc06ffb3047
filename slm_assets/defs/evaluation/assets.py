"""``model_evaluation``: one model version (a partition) on golden_test."""

import dagster as dg

from slm_assets.core.evaluation.metric_specs import QUALITY
from slm_assets.core.evaluation.contamination import ContaminationError, check_contamination
from slm_assets.core.evaluation.run import EvaluationResult, evaluate_model
from slm_assets.core.markdown import md_escape
from slm_assets.core.models.registry import get_registry
from slm_assets.defs.evaluation.checks import contamination_check_result, contamination_check_spec
from slm_assets.defs.partitions import ACCELERATOR_POOL, model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from slm_assets.defs.tags import REFRESH_CACHE_TAG
from slm_assets.defs.tracking import track


def stratum_table(per_stratum: dict[str, dict]) -> str:
    lines = ["| stratum | n | accuracy | 95% CI |", "|---|---:|---:|---|"]
    for stratum, s in per_stratum.items():
        lines.append(f"| {md_escape(stratum)} | {s['n']} | {s['accuracy']:.3f} | {s['ci_low']:.3f}–{s['ci_high']:.3f} |")
    return "\n".join(lines)


def evaluation_metadata(result: EvaluationResult) -> dict:
    m = result.metrics
    numeric = {
        **{spec.name: m.get(spec.name) for spec in QUALITY},
        "accuracy_ci_low": m["accuracy_ci_low"],
        "accuracy_ci_high": m["accuracy_ci_high"],
        "token_f1": m.get("token_f1"),
        "invalid_rate": m["invalid_rate"],
        "error_rate": m["error_rate"],
        "n_examples": m["n_examples"],
        "examples_per_second": m["timings"]["examples_per_second"],
        "output_tokens_per_second": m["timings"]["output_tokens_per_second"],
        "cached_examples": m["cached_examples"],
        "generated_examples": m["generated_examples"],
    }
    # None means "not applicable here" (e.g. no robustness variants, all answers cached): not plotted.
    metadata = {k: float(v) if isinstance(v, float) else v for k, v in numeric.items() if v is not None}
    metadata.update(
        {
            "robustness_worst_family": m["robustness_worst_family"] or "n/a",
            "model_digest": m["model_digest"],
            "golden_version": m["golden_version"],
            "per_stratum": dg.MetadataValue.md(stratum_table(m["per_stratum"])),
            "path": dg.MetadataValue.path(str(result.directory)),
        }
    )
    return metadata


@dg.asset(
    partitions_def=model_versions,
    pool=ACCELERATOR_POOL,
    group_name="evaluation",
    deps=["golden_test"],
    check_specs=[contamination_check_spec],
    kinds={"pytorch"},
    description="Quality, hallucination and robustness of one model version on golden_test "
    "(metrics.json + predictions.parquet under evaluations/<name@version>/<golden_version>/).",
)
def model_evaluation(context: dg.AssetExecutionContext, slm: SlmSettings, engines: ModelEngines):
    settings = slm.get()
    version = get_registry(settings).get(context.partition_key)
    report = check_contamination(settings, version.card)
    yield contamination_check_result(report)
    if report is not None and report.contaminated:
        raise ContaminationError(report.describe() + "; evaluation blocked")
    refresh = context.run.tags.get(REFRESH_CACHE_TAG) == "true"
    result = evaluate_model(
        settings, version, progress=context.log.info, show_progress=False, contamination=report, refresh_cache=refresh,
        engines=engines.get(),
    )
    track(context, settings, "evaluation", result.metrics, [result.metrics_path])
    yield dg.MaterializeResult(metadata=evaluation_metadata(result))
