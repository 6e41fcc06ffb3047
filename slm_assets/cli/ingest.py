"""``slm-bench ingest``: production_logs and quarantined_logs from the command line (no Dagster run)."""

import sys
from pathlib import Path

from slm_assets.config import load_settings
from slm_assets.core import layout


def register(subparsers) -> None:
    parser = subparsers.add_parser("ingest", help="ingest the configured log sources into <data_dir>/ingested")
    parser.add_argument("--out", help="output folder (default <data_dir>/ingested)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from slm_assets.core.ingestion.logs import IngestError, ingest_logs

    settings = load_settings(args.config)
    out = args.out or layout.ingested_dir(settings)

    def progress(message: str) -> None:
        print(f"  {message}", file=sys.stderr)

    try:
        report = ingest_logs(settings, out, progress=progress)
    except IngestError as exc:
        print(f"slm-bench ingest: {exc}", file=sys.stderr)
        return 2
    print(f"ingested {len(report.files)} file(s) in {report.seconds:.1f} s")
    print(f"  rows read        {report.rows_read:>12,}")
    print(f"  rows kept        {report.rows_kept:>12,}  ({report.unique_rows:,} unique, {report.exact_repeats:,} exact repeats folded)")
    print(f"  rows quarantined {report.rows_quarantined:>12,}")
    for reason, n in sorted(report.quarantined_by_reason.items(), key=lambda kv: -kv[1]):
        print(f"    {reason:<24}{n:>10,}")
    for rejected in report.files_rejected:
        print(f"  file rejected: {rejected['file']} ({rejected['reason']}: {rejected['detail']})")
    print(f"  labelled rows    {report.labelled_rows:>12,}")
    if report.time_min:
        print(f"  time range       {report.time_min} .. {report.time_max}")
    print(f"  version          {report.version} (published as {Path(report.production_path).parents[2] / 'current'})")
    print(f"  production_logs  {report.production_path}")
    print(f"  quarantined_logs {report.quarantine_path}")
    return 0
