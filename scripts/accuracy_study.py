#!/usr/bin/env python3
"""The many-seed accuracy study of docs/accuracy.md: for each estimator, over every seed's
report and truth, the error of each policy's headline rates (meeting, opportunity), its
spread, the mean interval half-width / 1.96 ("SE"), how often the truth falls outside the
95% interval, how often |error| > 0.02, and the sweeps' regret.

Usage:
    scripts/accuracy_study.py WORK ESTIMATOR [ESTIMATOR ...] [--markdown]

WORK is a folder made by `scripts/accuracy.sh` (`seed-<s>/truth.json` and
`report-<s>-<estimator>/all/summary.json` for every seed). Python 3 standard library only.
"""

import glob
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accuracy import HEADLINE, MAX_ERROR, MAX_REGRET, load, rows_for, sweep_checks  # noqa: E402


def seeds_of(work):
    found = []
    for path in glob.glob(os.path.join(work, "seed-*", "truth.json")):
        m = re.search(r"seed-(\d+)", path)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def study(work, estimator):
    per_key = {}
    regrets = []
    seeds = seeds_of(work)
    for seed in seeds:
        truth = load(os.path.join(work, f"seed-{seed}", "truth.json"))
        summary_path = os.path.join(work, f"report-{seed}-{estimator}", "all", "summary.json")
        if not os.path.exists(summary_path):
            continue
        summary = load(summary_path)
        for row in rows_for(truth, summary):
            if row["rate"] not in HEADLINE or row["error"] is None:
                continue
            key = (row["policy"], row["rate"])
            half = None if row["low"] is None else (row["high"] - row["low"]) / 2 / 1.959964
            per_key.setdefault(key, []).append((row["error"], half, row["covered"]))
        for check in sweep_checks(truth, summary):
            if check["regret"] is not None:
                regrets.append(check["regret"])
    return seeds, per_key, regrets


def main(argv):
    markdown = "--markdown" in argv
    args = [a for a in argv if a != "--markdown"]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    work, estimators = args[0], args[1:]
    for estimator in estimators:
        seeds, per_key, regrets = study(work, estimator)
        total = sum(len(v) for v in per_key.values())
        outside = sum(1 for v in per_key.values() for (_, _, c) in v if c is False)
        large = sum(1 for v in per_key.values() for (e, _, _) in v if abs(e) > MAX_ERROR)
        covered = 100.0 * (total - outside) / total if total else float("nan")
        print(f"## {estimator}: {len(seeds)} seeds, {total} headline estimates")
        print(
            f"truth inside the 95% interval: {total - outside} of {total} ({covered:.1f}%); "
            f"|error| > {MAX_ERROR}: {large}; sweeps with regret > {MAX_REGRET}: "
            f"{sum(1 for r in regrets if r > MAX_REGRET)} of {len(regrets)} "
            f"(largest {max(regrets) if regrets else float('nan'):.2f})"
        )
        header = ["policy", "rate", "mean error", "sd of the error", "mean SE",
                  "|error| > 0.02", "truth outside"]
        if markdown:
            print("| " + " | ".join(header) + " |")
            print("|---|---|---:|---:|---:|---:|---:|")
        else:
            print("  ".join(header))
        for (policy, rate), values in sorted(per_key.items()):
            errors = [e for (e, _, _) in values]
            halves = [h for (_, h, _) in values if h is not None]
            cells = [
                f"`{policy}`" if markdown else policy,
                rate.replace("_rate", ""),
                f"{statistics.mean(errors):+.4f}",
                f"{statistics.stdev(errors):.4f}" if len(errors) > 1 else "-",
                f"{statistics.mean(halves):.4f}" if halves else "-",
                str(sum(1 for e in errors if abs(e) > MAX_ERROR)),
                str(sum(1 for (_, _, c) in values if c is False)),
            ]
            print(("| " + " | ".join(cells) + " |") if markdown else "  ".join(cells))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
