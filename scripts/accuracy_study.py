#!/usr/bin/env python3
"""The many-seed accuracy study of docs/accuracy.md: for each estimator, over every seed's
report and truth, the error of each policy's headline rates (meeting, opportunity), its
spread, the mean interval half-width / 1.96 ("SE"), how often the truth falls outside the
95% interval, how often |error| > 0.02, and the sweeps' regret.

Usage:
    scripts/accuracy_study.py WORK ESTIMATOR [ESTIMATOR ...] [--markdown]
    scripts/accuracy_study.py WORK ESTIMATOR [ESTIMATOR ...] --slices [--min-conversations N]
        [--markdown] [--check]

WORK is a folder made by `scripts/accuracy.sh` (`seed-<s>/truth.json` and
`report-<s>-<estimator>/all/summary.json` for every seed). Python 3 standard library only.

With --sensitivity, the study of issue 16 (docs/accuracy.md, "Hidden confounding"): every WORK
made by `CONFOUND=C scripts/accuracy.sh` (its `confound` file holds C) gives one row: the
confounding strength, `dr`'s mean absolute error on the meeting and opportunity rates, how often
the truth lies inside its 95% interval, and per Gamma of the reports' `--gammas` the share of
policies x {meeting, opportunity} whose truth lies within the sensitivity bounds.

    scripts/accuracy_study.py --sensitivity WORK [WORK ...] [--markdown]

With --slices, the per-slice study of issue 14: reports made with `--by` (summary.json
`slices`) against truth files with `slices` (`handoff generate --truth`, best with
`--slice-effects`). Every slice with at least N conversations (default 2000) in both the report
and the truth is compared: the error of each policy's meeting and opportunity rates and whether
the truth lies in its interval ([low, high]). One table per estimator gives, per column, the
coverage and the largest and mean absolute error, then one row per column and value. With
--check the exit status is 1 when an estimator misses the criteria (|error| <= 0.04 and the
truth inside the interval for at least 85% of the estimates, per column).
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


SLICE_MIN_CONVERSATIONS = 2000
SLICE_MAX_ERROR = 0.04
SLICE_MIN_COVERAGE = 0.85


def slice_rows(truth, summary, min_conversations):
    """One row per (column, value, policy, headline rate) of the slices that hold at least
    `min_conversations` conversations in both the report and the truth. `(other)` and values
    the truth lacks are left out: they have nothing to compare with."""
    truth_cuts = {cut["by"]: cut for cut in truth.get("slices", [])}
    rows = []
    for cut in summary.get("slices", []):
        by = cut["by"]
        truth_values = {v["value"]: v for v in truth_cuts.get(by, {}).get("values", [])}
        for value in cut.get("values", []):
            t = truth_values.get(value["value"])
            if t is None:
                continue
            if min(value.get("conversations", 0), t.get("conversations", 0)) < min_conversations:
                continue
            for row in rows_for(t, value):
                if row["rate"] not in HEADLINE:
                    continue
                row.update(by=by, value=value["value"], conversations=value["conversations"])
                rows.append(row)
    return rows


def slice_study(work, estimator, min_conversations):
    """Every qualifying slice row of every seed, each with its seed."""
    seeds = seeds_of(work)
    rows = []
    used = []
    for seed in seeds:
        summary_path = os.path.join(work, f"report-{seed}-{estimator}", "all", "summary.json")
        if not os.path.exists(summary_path):
            continue
        truth = load(os.path.join(work, f"seed-{seed}", "truth.json"))
        summary = load(summary_path)
        found = slice_rows(truth, summary, min_conversations)
        for row in found:
            row["seed"] = seed
        rows.extend(found)
        used.append(seed)
    return used, rows


def slice_verdict(rows):
    """Coverage and errors of a group of slice rows; an estimate the report left null counts
    as missing (and fails the check)."""
    errors = [abs(r["error"]) for r in rows if r["error"] is not None]
    judged = [r for r in rows if r["covered"] is not None]
    covered = sum(1 for r in judged if r["covered"])
    return {
        "estimates": len(rows),
        "missing": len(rows) - len(errors),
        "covered": covered,
        "judged": len(judged),
        "coverage": covered / len(judged) if judged else None,
        "max_error": max(errors) if errors else None,
        "mean_error": statistics.mean(errors) if errors else None,
        "slices": len({(r.get("seed"), r["by"], r["value"]) for r in rows}),
    }


def slice_passes(v):
    return (
        v["estimates"] > 0
        and v["missing"] == 0
        and v["max_error"] is not None
        and v["max_error"] <= SLICE_MAX_ERROR
        and v["coverage"] is not None
        and v["coverage"] >= SLICE_MIN_COVERAGE
    )


def fmt(value, pattern):
    return "-" if value is None else format(value, pattern)


def print_rows(header, lines, markdown):
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|")
        for line in lines:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(x) for x in col) for col in zip(header, *lines)]
    for line in [header] + lines:
        print("  ".join(x.ljust(w) for x, w in zip(line, widths)))


def verdict_cells(v):
    coverage = "-"
    if v["coverage"] is not None:
        coverage = f'{v["covered"]} of {v["judged"]} ({100 * v["coverage"]:.1f}%)'
    return [
        str(v["estimates"]),
        coverage,
        fmt(v["max_error"], ".4f"),
        fmt(v["mean_error"], ".4f"),
    ]


def slices_main(work, estimators, min_conversations, markdown, check):
    status = 0
    for estimator in estimators:
        seeds, rows = slice_study(work, estimator, min_conversations)
        print(
            f"## {estimator}: slices with at least {min_conversations} conversations, "
            f"{len(seeds)} seeds"
        )
        if not rows:
            print("no slice to compare (reports without `--by`, or truth without `slices`?)")
            print()
            status = 1 if check else status
            continue
        columns = sorted({r["by"] for r in rows})
        header = ["column", "slices", "estimates", "truth inside the interval",
                  "max abs error", "mean abs error", "passes"]
        lines = []
        for by in columns:
            v = slice_verdict([r for r in rows if r["by"] == by])
            ok = slice_passes(v)
            status = 1 if check and not ok else status
            cells = [f"`{by}`" if markdown else by, str(v["slices"])] + verdict_cells(v)
            lines.append(cells + ["yes" if ok else "NO"])
        print_rows(header, lines, markdown)
        print()
        header = ["column", "value", "conversations (mean)", "estimates",
                  "truth inside the interval", "max abs error", "mean abs error"]
        lines = []
        for by in columns:
            values = sorted({r["value"] for r in rows if r["by"] == by})
            for value in values:
                group = [r for r in rows if r["by"] == by and r["value"] == value]
                sizes = {(r["seed"], r["value"]): r["conversations"] for r in group}
                mean_size = statistics.mean(sizes.values())
                v = slice_verdict(group)
                lines.append([f"`{by}`" if markdown else by, value, f"{mean_size:.0f}"]
                             + verdict_cells(v))
        print_rows(header, lines, markdown)
        print()
        print(
            f"criteria per column: |error| <= {SLICE_MAX_ERROR} on every meeting and opportunity "
            f"rate, truth inside the interval for at least {100 * SLICE_MIN_COVERAGE:.0f}%"
        )
        print()
    return status


def option_value(args, name, default):
    """`--name N` or `--name=N` (an int), and the arguments without it."""
    rest = []
    value = default
    i = 0
    while i < len(args):
        a = args[i]
        if a == name and i + 1 < len(args):
            value = int(args[i + 1])
            i += 2
            continue
        if a.startswith(name + "="):
            value = int(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    return value, rest


def sensitivity_rows(work):
    """Per seed's `dr` report: (|error|, covered by the 95% interval, {gamma: within the
    bounds}) of every policy's meeting and opportunity rate."""
    rows = []
    for seed in seeds_of(work):
        truth = load(os.path.join(work, f"seed-{seed}", "truth.json"))
        path = os.path.join(work, f"report-{seed}-dr", "all", "summary.json")
        if not os.path.exists(path):
            continue
        summary = load(path)
        truth_by_name = {p["name"]: p for p in truth["policies"]}
        for policy in summary["policies"]:
            t = truth_by_name.get(policy["name"])
            bounds = policy.get("sensitivity")
            if policy.get("kind") == "historical" or t is None or not bounds:
                continue
            for rate in HEADLINE:
                true_value, est = t.get(rate), policy.get(rate) or {}
                if true_value is None or est.get("estimate") is None:
                    continue
                within = {}
                for b in bounds:
                    lo, hi = b[rate]["low"], b[rate]["high"]
                    if lo is not None and hi is not None:
                        within[b["gamma"]] = lo <= true_value <= hi
                lo, hi = est.get("low"), est.get("high")
                covered = None if lo is None or hi is None else lo <= true_value <= hi
                rows.append((abs(est["estimate"] - true_value), covered, within))
    return rows


