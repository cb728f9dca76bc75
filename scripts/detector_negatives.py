#!/usr/bin/env python3
"""Writes data/detector/negatives.csv (`text,signals,source`): real text nobody on this project
wrote, drawn as negatives (no signal; the corrections below aside), for the learned detector's
training (data/detector/README.md).

- 800 BANKING77 *train* queries (Casanueva et al. 2020, CC BY 4.0), drawn with a fixed seed,
  leaving out the fee, charge and exchange-rate intents (they ask what something costs, which
  is `pricing`). BANKING77's test.csv stays for evaluation.
- 800 PersuasionForGood sentences (Wang et al. 2019, Apache-2.0) from the TRAINING HALF of the
  dialogues: a dialogue is in it when the first byte of the SHA-256 of its id (`B2`) is even.
  The other half is kept for evaluation (scripts/detector_real_text.py). Sentences of fewer
  than 3 words are skipped.
- Corrections: a drawn message that does carry a signal gets the hand label that
  data/detector/negatives-corrected.csv (`text,signals`) gives it (tenth round: the drawn
  messages the model's out-of-fold probabilities flagged, read and labelled by hand). A
  correction whose text is not drawn is an error, so the two files cannot drift apart.

Usage: scripts/detector_negatives.py [SHARED_DATA_DIR]   (default ../shared/data)
"""

import csv
import hashlib
import pathlib
import random
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP = ("fee", "charge", "exchange")


def pfg_training_half(dialogue_id):
    return hashlib.sha256(dialogue_id.encode()).digest()[0] % 2 == 0


def main():
    shared = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    rng = random.Random(17)
    with open(shared / "banking77" / "train.csv", newline="", encoding="utf-8") as f:
        bank = [r["text"].strip() for r in csv.DictReader(f) if not any(k in r["category"] for k in SKIP)]
    bank = sorted(set(bank))
    rng.shuffle(bank)
    with open(shared / "persuasionforgood" / "full_dialog.csv", newline="", encoding="utf-8") as f:
        pfg = [
            " ".join(r["Unit"].split())
            for r in csv.DictReader(f)
            if pfg_training_half(r["B2"]) and len(r["Unit"].split()) >= 3
        ]
    pfg = sorted(set(pfg))
    rng.shuffle(pfg)
    with open(ROOT / "data" / "detector" / "negatives-corrected.csv", newline="", encoding="utf-8") as f:
        corrected = {r["text"]: r["signals"] for r in csv.DictReader(f)}
    drawn = [(t, "banking77-train") for t in bank[:800]] + [(t, "persuasionforgood-train-half") for t in pfg[:800]]
    stray = set(corrected) - {t for t, _ in drawn}
    if stray:
        sys.exit(f"negatives-corrected.csv: {len(stray)} texts are not drawn, e.g. {sorted(stray)[0]!r}")
    out = ROOT / "data" / "detector" / "negatives.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "signals", "source"])
        for t, source in drawn:
            w.writerow([t, corrected.get(t, ""), source])
    print(f"{out}: {min(800, len(bank))} BANKING77 + {min(800, len(pfg))} PersuasionForGood, {len(corrected)} corrected")


if __name__ == "__main__":
    main()
