"""The worker protocol without IO: frames in, commands out; reports in, frames out.

Like the sans-IO core of python-websockets, nothing here reads a socket or a clock of
its own: the asyncio client (`client.py`) feeds it bytes and sends what it returns, so
the framing can be tested without a network.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from ._pb import worker_pb2 as pb

#: Largest frame the server accepts by default (its `max_body_bytes`).
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: Largest result a streaming task's chunks make by default (`{"chunks": [...]}`): a
#: frame less room for the `TaskResult`'s other fields.
MAX_RESULT_BYTES = MAX_FRAME_BYTES - 64 * 1024
#: Largest `slots` or `max_labels` the server accepts.
MAX_CAPACITY = 4096
#: Longest worker id, task type or label the server accepts, in bytes.
MAX_NAME_BYTES = 256


class ProtocolError(Exception):
    """A frame from the dispatcher that is not a valid `DispatcherMessage`."""


@dataclass(frozen=True)
class RunTask:
    task_id: str
    task_type: str
    label: str
    parameters_json: str
    #: Unix time in milliseconds to give up at; None when the task has no deadline.
    deadline_unix_ms: int | None


@dataclass(frozen=True)
class CancelTask:
    task_id: str


@dataclass(frozen=True)
class LoadLabel:
    label: str


@dataclass(frozen=True)
class EvictLabel:
    label: str


@dataclass(frozen=True)
class Drain:
    pass


Command = RunTask | CancelTask | LoadLabel | EvictLabel | Drain


def check_settings(worker_id: str, max_labels: int, slots: int) -> None:
    """Raises ValueError for settings the server would refuse at registration."""
    if not worker_id or len(worker_id.encode()) > MAX_NAME_BYTES or not worker_id.isprintable():
        raise ValueError(f"worker_id must be 1..={MAX_NAME_BYTES} printable bytes, got {worker_id!r}")
    if not worker_id.isascii():
        raise ValueError(f"worker_id must be ASCII (it travels in the Worker-Id header), got {worker_id!r}")
    for name, value in (("max_labels", max_labels), ("slots", slots)):
        if not isinstance(value, int) or not 1 <= value <= MAX_CAPACITY:
            raise ValueError(f"{name} must be an integer in 1..={MAX_CAPACITY}, got {value!r}")


def decode_command(frame: bytes) -> Command:
    """Decodes one binary frame from the dispatcher."""
    message = pb.DispatcherMessage()
    try:
        message.ParseFromString(frame)
    except DecodeError as error:
        raise ProtocolError(f"frame is not a valid protobuf message: {error}") from error
    kind = message.WhichOneof("msg")
    if kind == "run_task":
        r = message.run_task
        return RunTask(r.task_id, r.task_type, r.label, r.parameters_json, r.deadline_unix_ms or None)
    if kind == "cancel_task":
        return CancelTask(message.cancel_task.task_id)
    if kind == "load_label":
        return LoadLabel(message.load_label.label)
    if kind == "evict_label":
        return EvictLabel(message.evict_label.label)
    if kind == "drain":
        return Drain()
    raise ProtocolError("frame holds no message")


def _frame(**msg: object) -> bytes:
    return pb.WorkerMessage(**msg).SerializeToString()  # type: ignore[arg-type]


def register(worker_id: str, max_labels: int, slots: int, task_types: list[str], labels: list[str]) -> bytes:
    """The first frame of a connection; `labels` are those already loaded (at most K)."""
    return _frame(
        register=pb.Register(
            worker_id=worker_id,
            max_labels=max_labels,
            slots=slots,
            task_types=task_types,
            labels=labels[:max_labels],
        )
    )


def task_ok(task_id: str, result_json: str, label_miss: bool, load_ms: int, run_ms: int) -> bytes:
    return _frame(
        task_result=pb.TaskResult(
            task_id=task_id, ok=True, result_json=result_json, label_miss=label_miss, load_ms=load_ms, run_ms=run_ms
        )
    )


def task_chunk(task_id: str, seq: int, chunk_json: str) -> bytes:
    """A piece of a running task's output; `seq` counts from 0, before its `TaskResult`."""
    return _frame(task_chunk=pb.TaskChunk(task_id=task_id, seq=seq, chunk_json=chunk_json))


#: `TaskResult.error_code` values (see docs/protocol.md).
PLAIN_FAILURE = pb.ERROR_CODE_UNSPECIFIED
DEADLINE_EXCEEDED = pb.ERROR_CODE_DEADLINE_EXCEEDED
CANCELLED = pb.ERROR_CODE_CANCELLED
LOAD_FAILED = pb.ERROR_CODE_LOAD_FAILED
WORKER_FAULT = pb.ERROR_CODE_WORKER_FAULT


def task_failed(
    task_id: str,
    error: str,
    label_miss: bool = False,
    load_ms: int = 0,
    run_ms: int = 0,
    error_code: int = PLAIN_FAILURE,
) -> bytes:
    return _frame(
        task_result=pb.TaskResult(
            task_id=task_id,
            ok=False,
            error=error,
            label_miss=label_miss,
            load_ms=load_ms,
            run_ms=run_ms,
            error_code=error_code,
        )
    )


def label_loaded(label: str) -> bytes:
    return _frame(label_loaded=pb.LabelLoaded(label=label))


def label_evicted(label: str) -> bytes:
    return _frame(label_evicted=pb.LabelEvicted(label=label))


def heartbeat() -> bytes:
    return _frame(heartbeat=pb.Heartbeat())


def log(level: str, message: str, fields: Mapping[str, object], unix_ms: int | None = None) -> bytes:
    """A `Log` record; field values are sent as text."""
    return _frame(
        log=pb.Log(
            level=level,
            message=message,
            fields={str(k): str(v) for k, v in fields.items()},
            unix_ms=unix_ms if unix_ms is not None else int(time.time() * 1000),
        )
    )
