"""A streaming SDK worker for the end-to-end streaming tests: its tasks are generators,
each chunk stamped with the `unix_ms` the worker made it at. Files named in the
parameters (the test is another process) let a test hold a generator before its last
chunk (`gate`: it waits for that file) and see it closed (`closed`: written in the
generator's `finally`, with how many chunks it made). `pace_ms` paces the chunks.

- `count`: `{"chunks": n, ...}` -> chunks `{"seq", "unix_ms"}`, result `{"count": n}`.
- `generate` (Triton's generate extension, so also `ModelStreamInfer`): `text_input` split
  into words, one chunk `{"text_output", "index", "unix_ms"}` each (`repeat` times over);
  the files and `pace_ms` come in `parameters`. No words: no chunk, and the result
  `{"text_output": "", "finish_reason": "empty"}`.

Labels starting with `refuse` fail to load: a model this worker does not have."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from smart_routing_worker import TaskContext, Worker

worker = Worker("ws://127.0.0.1:1/worker-listen", worker_id="py-stream", max_labels=4, slots=4)


@worker.loader
def load(label: str) -> str:
    if label.startswith("refuse"):
        raise RuntimeError(f"no model '{label}' on this worker")
    return label


def unix_ms() -> int:
    return time.time_ns() // 1_000_000


def wait_for_file(path: str) -> None:
    end = time.monotonic() + 30
    while not Path(path).exists():
        if time.monotonic() > end:
            raise RuntimeError(f"{path} never appeared")
        time.sleep(0.01)


def stream(n: int, files: dict[str, Any], ctx: TaskContext, make: Callable[[int], dict]) -> Iterator[dict]:
    made = 0
    try:
        for i in range(n):
            if i == n - 1 and files.get("gate"):
                wait_for_file(files["gate"])
            if i and files.get("pace_ms"):
                time.sleep(files["pace_ms"] / 1000)
            yield {**make(i), "unix_ms": unix_ms()}
            made += 1
    finally:
        if files.get("closed"):
            Path(files["closed"]).write_text(json.dumps({"made": made, "of": n, "cancelled": ctx.cancelled}))


@worker.task("count")
def count(model: str, params: dict, ctx: TaskContext) -> Iterator[dict]:
    n = params["chunks"]
    yield from stream(n, params, ctx, lambda i: {"seq": i})
    return {"count": n}


@worker.task("generate")
def generate(model: str, params: dict, ctx: TaskContext) -> Iterator[dict]:
    extra = params.get("parameters", {})
    words = str(params.get("text_input", "")).split() * int(extra.get("repeat", 1))
    if not words:
        return {"text_output": "", "finish_reason": "empty"}
    yield from stream(len(words), extra, ctx, lambda i: {"text_output": words[i], "index": i})
    return {"finish_reason": "stop"}
