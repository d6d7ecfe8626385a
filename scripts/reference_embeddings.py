#!/usr/bin/env python3
"""Computes reference sentence embeddings of models/all-MiniLM-L6-v2 with Python
onnxruntime, the way sentence-transformers does: pad to the longest text in the batch,
truncate at 256 tokens, mean-pool last_hidden_state over the attention mask, L2-normalise.
Writes tests/fixtures/minilm_reference.json, which the Rust engine's tests compare with.

Not needed in CI. Run `scripts/setup.sh --python-venv` then
`.cache/venv/bin/python scripts/reference_embeddings.py`.
"""

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models" / "all-MiniLM-L6-v2"
OUT = ROOT / "tests" / "fixtures" / "minilm_reference.json"
TEXTS = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
MAX_LENGTH = 256


def embed(texts):
    tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    # The shipped tokenizer.json pads and truncates at a fixed 128; override both.
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    encodings = tokenizer.encode_batch(texts)
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    session = ort.InferenceSession(str(MODEL_DIR / "model.onnx"), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    hidden = session.run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in names})[0]
    mask = feeds["attention_mask"][:, :, None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def main():
    embeddings = embed(TEXTS)
    cosine = {}
    for i, j in combinations(range(len(TEXTS)), 2):
        cosine[f"{i}-{j}"] = round(float(embeddings[i] @ embeddings[j]), 6)
        print(f"cos(s{i}, s{j}) = {cosine[f'{i}-{j}']:.4f}")
    OUT.write_text(
        json.dumps(
            {
                "model": "models/all-MiniLM-L6-v2",
                "texts": TEXTS,
                "max_length": MAX_LENGTH,
                "embeddings": [[float(v) for v in row] for row in embeddings],
                "cosine": cosine,
            }
        )
        + "\n"
    )
    print(f"wrote {OUT} ({len(TEXTS)} x {embeddings.shape[1]})")


if __name__ == "__main__":
    main()
