#!/usr/bin/env python3
"""Convert the PersuasionForGood corpus (Wang et al., ACL 2019) to handoff's data contract.

Usage: python3 scripts/persuasion.py SOURCE_DIR OUT_DIR

SOURCE_DIR holds `full_dialog.csv` (one sentence a row: Unit, Turn, B4 = 0 persuader / 1
persuadee, B2 = dialogue id) and `full_info.csv` (one row per participant: B2, B3 = user id,
B4, B6 = the donation made). OUT_DIR receives conversations.csv, messages.csv, outcomes.csv.

The mapping (docs/real-text.md):
- one conversation per dialogue, conversation_id = the dialogue id;
- the persuader plays the AI SDR (sender `ai`), the persuadee the prospect (`prospect`);
- consecutive sentences of one speaker in one `Turn` form one message; messages are numbered
  1..n in dialogue order;
- started_at comes from the dialogue id's `YYYYMMDD-HHMMSS` prefix (some ids carry a `BAD_`
  marker before it); the corpus has no per-message times, so message k is sent k-1 minutes later;
- a donation > 0 is an opportunity (opportunity_at one minute after the last message,
  opportunity_amount = the donation in USD); nobody ever hands off, so handoff_turn is empty.

Dialogues that cannot be converted (no start time in the id, no persuadee row in full_info)
are not dropped silently: they are counted on stderr and the script exits 1.

Python 3 standard library only.
"""

import csv
import datetime
import os
import re
import sys

START = re.compile(r"(\d{8})-(\d{6})")
MINUTE = datetime.timedelta(minutes=1)


def timestamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def started_at(dialogue_id):
    """The session start in the dialogue id (`20180904-154250_...`), as UTC."""
    match = START.search(dialogue_id)
    if match is None:
        return None
    stamp = datetime.datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    return stamp.replace(tzinfo=datetime.timezone.utc)


def read_dialogues(path):
    """dialogue id -> list of (speaker, text) messages, in file order (which is turn order)."""
    dialogues = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            messages = dialogues.setdefault(row["B2"], [])
            speaker = row["B4"].strip()
            if speaker not in ("0", "1"):
                raise SystemExit(f"{path}: dialogue {row['B2']}: unknown speaker B4={speaker!r}")
            text = " ".join(row["Unit"].split())
            key = (row["Turn"], speaker)
            if messages and messages[-1][0] == key:
                messages[-1][1].append(text)
            else:
                messages.append((key, [text]))
    return {
        d: [(key[1], " ".join(t for t in texts if t)) for key, texts in messages]
        for d, messages in dialogues.items()
    }


def read_persuadees(path):
    """dialogue id -> (persuadee user id, donation in dollars)."""
    persuadees = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["B4"].strip() != "1":
                continue
            try:
                donation = float(row["B6"])
            except ValueError:
                raise SystemExit(f"{path}: dialogue {row['B2']}: donation B6={row['B6']!r}")
            persuadees[row["B2"]] = (row["B3"], donation)
    return persuadees


def amount(donation):
    """The donation in its shortest decimal form (`0.5`, `2`)."""
    return f"{donation:.2f}".rstrip("0").rstrip(".")


def convert(source, out):
    dialogues = read_dialogues(os.path.join(source, "full_dialog.csv"))
    persuadees = read_persuadees(os.path.join(source, "full_info.csv"))
    os.makedirs(out, exist_ok=True)
    skipped = {"no start time in the id": 0, "no persuadee in full_info.csv": 0}
    counts = {"conversations": 0, "messages": 0, "opportunities": 0}
    with open(os.path.join(out, "conversations.csv"), "w", newline="", encoding="utf-8") as cf, \
            open(os.path.join(out, "messages.csv"), "w", newline="", encoding="utf-8") as mf, \
            open(os.path.join(out, "outcomes.csv"), "w", newline="", encoding="utf-8") as of:
        conversations = csv.writer(cf, lineterminator="\n")
        messages = csv.writer(mf, lineterminator="\n")
        outcomes = csv.writer(of, lineterminator="\n")
        conversations.writerow(["conversation_id", "started_at", "channel", "ai_agent"])
        messages.writerow(
            ["conversation_id", "turn", "sent_at", "sender", "participant", "text"])
        outcomes.writerow(["conversation_id", "handoff_turn", "opportunity_at",
                           "opportunity_amount", "currency"])
        for dialogue in sorted(dialogues):
            start = started_at(dialogue)
            if start is None:
                skipped["no start time in the id"] += 1
                continue
            if dialogue not in persuadees:
                skipped["no persuadee in full_info.csv"] += 1
                continue
            user, donation = persuadees[dialogue]
            conversations.writerow([dialogue, timestamp(start), "chat", "persuader"])
            turns = dialogues[dialogue]
            for k, (speaker, text) in enumerate(turns, start=1):
                sender = "prospect" if speaker == "1" else "ai"
                participant = user if sender == "prospect" else ""
                messages.writerow(
                    [dialogue, k, timestamp(start + (k - 1) * MINUTE), sender, participant, text])
            counts["conversations"] += 1
            counts["messages"] += len(turns)
            if donation > 0:
                at = timestamp(start + len(turns) * MINUTE)
                outcomes.writerow([dialogue, "", at, amount(donation), "USD"])
                counts["opportunities"] += 1
    print(", ".join(f"{v} {k}" for k, v in counts.items()) + f" written to {out}", file=sys.stderr)
    left_out = sum(skipped.values())
    for reason, n in skipped.items():
        if n:
            print(f"left out {n} dialogues: {reason}", file=sys.stderr)
    return 1 if left_out else 0


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    return convert(argv[1], argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
