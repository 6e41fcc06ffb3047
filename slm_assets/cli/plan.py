"""``slm-bench plan``: how many golden test (and robustness) examples the gate needs to tell a
drop of the margin from noise, and what the current config can detect."""

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plan", help="golden-set size the gate needs for a margin", description=__doc__)
    parser.add_argument("--margin", type=float, help="accuracy drop to detect (default: the accuracy threshold)")
    parser.add_argument("--accuracy", type=float, help="expected accuracy (default: comparison.expected_accuracy)")
    parser.add_argument("--discordance", type=float,
                        help="share of examples where candidate and baseline disagree (default: "
                        "comparison.expected_discordance, else 2p(1-p)); a past comparison's "
                        "(improved + worsened) / paired examples is a good value")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from slm_assets.config import load_settings
    from slm_assets.core.comparison.planning import plan

    settings = load_settings(args.config)
    try:
        p = plan(settings, margin=args.margin, accuracy=args.accuracy, discordance=args.discordance)
    except ValueError as exc:
        print(f"slm-bench plan: {exc}")
        return 2
    if args.json:
        print(json.dumps(p.to_dict(), indent=2))
        return 0
    mdd = "n/a" if p.evaluated_mdd is None else f"{100 * p.evaluated_mdd:.1f} points"
    print(f"To tell a {100 * p.margin:g}-point accuracy drop from noise (expected accuracy {p.accuracy:g}, "
          f"discordance {p.discordance:.3f}, power {p.power:.0%}, alpha {p.alpha:g}):\n"
          f"  golden test examples: {p.test_examples}\n"
          f"  robustness subset:    {p.robustness_examples} (for its {100 * p.robustness_margin:g}-point threshold)\n"
          f"This config evaluates {p.evaluated} golden test examples: it detects accuracy drops of {mdd} or more.")
    if p.evaluated < p.test_examples:
        print("Raise golden.max_rows.test / evaluation.max_examples, or accept INCONCLUSIVE verdicts on small drops.")
    return 0
