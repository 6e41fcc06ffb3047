"""golden_train, golden_validation, golden_test: split once from production_logs, then frozen.

A thin wrapper over ``core.splits`` and ``core.golden_store``: the first
materialization of a ``golden.version`` builds and freezes it; later ones verify the
frozen files and re-serve them (metadata ``reused: true``), never rewriting them.
"""

import dagster as dg
import pyarrow.parquet as pq

from slm_assets.config import Settings
from slm_assets.core.comparison.planning import size_warning
from slm_assets.core.golden.store import Manifest, file_sha256, freeze_or_verify
from slm_assets.core.schema import SPLITS
from slm_assets.core.golden.splits import build_splits
from slm_assets.defs.resources import SlmSettings

PRODUCTION_LOGS = "production_logs.parquet"

GOLDEN_SPECS = [
    dg.AssetSpec(
        f"golden_{split}",
        group_name="golden",
        deps=["production_logs"],
        kinds={"parquet"},
        description=f"The frozen {split} split of the golden set (<data_dir>/golden/<version>/{split}.parquet).",
    )
    for split in SPLITS
]


def _counts_markdown(counts: dict[str, int], name: str) -> str:
    lines = [f"| {name} | rows |", "|---|---:|"]
    lines += [f"| {key} | {value} |" for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines)


def _split_metadata(manifest: Manifest, split: str) -> dict:
    return {
        "rows": manifest.rows[split],
        "sha256": manifest.sha256[split],
        "version": manifest.version,
        "strategy": manifest.strategy,
        "seed": manifest.seed,
        "config_hash": manifest.config_hash,
        "created_at": manifest.created_at,
        "reused": manifest.reused,
        "source_changed": bool(manifest.extra.get("source_changed", False)),
        "path": dg.MetadataValue.path(str(manifest.path(split))),
        "strata": len(manifest.stratum_counts[split]),
        "labels": len(manifest.label_counts[split]),
        "per_stratum_counts": dg.MetadataValue.md(_counts_markdown(manifest.stratum_counts[split], "stratum")),
        "per_label_counts": dg.MetadataValue.md(_counts_markdown(manifest.label_counts[split], "label")),
        **{f"dropped_{reason}": count for reason, count in manifest.dropped.items()},
    }


def _builder(settings: Settings, log: dg.DagsterLogManager):
    def build():
        source = settings.ingested_dir / PRODUCTION_LOGS
        if not source.is_file():
            raise FileNotFoundError(f"{source}: production_logs not materialized yet (materialize it first)")
        frame = pq.read_table(source).to_pandas()
        log.info(f"splitting {len(frame)} rows of {source} with strategy {settings.golden.strategy!r}")
        next_report = 0

        def progress(done: int, total: int) -> None:
            nonlocal next_report
            if done >= next_report or done == total:
                log.info(f"near-duplicate clustering: {done}/{total} texts")
                next_report = done + max(total // 10, 1)

        splits, dropped = build_splits(frame, settings, progress=progress)
        log.info(f"split sizes {({k: len(v) for k, v in splits.items()})}, dropped {dropped}")
        return splits, dropped

    return build


@dg.multi_asset(specs=GOLDEN_SPECS, can_subset=False)
def golden_splits(context: dg.AssetExecutionContext, slm: SlmSettings):
    settings = slm.get()
    source = settings.ingested_dir / PRODUCTION_LOGS
    fingerprint = file_sha256(source) if source.is_file() else "absent"
    manifest = freeze_or_verify(settings, _builder(settings, context.log), fingerprint)
    context.log.info(
        f"golden set {manifest.version} {'verified and reused' if manifest.reused else 'built and frozen'} "
        f"at {manifest.directory}"
    )
    size_note = size_warning(settings, manifest.rows["test"])
    if size_note:
        context.log.warning(size_note)
    for split in SPLITS:
        yield dg.MaterializeResult(
            asset_key=f"golden_{split}",
            metadata={**_split_metadata(manifest, split), **({"gate_size_warning": size_note}
                                                             if size_note and split == "test" else {})},
            data_version=dg.DataVersion(manifest.sha256[split][:16]),
        )
