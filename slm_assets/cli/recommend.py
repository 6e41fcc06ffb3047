"""``slm-bench recommend``: which version to ship, from the stored evaluations, profiles and comparisons.

Prints, per model name, the cheapest version that meets every SLO with no significant
regression against its ``production`` alias, the Pareto frontier of accuracy against
P95 latency, peak memory and cost, and why every other version does not qualify
(the leaderboard shows the same). Exit 0 when every name has a recommendation,
1 when one has none, 2 on an error. Nothing is measured: run the gate or the demo first.
"""

import argparse
import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("recommend", help="the cheapest version meeting every SLO without a regression",
                                   description=__doc__)
    parser.add_argument("--model", help="only this model name (default: every name on the current golden set)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from slm_assets.config import load_settings
    from slm_assets.core.reporting.frontier import recommendation_text
    from slm_assets.core.reporting.leaderboard import recommendations
    from slm_assets.core.reporting.report import all_versions

    settings = load_settings(args.config)
    try:
        recs = recommendations(settings, all_versions(settings))
    except (OSError, ValueError) as exc:
        print(f"slm-bench recommend: {exc}", file=sys.stderr)
        return 2
    if args.model:
        recs = {k: v for k, v in recs.items() if k == args.model}
    if not recs:
        what = f"model {args.model!r}" if args.model else "any model"
        print(f"slm-bench recommend: no evaluation of {what} on golden set {settings.golden.version}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"golden_version": settings.golden.version, "currency": settings.cost.currency,
                          "models": recs}, indent=2, sort_keys=True))
    else:
        for name, rec in recs.items():
            print(f"# {name} on golden set {settings.golden.version}\n{recommendation_text(rec, settings.cost.currency)}\n")
    return 0 if all(rec["recommended"] for rec in recs.values()) else 1
