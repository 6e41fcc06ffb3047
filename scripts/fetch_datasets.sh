#!/usr/bin/env bash
# Downloads the two public datasets the example configs read, from their authors' repositories:
#   banking77/       train.csv test.csv categories.json LICENSE   (PolyAI-LDN/task-specific-datasets, CC BY 4.0)
#   nlbse24_issues/  issues_train.csv issues_test.csv             (nlbse2024/issue-report-classification)
#
#   scripts/fetch_datasets.sh [DEST]     # DEST: else $SLM_DATASETS_DIR, else ../shared/datasets
#
# Files already there are kept (never overwritten); each new one is written to a .part file, its
# rows counted against the published figures, then renamed. Exit 0 when every file is present,
# 2 with the reason (e.g. no internet) otherwise. Point the configs at DEST with SLM_DATASETS_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-${SLM_DATASETS_DIR:-../shared/datasets}}
PY=$(command -v python3 || command -v python)
exec "$PY" - "$DEST" <<'PYEOF'
import csv
import sys
import urllib.request
from pathlib import Path

POLYAI = "https://raw.githubusercontent.com/PolyAI-LDN/task-specific-datasets/master"
NLBSE = "https://raw.githubusercontent.com/nlbse2024/issue-report-classification/main"
# folder/file -> (candidate URLs, data rows expected or None)
FILES = {
    "banking77/train.csv": ([f"{POLYAI}/banking_data/train.csv"], 10003),
    "banking77/test.csv": ([f"{POLYAI}/banking_data/test.csv"], 3080),
    "banking77/categories.json": ([f"{POLYAI}/banking_data/categories.json"], None),
    "banking77/LICENSE": ([f"{POLYAI}/LICENSE"], None),
    "nlbse24_issues/issues_train.csv": ([f"{NLBSE}/issues_train.csv", f"{NLBSE}/data/issues_train.csv"], 1500),
    "nlbse24_issues/issues_test.csv": ([f"{NLBSE}/issues_test.csv", f"{NLBSE}/data/issues_test.csv"], 1500),
}


def rows(path: Path) -> int:
    csv.field_size_limit(1 << 30)  # NLBSE bodies run past the default 128 KiB
    with path.open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def fetch(urls: list[str], part: Path) -> str:
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                part.write_bytes(response.read())
            return url
        except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
            errors.append(f"{url}: {exc}")
    raise OSError("; ".join(errors))


def main(dest: Path) -> int:
    failed = []
    for name, (urls, expected) in FILES.items():
        target = dest / name
        if target.is_file():
            print(f"present      {target}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        try:
            url = fetch(urls, part)
            if expected is not None and rows(part) != expected:
                raise OSError(f"{url}: {rows(part)} rows, the published file has {expected}")
        except OSError as exc:
            part.unlink(missing_ok=True)
            failed.append(f"{name}: {exc}")
            print(f"FAILED       {target}", file=sys.stderr)
            continue
        part.rename(target)
        print(f"downloaded   {target}  <- {url}")
    if failed:
        print("fetch_datasets: could not download (is the internet reachable from here?):\n  "
              + "\n  ".join(failed), file=sys.stderr)
        return 2
    print(f"all datasets in {dest}; the example configs read them with SLM_DATASETS_DIR={dest.resolve()}")
    return 0


sys.exit(main(Path(sys.argv[1])))
PYEOF