def sensitivity_main(works, markdown):
    table = []
    gammas = set()
    for work in works:
        try:
            with open(os.path.join(work, "confound")) as f:
                confound = float(f.read().strip() or 0)
        except (OSError, ValueError):
            confound = 0.0
        rows = sensitivity_rows(work)
        for _, _, within in rows:
            gammas.update(within)
        table.append((confound, len(seeds_of(work)), rows))
    gammas = sorted(gammas)
    header = ["confounding C", "seeds", "estimates", "dr mean abs error",
              "truth inside the 95% interval"] + [f"within the bounds, Γ = {g:g}" for g in gammas]
    lines = []
    for confound, seeds, rows in sorted(table, key=lambda t: t[0]):
        n = len(rows)
        mean_error = statistics.mean(e for e, _, _ in rows) if rows else None
        judged = [c for _, c, _ in rows if c is not None]
        interval = f"{100 * sum(judged) / len(judged):.1f}%" if judged else "-"
        cells = [f"{confound:g}", str(seeds), str(n), fmt(mean_error, ".4f"), interval]
        for g in gammas:
            hits = [w[g] for _, _, w in rows if g in w]
            cells.append(f"{100 * sum(hits) / len(hits):.1f}%" if hits else "-")
        lines.append(cells)
    print_rows(header, lines, markdown)
    return 0


def main(argv):
    markdown = "--markdown" in argv
    if "--sensitivity" in argv:
        works = [a for a in argv if a not in ("--markdown", "--sensitivity")]
        if not works:
            print(__doc__, file=sys.stderr)
            return 2
        return sensitivity_main(works, markdown)
    slices = "--slices" in argv
    check = "--check" in argv
    try:
        min_conversations, argv = option_value(argv, "--min-conversations",
                                               SLICE_MIN_CONVERSATIONS)
    except ValueError:
        print("--min-conversations needs a whole number", file=sys.stderr)
        return 2
    args = [a for a in argv if a not in ("--markdown", "--slices", "--check")]
    if slices:
        if len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        return slices_main(args[0], args[1:], min_conversations, markdown, check)
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
