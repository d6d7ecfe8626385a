"""all-MiniLM-L6-v2 sentence embeddings with Python onnxruntime and tokenizers, served as
`embed_texts` like the Rust engine: pad to the longest text of the task, truncate at 256
tokens, mean-pool `last_hidden_state` over the attention mask, L2-normalise.

Labels are model folders under MODELS (default: models/, as scripts/setup.sh fills it):

    pip install ./python onnxruntime tokenizers numpy
    MODELS=models python -m smart_routing_worker python/examples/embed_worker.py:worker \\
        --dispatcher ws://127.0.0.1:8080/worker-listen
    curl -s localhost:8080/run-task -H 'content-type: application/json' -d \\
      '{"task_id":"e1","task_type":"embed_texts","label":"all-MiniLM-L6-v2",
        "parameters_json":"{\\"texts\\":[\\"hello world\\"]}"}'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from smart_routing_worker import TaskContext, Worker

MODELS = Path(os.environ.get("MODELS", "models"))
MAX_LENGTH = 256
MAX_TEXTS = 256

worker = Worker("ws://127.0.0.1:8080/worker-listen", worker_id="py-embed", max_labels=1, slots=1)


@dataclass
class Embedder:
    tokenizer: Tokenizer
    session: ort.InferenceSession
    inputs: set[str]


@worker.loader
def load(label: str) -> Embedder:
    folder = MODELS / label
    if "/" in label or not (folder / "model.onnx").is_file():
        raise FileNotFoundError(f"no model.onnx under {folder}")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    # The shipped tokenizer.json pads and truncates at a fixed 128: override both.
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
    return Embedder(tokenizer, session, {i.name for i in session.get_inputs()})


@worker.unloader
def unload(label: str, model: Embedder) -> None:
    del model.session  # frees the session's memory now rather than at the next GC


@worker.task("embed_texts")
def embed_texts(model: Embedder, params: dict, ctx: TaskContext) -> dict:
    texts = params.get("texts") if isinstance(params, dict) else None
    if not isinstance(texts, list) or not texts or len(texts) > MAX_TEXTS:
        raise ValueError(f"parameters_json must be {{\"texts\": [...]}} with 1..={MAX_TEXTS} strings")
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("every text must be a string")
    encodings = model.tokenizer.encode_batch(texts)
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    hidden = model.session.run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in model.inputs})[0]
    mask = feeds["attention_mask"][:, :, None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    normed = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    ctx.log("debug", "embedded", texts=len(texts))
    return {"embeddings": normed.tolist(), "model": ctx.label, "dim": int(normed.shape[1])}


if __name__ == "__main__":
    worker.run()
