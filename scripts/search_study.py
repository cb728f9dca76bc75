#!/usr/bin/env python3
"""The search study of docs/accuracy.md: for every seed folder under WORK (made by
scripts/search_accuracy.sh), compares each search's recommendation in
reports/all/search.json with the candidates' true net objectives in truth.json.

Per seed and search: the recommendation, its true net objective per 100 conversations, its
regret (the family's true best minus it), the base's true value, and whether the honest
interval holds the recommendation's true value. A seed meets the criteria when the regret is
at most 1.0, the recommendation is not below the base, and the interval holds the truth.
Exit status 1 when fewer than 90% of seed-searches meet them.

With --routed (reports made with `--by segment`): per seed and search, the routed policy's
true value (each segment's share times its routed-to candidate's true value there), the single
recommendation's, whether the routed policy was recommended and whether its honest interval
holds its true value. A seed meets the routed criterion when the routed policy is worth at
least the single one (search.md "A policy per slice"). Exit status 1 when fewer than 90% meet.
"""
import json
import pathlib
import sys


def print_header(header, markdown):
    """Prints a table's header (Markdown or plain) and returns the cell separator."""
    sep = " | " if markdown else "  "
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    else:
        print(sep.join(header))
    return sep


def routed(work, markdown):
    sep = print_header(["seed", "search", "single (true)", "routed (true)",
                        "routed honest (interval)", "holds", "recommended", "routes",
                        "routed >= single"], markdown)
    met = total = chosen = 0
    for seed_dir in sorted(work.glob("seed-*"), key=lambda p: int(p.name.split("-")[1])):
        truth = json.loads((seed_dir / "truth.json").read_text())
        report = seed_dir / "reports" / "all" / "search.json"
        if not report.exists():
            continue
        for s in json.loads(report.read_text())["searches"]:
            t = next((x for x in truth.get("searches", []) if x["name"] == s["name"]), None)
            r = next((x for x in s.get("routed", []) if x["by"] == "segment"), None)
            if t is None or r is None or s.get("recommended") is None:
                continue
            by_name = {c["name"]: c for c in t["candidates"]}
            single = by_name[s["recommended"]["name"]]["net_objective_per_100"]
            n = sum(x["conversations"] for x in r["slices"])
            value = sum(x["conversations"] * by_name[x["routed_to"]]["segments"][x["value"]]
                        for x in r["slices"]) / n
            h = r["honest"]["net_objective_per_100"]
            holds = h["low"] <= value <= h["high"]
            ok = value >= single - 1e-9
            total += 1
            met += ok
            chosen += r["recommended"]
            routes = ", ".join(f"{x['value']}={x['routed_to'].split('#')[-1]}" for x in r["slices"])
            cells = [seed_dir.name, s["name"], f"{single:.2f}", f"{value:.2f}",
                     f"{h['estimate']:.2f} ({h['low']:.2f} to {h['high']:.2f})",
                     "yes" if holds else "no", "yes" if r["recommended"] else "no", routes,
                     "yes" if ok else "no"]
            print(("| " + " | ".join(cells) + " |") if markdown else sep.join(cells))
    print(f"\n{met} of {total} seed-searches: the routed policy is worth at least the single "
          f"one; the routed policy is recommended on {chosen} of {total}")
    sys.exit(0 if total and met >= 0.9 * total else 1)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    if "--routed" in sys.argv:
        routed(pathlib.Path(args[0]), markdown)
        return
    work = pathlib.Path(args[0])
    rows = []
    for seed_dir in sorted(work.glob("seed-*"), key=lambda p: int(p.name.split("-")[1])):
        truth = json.loads((seed_dir / "truth.json").read_text())
        report = seed_dir / "reports" / "all" / "search.json"
        if not report.exists():
            continue
        searches = json.loads(report.read_text())["searches"]
        for s in searches:
            t = next((x for x in truth.get("searches", []) if x["name"] == s["name"]), None)
            if t is None or s.get("recommended") is None:
                rows.append((seed_dir.name, s["name"], None))
                continue
            true_of = {c["name"]: c["net_objective_per_100"] for c in t["candidates"]}
            rec = s["recommended"]["name"]
            base = s["name"] + "#0"
            value = true_of[rec]
            honest = s["honest"]["net_objective_per_100"]
            holds = honest["low"] <= value <= honest["high"]
            regret = t["best_net_objective_per_100"] - value
            rows.append((seed_dir.name, s["name"], {
                "recommended": rec,
                "true": value,
                "best": t["best_net_objective_per_100"],
                "best_name": t["best"],
                "regret": regret,
                "base": true_of[base],
                "honest": honest["estimate"],
                "low": honest["low"],
                "high": honest["high"],
                "holds": holds,
                "ok": regret <= 1.0 and value >= true_of[base] - 1e-9 and holds,
            }))
    sep = print_header(["seed", "search", "recommended", "true net/100", "true best",
                        "regret", "base (true)", "honest (interval)", "holds", "meets"], markdown)
    met = 0
    for seed, name, r in rows:
        if r is None:
            cells = [seed, name, "none", "", "", "", "", "", "", "no"]
        else:
            met += r["ok"]
            cells = [seed, name, r["recommended"], f"{r['true']:.2f}", f"{r['best']:.2f}",
                     f"{r['regret']:.2f}", f"{r['base']:.2f}",
                     f"{r['honest']:.2f} ({r['low']:.2f} to {r['high']:.2f})",
                     "yes" if r["holds"] else "no", "yes" if r["ok"] else "no"]
        print(("| " + " | ".join(cells) + " |") if markdown else sep.join(cells))
    total = len(rows)
    print(f"\n{met} of {total} seed-searches meet the criteria "
          f"(regret <= 1.0 per 100, not below the base, honest interval holds the truth)")
    sys.exit(0 if total and met >= 0.9 * total else 1)


if __name__ == "__main__":
    main()
