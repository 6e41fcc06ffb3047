"""The golden-set use case: production_logs -> frozen splits, built once, then verified and re-served.

The Dagster asset, the CLI and the benchmarks all call ``build_golden``; ``progress`` receives
one-line messages (the asset passes its log).
"""

from collections.abc import Callable

import pyarrow.parquet as pq

from slm_assets.config import Settings
from slm_assets.core import layout
from slm_assets.core.golden.splits import build_splits
from slm_assets.core.golden.store import Manifest, file_sha256, freeze_or_verify


def build_golden(settings: Settings, progress: Callable[[str], None] = lambda message: None) -> Manifest:
    """Freeze ``settings.golden.version`` from production_logs, or verify and re-serve it when frozen."""
    source = layout.production_logs_file(settings)
    fingerprint = file_sha256(source) if source.is_file() else "absent"

    def build():
        if not source.is_file():
            raise FileNotFoundError(f"{source}: production_logs not materialized yet (materialize it first)")
        frame = pq.read_table(source).to_pandas()
        progress(f"splitting {len(frame)} rows of {source} with strategy {settings.golden.strategy!r}")
        next_report = 0

        def clustering(done: int, total: int) -> None:
            nonlocal next_report
            if done >= next_report or done == total:
                progress(f"near-duplicate clustering: {done}/{total} texts")
                next_report = done + max(total // 10, 1)

        splits, dropped = build_splits(frame, settings, progress=clustering)
        progress(f"split sizes {({k: len(v) for k, v in splits.items()})}, dropped {dropped}")
        return splits, dropped

    manifest = freeze_or_verify(settings, build, fingerprint)
    progress(
        f"golden set {manifest.version} {'verified and reused' if manifest.reused else 'built and frozen'} "
        f"at {manifest.directory}"
    )
    return manifest
