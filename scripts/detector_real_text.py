#!/usr/bin/env python3
"""The learned detector's checks on text nobody here wrote, and on generated text (issue 17):

1. BANKING77 test.csv: the share of queries given a signal that is plainly wrong for a
   banking support question (demo_request, stakeholders, procurement, integration,
   custom_workflow, competitor), for the lexicon, the model and the ensemble.
2. PersuasionForGood, the HELD-APART half of the dialogues (first byte of SHA-256 of the
   dialogue id odd; scripts/detector_negatives.py and data/detector/pfg-train-half.csv
   train on the even half), persuadee sentences: counts per signal, and 15 messages drawn
   at random (random.Random(7)) per main signal (found by the ensemble in 30 or more
   messages, plus human_request), written to docs/detector-pfg-sample.md for judging.
3. `handoff generate --conversations 400 --seed 7`: the generator's tags taken as truth,
   micro precision and recall of `handoff signals --signal-source text` per detector.

Usage: scripts/detector_real_text.py HANDOFF_BINARY DETECTOR_EVAL_BINARY [SHARED_DATA_DIR]
(the second is `cargo build --example detector_eval`'s binary).
"""

import collections
import csv
import hashlib
import io
import pathlib
import random
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
KINDS = ("lexicon", "model", "ensemble")
WRONG_FOR_BANKING = {"demo_request", "stakeholders", "procurement", "integration", "custom_workflow", "competitor"}


def labels(cell):
    return set(s for s in cell.split(";") if s)


def flag(evaluator, path):
    out = subprocess.run([evaluator, "--flag", str(path)], check=True, capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def banking(evaluator, shared):
    rows = flag(evaluator, shared / "banking77" / "test.csv")
    print(f"## BANKING77 test ({len(rows)} queries): share given {', '.join(sorted(WRONG_FOR_BANKING))}\n")
    print("| detector | queries | share |\n|---|---:|---:|")
    for k in KINDS:
        n = sum(1 for r in rows if labels(r[k]) & WRONG_FOR_BANKING)
        print(f"| {k} | {n} | {100 * n / len(rows):.2f}% |")
    print()


def pfg(evaluator, shared):
    with open(shared / "persuasionforgood" / "full_dialog.csv", newline="", encoding="utf-8") as f:
        texts = [
            " ".join(r["Unit"].split())
            for r in csv.DictReader(f)
            if r["B4"] == "1" and hashlib.sha256(r["B2"].encode()).digest()[0] % 2 == 1
        ]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as tmp:
        w = csv.writer(tmp)
        w.writerow(["text"])
        w.writerows([t] for t in texts)
    rows = flag(evaluator, tmp.name)
    pathlib.Path(tmp.name).unlink()
    counts = {k: collections.Counter() for k in KINDS}
    for r in rows:
        for k in KINDS:
            counts[k].update(labels(r[k]))
    signals = sorted(set().union(*counts.values()))
    print(f"## PersuasionForGood, held-apart half ({len(rows)} persuadee sentences): messages per signal\n")
    print("| signal | lexicon | model | ensemble |\n|---|---:|---:|---:|")
    for s in signals:
        print(f"| `{s}` | {counts['lexicon'][s]} | {counts['model'][s]} | {counts['ensemble'][s]} |")
    print()
    main = [s for s in signals if counts["ensemble"][s] >= 30 or s == "human_request"]
    rng = random.Random(7)
    out = ["# PersuasionForGood: 15 messages per main signal flagged by the ensemble", "",
           "Drawn by scripts/detector_real_text.py (random.Random(7)) from the persuadee sentences",
           "of the held-apart half of the dialogues. The judgement (docs/signals.md) is added by hand",
           "below each table when the file is redrawn.", ""]
    for s in main:
        flagged = [r["text"] for r in rows if s in labels(r["ensemble"])]
        drawn = rng.sample(flagged, min(15, len(flagged)))
        out += [f"## `{s}` ({len(flagged)} flagged)", "", "| # | message | also |", "|---:|---|---|"]
        for i, t in enumerate(drawn, 1):
            r = next(r for r in rows if r["text"] == t)
            also = ", ".join(sorted(labels(r["ensemble"]) - {s}))
            short = t if len(t) <= 160 else t[:157] + "..."
            out.append(f"| {i} | {short.replace('|', '/')} | {also} |")
        out.append("")
    (ROOT / "docs" / "detector-pfg-sample.md").write_text("\n".join(out), encoding="utf-8")
    print(f"(15 per main signal written to docs/detector-pfg-sample.md: {', '.join(main)})\n")


def generated(handoff):
    with tempfile.TemporaryDirectory() as tmp:
        data = pathlib.Path(tmp) / "gen"
        subprocess.run([handoff, "generate", "--conversations", "400", "--seed", "7", "--out", str(data), "--quiet"], check=True)

        def signals(*flags):
            out = pathlib.Path(tmp) / "s.csv"
            subprocess.run([handoff, "signals", "--data", str(data), "--quiet", "--out", str(out), *flags], check=True)
            with open(out, newline="") as f:
                return {(r["conversation_id"], r["turn"]): labels(r["signals"]) for r in csv.DictReader(f)}

        truth = signals("--signal-source", "tags")
        print(f"## `handoff generate --conversations 400 --seed 7` ({len(truth)} prospect messages, tags as truth)\n")
        print("| detector | precision | recall | exact sets |\n|---|---:|---:|---:|")
        for k in KINDS:
            found = signals("--signal-source", "text", "--detector", k)
            tp = sum(len(found[m] & truth[m]) for m in truth)
            fp = sum(len(found[m] - truth[m]) for m in truth)
            fn = sum(len(truth[m] - found[m]) for m in truth)
            exact = sum(1 for m in truth if found[m] == truth[m])
            print(f"| {k} | {tp / max(tp + fp, 1):.3f} | {tp / max(tp + fn, 1):.3f} | {exact} |")
        print()


def main():
    handoff, evaluator = sys.argv[1], sys.argv[2]
    shared = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else ROOT.parent / "shared" / "data"
    banking(evaluator, shared)
    pfg(evaluator, shared)
    generated(handoff)


if __name__ == "__main__":
    main()
