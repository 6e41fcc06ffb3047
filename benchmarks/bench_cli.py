"""CLI start-up benchmark: CPU seconds of ``slm-bench --help`` and ``slm-bench COMMAND --help``.

Each call is a fresh ``python -m slm_assets`` process, measured by its own CPU time (user + system,
from ``getrusage`` of the finished child), not wall time: on a shared machine wall time counts the
neighbours. Target: under 1 s of CPU for every call (only the chosen command's module is
imported, and none imports torch, Dagster or scikit-learn before it runs). Best of ``--repeats``.
Prints a table and writes ``benchmarks/results/bench_cli.json``.

    .venv/bin/python benchmarks/bench_cli.py [--repeats 3]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bench_cli.json"
TARGET_CPU_SECONDS = 1.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(args: list[str]) -> float:
    """CPU time of one ``python -m slm_assets ARGS`` process (run to completion)."""
    before = _children_cpu()
    subprocess.run([sys.executable, "-m", "slm_assets", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return _children_cpu() - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per command; the best is kept (default 3)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from slm_assets.cli import COMMANDS

    calls = [["--help"]] + [[name, "--help"] for name in COMMANDS]
    rows = []
    for call in calls:
        best = min(cpu_seconds(call) for _ in range(args.repeats))
        rows.append({"command": "slm-bench " + " ".join(call), "cpu_seconds": round(best, 3),
                     "met": best < TARGET_CPU_SECONDS})
    width = max(len(r["command"]) for r in rows)
    print(f"{'command':{width}}  CPU s  < {TARGET_CPU_SECONDS:g} s")
    for r in rows:
        print(f"{r['command']:{width}}  {r['cpu_seconds']:5.2f}  {'met' if r['met'] else 'NOT MET'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"target_cpu_seconds": TARGET_CPU_SECONDS, "repeats": args.repeats,
                                   "python": sys.version.split()[0], "calls": rows}, indent=2) + "\n",
                       encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
