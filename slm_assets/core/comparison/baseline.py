"""Which version a candidate is compared with, and the audited move of ``production`` after a pass."""

from typing import Any

from slm_assets.config import Settings

PRODUCTION = "production"


def resolve_baseline(registry: Any, candidate: Any, spec: str) -> Any | None:
    """The baseline ModelRef for ``candidate`` (a ModelRef), or None when there is none yet.

    ``spec``: ``NAME@VERSION`` (must be registered), ``previous`` (the version of the same
    name registered just before the candidate) or an alias of the candidate's name.
    """
    from slm_assets.core.models.registry import ModelRef

    if "@" in spec:
        return registry.get(ModelRef.parse(spec)).ref
    if spec == "previous":
        same = sorted(
            (v for v in registry.list_ready() if v.ref.name == candidate.name),
            key=lambda v: (v.card.created_at, v.ref.version),
        )
        keys = [v.ref for v in same]
        if candidate not in keys:
            return None
        i = keys.index(candidate)
        return keys[i - 1] if i > 0 else None
    version = registry.aliases(candidate.name).get(spec)
    return None if version is None else ModelRef(candidate.name, version)


PROMOTABLE = ("pass", "no_baseline")


def promote_if_passed(registry: Any, result: dict[str, Any], settings: Settings, comparison_path: str) -> dict | None:
    """Move ``production`` to the candidate when the config asks for it and the verdict is PASS
    (or there was no baseline): never on REGRESSION or INCONCLUSIVE.

    Returns the audit entry, or None when nothing moved (also when it is production already).
    """
    from slm_assets.core.models.registry import ModelRef

    if not settings.comparison.promote_on_pass or result["verdict"] not in PROMOTABLE:
        return None
    ref = ModelRef.parse(result["candidate"])
    if registry.aliases(ref.name).get(PRODUCTION) == ref.version:
        return None
    return registry.set_alias(
        ref.name,
        PRODUCTION,
        ref.version,
        audit={
            "what": f"promote {ref.key} to {PRODUCTION}",
            "verdict": result["verdict"],
            "baseline": result["baseline"],
            "golden_version": result["golden_version"],
            "comparison": comparison_path,
        },
    )
