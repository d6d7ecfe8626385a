"""A worker that misbehaves on demand, for the worker-health tests and bench/faults.py.

Its one task type, `work`, sleeps params["ms"] (30 by default) and returns the label and
this worker's id; a task with params["bad"] fails on every worker (bad input). How this
worker misbehaves comes from FAULT:

    none       healthy
    raise      every task raises at once, as a GPU with Xid errors would
    fault      every task raises WorkerFault at once (the worker knows it is broken)
    loader     the loader raises for every label (a corrupt model cache, OOM on load)
    flaky      30% of tasks raise at once
    hang       every task hangs (never returns) while the worker keeps heartbeating
    slow       every task runs 25 times longer

    FAULT=raise python -m smart_routing_worker tests/python/workers/faulty.py:worker \
        --dispatcher ws://127.0.0.1:8080/worker-listen --worker-id sick --slots 2
"""

import os
import random
import threading
import time

from smart_routing_worker import TaskContext, Worker, WorkerFault

FAULT = os.environ.get("FAULT", "none")
KNOWN = ("none", "raise", "fault", "loader", "flaky", "hang", "slow")
if FAULT not in KNOWN:
    raise SystemExit(f"FAULT must be one of {', '.join(KNOWN)}, got {FAULT!r}")

worker = Worker("ws://127.0.0.1:8080/worker-listen", worker_id=f"faulty-{FAULT}", max_labels=2, slots=2)
_never = threading.Event()


@worker.loader
def load(label: str) -> str:
    if FAULT == "loader":
        raise RuntimeError(f"cannot read the model cache for {label}: checksum mismatch")
    return label


@worker.task("work")
def work(model: str, params: dict, ctx: TaskContext) -> dict:
    if params.get("bad"):
        raise ValueError("bad input: 'texts' must be a list of strings")
    if FAULT == "raise" or (FAULT == "flaky" and random.random() < 0.3):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
    if FAULT == "fault":
        raise WorkerFault("CUDA error: device lost (Xid 79)")
    if FAULT == "hang":
        _never.wait()
    seconds = params.get("ms", 30) / 1000 * (25 if FAULT == "slow" else 1)
    time.sleep(seconds)
    return {"label": model, "worker": worker.worker_id}
