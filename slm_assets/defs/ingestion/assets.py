"""production_logs and quarantined_logs: one multi-asset over ``core.logs.ingest_logs``.

Both come from one pass over the log sources, so they are materialized together:
every row read lands in exactly one of them.
"""

import dagster as dg

from slm_assets.core.ingestion.logs import ROW_REASONS, IngestReport, ingest_logs
from slm_assets.defs.resources import SlmSettings
from slm_assets.core import layout



def _specs() -> list[dg.AssetSpec]:
    # Built in a function: the defs-folder loader would take module-level specs for assets of their own.
    return [
        dg.AssetSpec(
            "production_logs",
            group_name="ingestion",
            kinds={"parquet"},
            description=(
                "Production log rows mapped onto the canonical schema: normalised, PII-masked input, UTC "
                "timestamps, exact repeats folded into `occurrences` (<data_dir>/ingested/production_logs.parquet, "
                "a link into the current version folder; production, quarantine and report are published together)."
            ),
        ),
        dg.AssetSpec(
            "quarantined_logs",
            group_name="ingestion",
            kinds={"parquet"},
            description=(
                "Every rejected row with its file, line, reason code, field and raw bytes "
                "(<data_dir>/ingested/quarantined_logs.parquet). rows_read == rows_kept + rows_quarantined."
            ),
        ),
    ]


def reasons_markdown(report: IngestReport) -> str:
    """A small table of quarantine reasons (rows and rejected files)."""
    lines = ["| reason | rows |", "|---|---:|"]
    counts = sorted(report.quarantined_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    lines += [f"| {reason} | {n:,} |" for reason, n in counts]
    lines += [f"| {f['reason']} (file) | {f['file']} |" for f in report.files_rejected]
    if len(lines) == 2:
        lines.append("| (none) | 0 |")
    return "\n".join(lines)


@dg.multi_asset(specs=_specs(), name="ingest_production_logs")
def ingest_production_logs(context: dg.AssetExecutionContext, slm: SlmSettings):
    settings = slm.get()
    sources = ", ".join(str(settings.resolve_path(s.path)) for s in settings.logs.sources)
    context.log.info(f"Ingesting {sources} into {layout.ingested_dir(settings)}")
    report = ingest_logs(settings, layout.ingested_dir(settings), progress=context.log.info)
    numbers = report.to_metadata()
    time_range = {k: numbers.pop(k) for k in ("time_min", "time_max")}
    common = {**numbers, **{k: v for k, v in time_range.items() if v is not None}}
    context.log.info(
        f"{report.rows_read:,} rows read: {report.rows_kept:,} kept ({report.unique_rows:,} unique), "
        f"{report.rows_quarantined:,} quarantined, {len(report.files_rejected)} file(s) rejected"
    )
    yield dg.MaterializeResult(
        asset_key="production_logs",
        metadata={
            **common,
            "path": dg.MetadataValue.path(report.production_path),
            "report": dg.MetadataValue.path(report.report_path),
            "version": report.version,
            "seconds": report.seconds,
        },
    )
    yield dg.MaterializeResult(
        asset_key="quarantined_logs",
        metadata={
            "rows_quarantined": report.rows_quarantined,
            "rows_read": report.rows_read,
            "files_rejected": len(report.files_rejected),
            **{f"quarantined_{r}": numbers[f"quarantined_{r}"] for r in ROW_REASONS},
            "reasons": dg.MetadataValue.md(reasons_markdown(report)),
            "path": dg.MetadataValue.path(report.quarantine_path),
            "version": report.version,
        },
    )
