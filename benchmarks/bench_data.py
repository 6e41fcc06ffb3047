"""Data-path benchmark: ingestion and leakage checks at growing sizes, near-duplicate recall.

For each size (default 10^4, 10^5, 10^6 rows):
1. ``write_logs`` generates the synthetic production logs (JSONL);
2. ingestion (``ingest_logs`` with the default config's column mapping) runs in its
   own subprocess, so the peak RSS reported is that size's alone;
3. the leakage checks run in another subprocess on every kept row, dealt 70/10/20
   into train/validation/test at random (the splitter keeps near-duplicates together,
   which would leave the checks nothing to find): the near-duplicate check alone, then
   all seven split checks.
Then near-duplicate recall: MinHash/LSH pairs against exact brute-force Jaccard of
every pair in a 20,000-row sample of the generated inputs (sparse shingle-incidence
products, so every pair is really compared).

Targets: 10^6 rows ingested < 60 s with peak RSS < 2 GB; leakage < 120 s on 10^6;
recall >= 0.95; cost per row about flat across sizes. Prints a table and writes
``benchmarks/results/bench_data.json``.

    .venv/bin/python benchmarks/bench_data.py [--sizes 10000,100000,1000000] [--sample 20000]
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from slm_assets.core import layout

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bench_data.json"
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"
SPLIT_SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ingestion's process pool): on a shared
    machine, wall time also counts other people's work."""
    return sum(
        u.ru_utime + u.ru_stime
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _sizes(value: str) -> list[int]:
    """``--sizes`` takes ``10000,100000`` as well as ``10000 100000``."""
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes: {value!r} is not a list of row counts") from None


def write_config(workdir: Path) -> Path:
    """The default config (its column mapping and checks) with data under ``workdir``."""
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["data_dir"] = str(workdir / "data")
    raw["logs"]["sources"] = [{"path": str(workdir / "logs")}]
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# -- workers: each runs in its own process and prints one JSON line --


def worker_ingest(config: Path) -> dict:
    from slm_assets.config import load_settings
    from slm_assets.core.ingestion.logs import ingest_logs

    settings = load_settings(config)
    start, cpu = time.perf_counter(), cpu_seconds()
    report = ingest_logs(settings, layout.ingested_dir(settings))
    seconds = time.perf_counter() - start
    return {
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "rows_quarantined": report.rows_quarantined,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "rows_per_second": report.rows_read / seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def random_splits(frame, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    which = rng.choice(list(SPLIT_SHARES), size=len(frame), p=list(SPLIT_SHARES.values()))
    return {name: frame[which == name].reset_index(drop=True) for name in SPLIT_SHARES}


def worker_leakage(config: Path) -> dict:
    import pyarrow.parquet as pq

    from slm_assets.config import load_settings
    from slm_assets.core.golden.leakage import near_duplicate_overlap, run_leakage_checks

    settings = load_settings(config)
    frame = pq.read_table(layout.ingested_dir(settings) / "production_logs.parquet").to_pandas()
    splits = random_splits(frame)
    start, cpu = time.perf_counter(), cpu_seconds()
    near = near_duplicate_overlap(splits, settings.golden.near_duplicate)
    near_seconds, near_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    start, cpu = time.perf_counter(), cpu_seconds()
    outcomes = run_leakage_checks(splits, settings)
    return {
        "rows": len(frame),
        "near_duplicate_seconds": near_seconds,
        "near_duplicate_cpu_seconds": near_cpu,
        "all_checks_seconds": time.perf_counter() - start,
        "all_checks_cpu_seconds": cpu_seconds() - cpu,
        "near_duplicate_pairs": near.counts["pairs"],
        "failed_checks": sorted(name for name, o in outcomes.items() if not o.passed),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_worker(kind: str, config: Path) -> dict:
    """Run a worker; its peak RSS is sampled over the whole process tree (pool workers included)."""
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--worker", kind, str(config)], stdout=out, stderr=err, cwd=ROOT)
        tree_peak = 0
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                tree_peak = max(tree_peak, sum(p.memory_info().rss for p in tree))
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{kind} worker failed for {config}:\n{err.read()[-4000:]}")
        return {**json.loads(out.read().strip().splitlines()[-1]), "tree_peak_rss_mb": tree_peak / 2**20}


# -- recall against brute force --


def reference_shingles(text: str, k: int) -> set[tuple[str, ...]]:
    """Shingles as near_duplicates defines them, written out plainly in Python."""
    from slm_assets.core.golden.near_duplicates import PUNCTUATION

    words = [w.strip(PUNCTUATION) for w in text.lower().split()]
    words = [w for w in words if w]
    return {tuple(words[i : i + k]) for i in range(max(len(words) - k + 1, 1))}


def brute_force_pairs(texts: list[str], k: int, threshold: float, chunk: int = 1000) -> set[tuple[int, int]]:
    """Every pair (i < j) with exact Jaccard >= threshold: intersections of all pairs via sparse products."""
    from scipy.sparse import csr_matrix

    vocab: dict[tuple[str, ...], int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for shingle in reference_shingles(text, k):
            rows.append(i)
            cols.append(vocab.setdefault(shingle, len(vocab)))
    incidence = csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=(len(texts), len(vocab)))
    sizes = np.asarray(incidence.sum(axis=1)).ravel()
    transposed = incidence.T.tocsc()
    pairs = set()
    for start in range(0, len(texts), chunk):
        inter = (incidence[start : start + chunk] @ transposed).toarray()
        union = sizes[start : start + chunk, None] + sizes[None, :] - inter
        i, j = np.nonzero(inter >= threshold * union)
        i = i + start
        keep = i < j
        pairs.update(zip(i[keep].tolist(), j[keep].tolist()))
    return pairs


def recall(texts: list[str], cfg) -> dict:
    from slm_assets.core.golden.near_duplicates import NearDuplicateIndex

    start = time.perf_counter()
    truth = brute_force_pairs(texts, cfg.shingle_size, cfg.threshold)
    brute_seconds = time.perf_counter() - start
    start = time.perf_counter()
    index = NearDuplicateIndex(texts, cfg)
    group = index.groups
    ga, gb, _ = index.similar_groups
    minhash_seconds = time.perf_counter() - start
    linked = set(zip(ga.tolist(), gb.tolist())) | set(zip(gb.tolist(), ga.tolist()))
    found = {(i, j) for i, j in truth if group[i] == group[j] or (group[i], group[j]) in linked}
    identical = {(i, j) for i, j in truth if group[i] == group[j]}
    # precision: every linked group pair is checked on exact shingle sets, so count reported pairs
    sizes = np.bincount(group).astype(np.int64)
    reported = int((sizes[ga] * sizes[gb]).sum() + (sizes * (sizes - 1) // 2).sum())
    return {
        "sample_rows": len(texts),
        "true_pairs": len(truth),
        "true_pairs_not_identical": len(truth - identical),
        "found_pairs": len(found),
        "recall": len(found) / len(truth) if truth else 1.0,
        "recall_not_identical": (len(found - identical) / len(truth - identical)) if truth - identical else 1.0,
        "reported_pairs": reported,
        "precision": len(found) / reported if reported else 1.0,
        "brute_force_seconds": brute_seconds,
        "minhash_lsh_seconds": minhash_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=_sizes, nargs="+", default=[[10_000, 100_000, 1_000_000]],
                        help="row counts, comma- or space-separated (default 10000,100000,1000000)")
    parser.add_argument("--sample", type=int, default=20_000, help="rows in the brute-force recall sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, config = args.worker
        print(json.dumps({"ingest": worker_ingest, "leakage": worker_leakage}[kind](Path(config))))
        return 0

    from slm_assets.config import load_settings
    from slm_assets.core.ingestion.synthetic import write_logs

    results: dict = {"sizes": [], "targets": {"ingest_1e6_seconds": 60, "ingest_peak_rss_mb": 2048,
                                              "leakage_1e6_seconds": 120, "recall": 0.95}}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        for size in [n for group in args.sizes for n in group]:
            workdir = Path(tmp) / str(size)
            (workdir / "logs").mkdir(parents=True)
            config = write_config(workdir)
            start = time.perf_counter()
            write_logs(workdir / "logs" / "logs.jsonl", size, seed=args.seed)
            generate_seconds = time.perf_counter() - start
            print(f"[{size}] generated in {generate_seconds:.1f} s; ingesting...", flush=True)
            ingest = run_worker("ingest", config)
            print(f"[{size}] ingested in {ingest['seconds']:.1f} s; leakage checks...", flush=True)
            leakage = run_worker("leakage", config)
            results["sizes"].append({"rows": size, "generate_seconds": generate_seconds,
                                     "ingest": ingest, "leakage": leakage})
            if size == max(args.sizes):
                import pyarrow.parquet as pq

                texts = pq.read_table(workdir / "data" / "ingested" / "production_logs.parquet", columns=["input"])
                texts = texts.column("input").to_pylist()
                rng = np.random.default_rng(args.seed)
                sample = [texts[i] for i in sorted(rng.choice(len(texts), min(args.sample, len(texts)), replace=False))]
                print(f"recall on {len(sample)} rows against brute force...", flush=True)
                results["recall"] = recall(sample, load_settings(config).golden.near_duplicate)
            shutil.rmtree(workdir, ignore_errors=True)  # a 10^6-row run leaves ~1 GB behind

    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS}")
    return 0


def print_table(results: dict) -> None:
    head = (f"{'rows':>9} | {'ingest s':>8} | {'cpu s':>6} | {'rows/s':>7} | {'RSS MB':>6} | {'near-dup s':>10} | "
            f"{'cpu s':>6} | {'all checks s':>12} | {'cpu s':>6} | {'cpu us/row':>10} | {'RSS MB':>6}")
    print("\n" + head + "\n" + "-" * len(head))
    for entry in results["sizes"]:
        ing, leak = entry["ingest"], entry["leakage"]
        print(
            f"{entry['rows']:>9} | {ing['seconds']:>8.1f} | {ing['cpu_seconds']:>6.1f} | {ing['rows_per_second']:>7.0f} | "
            f"{ing['tree_peak_rss_mb']:>6.0f} | {leak['near_duplicate_seconds']:>10.1f} | {leak['near_duplicate_cpu_seconds']:>6.1f} | "
            f"{leak['all_checks_seconds']:>12.1f} | {leak['all_checks_cpu_seconds']:>6.1f} | "
            f"{1e6 * leak['all_checks_cpu_seconds'] / max(leak['rows'], 1):>10.1f} | {leak['tree_peak_rss_mb']:>6.0f}"
        )
    print("(seconds are wall clock; cpu s is the worker's own CPU time with its children, robust to other load;")
    print(" RSS is the peak of the worker's whole process tree, sampled every 0.2 s)")
    if "recall" in results:
        r = results["recall"]
        print(
            f"\nnear-duplicate recall on {r['sample_rows']} rows: {r['recall']:.4f} of {r['true_pairs']} true pairs "
            f"({r['recall_not_identical']:.4f} of {r['true_pairs_not_identical']} non-identical); "
            f"precision {r['precision']:.4f}; brute force {r['brute_force_seconds']:.1f} s, "
            f"MinHash/LSH {r['minhash_lsh_seconds']:.1f} s"
        )


if __name__ == "__main__":
    sys.exit(main())
