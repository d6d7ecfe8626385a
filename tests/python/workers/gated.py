"""A worker for the process-level tests: `gate` writes params["started"], then waits
until the file params["release"] exists (files, because the test is another process)."""

import time
from pathlib import Path

from smart_routing_worker import TaskContext, Worker

worker = Worker("ws://127.0.0.1:1/worker-listen", worker_id="py-gated")


@worker.task("gate")
def gate(model: None, params: dict, ctx: TaskContext) -> dict:
    Path(params["started"]).write_text(ctx.task_id)
    end = time.monotonic() + 30
    while not Path(params["release"]).exists() and time.monotonic() < end:
        time.sleep(0.01)
    return {"released": Path(params["release"]).exists(), "cancelled": ctx.cancelled}


@worker.task("echo")
def echo(model: None, params: dict, ctx: TaskContext) -> dict:
    return params
