"""``slm-bench generate-logs``: synthetic production logs of the support-request router."""

import sys
from pathlib import Path

from slm_assets.config import load_settings
from slm_assets.core import layout
from slm_assets.core.ingestion.synthetic import write_logs

DEFAULT_FILE = "support_logs.jsonl"


def register(subparsers) -> None:
    parser = subparsers.add_parser("generate-logs", help="write synthetic support-router logs (JSONL, seeded)")
    parser.add_argument("--rows", type=int, default=20_000, help="lines to write (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same file (default 0)")
    parser.add_argument("--out", help=f"output file (default <data_dir>/logs/{DEFAULT_FILE})")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.rows < 1:
        print(f"slm-bench generate-logs: --rows must be at least 1, got {args.rows}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else layout.logs_dir(load_settings(args.config)) / DEFAULT_FILE

    def progress(rows: int) -> None:
        print(f"  {rows:,} / {args.rows:,} rows", file=sys.stderr)

    counts = write_logs(out, args.rows, args.seed, progress=progress)
    planted = ", ".join(f"{k} {v:,}" for k, v in counts.items() if k not in ("path", "seed", "rows"))
    print(f"wrote {counts['rows']:,} lines (seed {args.seed}) to {out}")
    print(f"  {planted}")
    return 0
