"""Helpers for the worker SDK tests: a `Worker` served on a background thread, and a
fake dispatcher (a raw WebSocket server speaking the protocol) for what the real server
cannot be made to do on demand."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smart_routing_worker import Worker
from smart_routing_worker._pb import worker_pb2 as pb


@dataclass
class Background:
    """`worker.run()` on a thread; `stop()` drains it like SIGTERM and waits."""

    worker: Worker
    thread: threading.Thread
    error: list[BaseException] = field(default_factory=list)

    def stop(self, timeout: float = 20.0) -> None:
        if self.thread.is_alive():
            self.worker.stop()
            self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not stop"


def in_background(worker: Worker) -> Background:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            worker.run()
        except BaseException as error:  # reported to the test
            errors.append(error)

    thread = threading.Thread(target=target, name=f"worker-{worker.worker_id}", daemon=True)
    thread.start()
    return Background(worker, thread, errors)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Polls `predicate` until truthy (a bounded wait for state, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def run_task(task_id: str, task_type: str, label: str, parameters_json: str = "{}", **extra: Any) -> bytes:
    message = pb.DispatcherMessage(
        run_task=pb.RunTask(
            task_id=task_id, task_type=task_type, label=label, parameters_json=parameters_json, **extra
        )
    )
    return message.SerializeToString()


def drain() -> bytes:
    return pb.DispatcherMessage(drain=pb.Drain()).SerializeToString()


def decode(frame: bytes) -> pb.WorkerMessage:
    message = pb.WorkerMessage()
    message.ParseFromString(frame)
    return message


async def receive_until(ws: Any, want: Callable[[pb.WorkerMessage], bool], seen: list[pb.WorkerMessage]) -> pb.WorkerMessage:
    """Reads frames (recording them in `seen`) until one satisfies `want`."""
    while True:
        message = decode(await asyncio.wait_for(ws.recv(), 20))
        seen.append(message)
        if want(message):
            return message
