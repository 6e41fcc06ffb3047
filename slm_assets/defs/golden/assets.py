"""golden_train, golden_validation, golden_test: split once from production_logs, then frozen.

A thin wrapper over ``core.golden.build``: the first
materialization of a ``golden.version`` builds and freezes it; later ones verify the
frozen files and re-serve them (metadata ``reused: true``), never rewriting them.
"""

import dagster as dg

from slm_assets.core.comparison.planning import size_warning
from slm_assets.core.golden.build import build_golden
from slm_assets.core.golden.store import Manifest
from slm_assets.core.schema import SPLITS
from slm_assets.core.markdown import md_escape
from slm_assets.defs.resources import SlmSettings



def _golden_spec(split: str) -> dg.AssetSpec:
    # Built in a function: the defs-folder loader would take module-level specs for assets of their own.
    return dg.AssetSpec(
        f"golden_{split}",
        group_name="golden",
        deps=["production_logs"],
        kinds={"parquet"},
        description=f"The frozen {split} split of the golden set (<data_dir>/golden/<version>/{split}.parquet).",
    )


def _counts_markdown(counts: dict[str, int], name: str) -> str:
    lines = [f"| {name} | rows |", "|---|---:|"]
    lines += [f"| {md_escape(key)} | {value} |" for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
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


@dg.multi_asset(specs=[_golden_spec(split) for split in SPLITS], can_subset=False)
def golden_splits(context: dg.AssetExecutionContext, slm: SlmSettings):
    settings = slm.get()
    manifest = build_golden(settings, progress=context.log.info)
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
