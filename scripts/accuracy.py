#!/usr/bin/env python3
"""Estimate against known truth: joins `handoff report` summaries with `handoff generate
--truth` and prints, per estimator, a table of every policy's estimate, interval, error and
whether the interval covers the truth, plus each sweep's optimum check.

Usage:
    scripts/accuracy.py TRUTH.json NAME=SUMMARY.json [NAME=SUMMARY.json ...]
        [--markdown] [--check]

NAME is the estimator's name (matched, dm, ipw, snipw, dr). With --markdown the tables are
Markdown (docs/accuracy.md is made of them). With --check the exit status is 1 when the `dr`
summary misses the acceptance criteria of issue 4: |error| <= 0.02 on meeting and opportunity
rates for every policy, the truth inside the 95% interval for at least 90% of the estimates,
and each sweep's chosen optimum within 0.5 net objective per 100 conversations of the true
best. Python 3 standard library only.
"""

import json
import sys

RATES = [
    "meeting_rate",
    "opportunity_rate",
    "handoff_to_meeting",
    "handoff_to_opportunity",
]
HEADLINE = ["meeting_rate", "opportunity_rate"]
MAX_ERROR = 0.02
MIN_COVERAGE = 0.90
MAX_REGRET = 0.5


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fmt(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}"


def rows_for(truth, summary):
    """One row per (policy, rate) estimated by the summary: historical is observed, not
    estimated, so it is left out."""
    truth_by_name = {p["name"]: p for p in truth["policies"]}
    rows = []
    for policy in summary["policies"]:
        name = policy["name"]
        if policy.get("kind") == "historical" or name not in truth_by_name:
            continue
        t = truth_by_name[name]
        for rate in RATES:
            true_value = t.get(rate)
            est = policy.get(rate) or {}
            if true_value is None:
                continue
            e, lo, hi = est.get("estimate"), est.get("low"), est.get("high")
            error = None if e is None else e - true_value
            covered = None if lo is None or hi is None else lo <= true_value <= hi
            rows.append(
                {
                    "policy": name,
                    "rate": rate,
                    "truth": true_value,
                    "estimate": e,
                    "low": lo,
                    "high": hi,
                    "error": error,
                    "covered": covered,
                }
            )
    return rows


def sweep_checks(truth, summary):
    """Per sweep: the chosen optimum, its true net objective and the true best's."""
    truth_sweeps = {(s["policy"], s["parameter"]): s for s in truth["sweeps"]}
    checks = []
    for sweep in summary.get("sweeps", []):
        t = truth_sweeps.get((sweep["policy"], sweep["parameter"]))
        optimal = sweep.get("optimal")
        if t is None or not t["points"]:
            continue
        true_by_value = {round(p["value"], 9): p["net_objective_per_100"] for p in t["points"]}
        best = max(t["points"], key=lambda p: p["net_objective_per_100"])
        chosen = None if optimal is None else optimal["value"]
        chosen_true = None if chosen is None else true_by_value.get(round(chosen, 9))
        regret = None if chosen_true is None else best["net_objective_per_100"] - chosen_true
        checks.append(
            {
                "sweep": f'{sweep["policy"]} {sweep["parameter"]}',
                "chosen": chosen,
                "chosen_estimate": None
                if optimal is None
                else optimal["net_objective_per_100"].get("estimate"),
                "chosen_true": chosen_true,
                "best": best["value"],
                "best_true": best["net_objective_per_100"],
                "regret": regret,
            }
        )
    return checks


def print_table(name, rows, checks, markdown):
    head = ["policy", "rate", "truth", "estimate", "95% interval", "error", "covered"]
    lines = []
    for r in rows:
        interval = (
            "null" if r["low"] is None else f'[{fmt(r["low"])}, {fmt(r["high"])}]'
        )
        covered = {True: "yes", False: "NO", None: "-"}[r["covered"]]
        error = "n/a" if r["error"] is None else f'{r["error"]:+.3f}'
        lines.append(
            [r["policy"], r["rate"], fmt(r["truth"]), fmt(r["estimate"]), interval, error, covered]
        )
    head_s = ["sweep", "chosen", "its estimate", "its truth", "true best", "best's truth",
              "regret"]
    sweep_lines = [
        [
            c["sweep"],
            fmt(c["chosen"], 1),
            fmt(c["chosen_estimate"], 2),
            fmt(c["chosen_true"], 2),
            fmt(c["best"], 1),
            fmt(c["best_true"], 2),
            fmt(c["regret"], 2),
        ]
        for c in checks
    ]
    print(f"\n### `{name}`\n" if markdown else f"\n== {name} ==")
    emit(head, lines, markdown)
    print()
    emit(head_s, sweep_lines, markdown)
    print()
    for line in verdict_lines(rows, checks):
        print(f"- {line}" if markdown else line)


def emit(head, lines, markdown):
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    for line in [head] + lines:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)))


def verdicts(rows, checks):
    headline = [r for r in rows if r["rate"] in HEADLINE]
    errors = [abs(r["error"]) for r in headline if r["error"] is not None]
    missing = sum(1 for r in headline if r["error"] is None)
    max_error = max(errors) if errors else None
    judged = [r for r in rows if r["covered"] is not None]
    coverage = sum(1 for r in judged if r["covered"]) / len(judged) if judged else None
    regrets = [c["regret"] for c in checks]
    worst_regret = None if any(x is None for x in regrets) or not regrets else max(regrets)
    return {
        "max_error": max_error,
        "missing": missing,
        "coverage": coverage,
        "covered": sum(1 for r in judged if r["covered"]),
        "judged": len(judged),
        "worst_regret": worst_regret,
        "sweeps": len(checks),
    }


def verdict_lines(rows, checks):
    v = verdicts(rows, checks)
    return [
        f'largest |error| on meeting and opportunity rates: {fmt(v["max_error"])}'
        + (f' ({v["missing"]} not estimated)' if v["missing"] else ""),
        f'truth inside the 95% interval: {v["covered"]} of {v["judged"]} estimates'
        + (f' ({100 * v["coverage"]:.0f}%)' if v["coverage"] is not None else ""),
        f'largest sweep regret (net objective per 100 conversations): {fmt(v["worst_regret"], 2)}',
    ]


def passes(rows, checks):
    v = verdicts(rows, checks)
    return (
        v["max_error"] is not None
        and v["missing"] == 0
        and v["max_error"] <= MAX_ERROR
        and v["coverage"] is not None
        and v["coverage"] >= MIN_COVERAGE
        and v["worst_regret"] is not None
        and v["worst_regret"] <= MAX_REGRET
    )


def main(argv):
    markdown = "--markdown" in argv
    check = "--check" in argv
    args = [a for a in argv if not a.startswith("--")]
    if len(args) < 2 or any("=" not in a for a in args[1:]):
        print(__doc__, file=sys.stderr)
        return 2
    truth = load(args[0])
    results = {}
    for arg in args[1:]:
        name, path = arg.split("=", 1)
        summary = load(path)
        rows = rows_for(truth, summary)
        checks = sweep_checks(truth, summary)
        results[name] = (rows, checks)
        print_table(name, rows, checks, markdown)
    if check:
        if "dr" not in results:
            print("--check needs a dr summary", file=sys.stderr)
            return 2
        ok = passes(*results["dr"])
        print(f'\ndr meets the acceptance criteria: {"yes" if ok else "NO"}')
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
