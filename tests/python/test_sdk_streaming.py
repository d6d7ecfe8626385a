"""Streaming tasks (generator task functions) against a fake dispatcher: a raw WebSocket
server in the test speaking the protocol with real protobuf frames, which can hold a
generator between chunks, cancel it mid-stream and see every `TaskChunk` and the order
it comes in relative to the `TaskResult`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sdk_helpers import decode, drain, receive_until, run_task
from websockets.asyncio.server import serve

from smart_routing_worker import TaskContext, Worker, protocol
from smart_routing_worker._pb import worker_pb2 as pb

Dispatcher = Callable[[Any, list[pb.WorkerMessage]], Awaitable[None]]


def stream_of(seen: list[pb.WorkerMessage], task_id: str) -> tuple[list[pb.TaskChunk], pb.TaskResult, bool]:
    """The task's chunks, its result, and whether every chunk came before the result."""
    chunks, result, chunk_after_result = [], None, False
    for m in seen:
        kind = m.WhichOneof("msg")
        if kind == "task_chunk" and m.task_chunk.task_id == task_id:
            chunks.append(m.task_chunk)
            chunk_after_result |= result is not None
        elif kind == "task_result" and m.task_result.task_id == task_id:
            assert result is None, "one TaskResult per task"
            result = m.task_result
    assert result is not None, f"no TaskResult for {task_id}"
    return chunks, result, not chunk_after_result


def cancel_task(task_id: str) -> bytes:
    return pb.DispatcherMessage(cancel_task=pb.CancelTask(task_id=task_id)).SerializeToString()


def is_result(m: pb.WorkerMessage) -> bool:
    return m.WhichOneof("msg") == "task_result"


def is_chunk(m: pb.WorkerMessage) -> bool:
    return m.WhichOneof("msg") == "task_chunk"


def serve_worker(setup: Callable[[Worker], None], dispatcher: Dispatcher) -> list[pb.WorkerMessage]:
    """Runs a worker (its tasks registered by `setup`) against a fake dispatcher that
    runs `dispatcher(ws, seen)` after Register, then drains the worker; every frame the
    worker sent, in order. An assertion in `dispatcher` stops the worker and is raised."""

    async def scenario() -> list[pb.WorkerMessage]:
        seen: list[pb.WorkerMessage] = []
        errors: list[BaseException] = []

        async def handler(ws: Any) -> None:
            try:
                await receive_until(ws, lambda m: m.WhichOneof("msg") == "register", seen)
                await dispatcher(ws, seen)
                await ws.send(drain())
                async for frame in ws:
                    seen.append(decode(frame))
            except BaseException as error:
                errors.append(error)
                worker.stop()
                raise

        async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            worker = Worker(f"ws://127.0.0.1:{port}/worker-listen", worker_id="stream-1")
            setup(worker)
            await asyncio.wait_for(worker.serve(), 30)
        if errors:
            raise errors[0]
        return seen

    return asyncio.run(scenario())


def test_a_sync_generator_sends_each_chunk_before_it_makes_the_next() -> None:
    gates = [threading.Event() for _ in range(3)]
    made: list[int] = []
    threads: set[str] = set()

    def setup(worker: Worker) -> None:
        @worker.task("count")
        def count(model: None, params: dict, ctx: TaskContext):
            items: list[int] = []
            for k in range(params["n"]):
                made.append(k)
                threads.add(threading.current_thread().name)
                items.append(k)
                yield {"k": k, "so_far": items}
                assert gates[k].wait(10), f"chunk {k} was not received in time"

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        await ws.send(run_task("t-1", "count", "a", '{"n": 3}'))
        for k in range(3):
            chunk = (await receive_until(ws, is_chunk, seen)).task_chunk
            assert (chunk.task_id, chunk.seq) == ("t-1", k)
            assert made == list(range(k + 1)), "chunk k arrives before the generator makes chunk k+1"
            gates[k].set()
        await receive_until(ws, is_result, seen)

    chunks, result, in_order = stream_of(serve_worker(setup, dispatcher), "t-1")
    assert in_order, "every chunk before the TaskResult"
    assert [c.seq for c in chunks] == [0, 1, 2]
    sent = [json.loads(c.chunk_json) for c in chunks]
    assert sent == [{"k": 0, "so_far": [0]}, {"k": 1, "so_far": [0, 1]}, {"k": 2, "so_far": [0, 1, 2]}]
    assert result.ok and json.loads(result.result_json) == {"chunks": sent}, "the default result is what was sent"
    assert threads and all(name.startswith("sr-task") for name in threads), "next() runs on the task threads"


def test_a_sync_generators_return_value_is_the_result() -> None:
    def setup(worker: Worker) -> None:
        @worker.task("sum")
        def total(model: None, params: dict, ctx: TaskContext):
            running = 0
            for n in params["numbers"]:
                running += n
                yield {"running": running}
            return {"total": running}

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        await ws.send(run_task("t-1", "sum", "a", '{"numbers": [1, 2, 3]}'))
        await receive_until(ws, is_result, seen)

    chunks, result, in_order = stream_of(serve_worker(setup, dispatcher), "t-1")
    assert in_order and [json.loads(c.chunk_json) for c in chunks] == [{"running": r} for r in (1, 3, 6)]
    assert result.ok and json.loads(result.result_json) == {"total": 6}


def test_an_async_generator_streams_and_its_result_collects_the_chunks() -> None:
    gate = asyncio.Event()  # the worker and the fake dispatcher share one event loop
    made: list[str] = []

    def setup(worker: Worker) -> None:
        @worker.task("words")
        async def words(model: None, params: dict, ctx: TaskContext):
            for word in params["text"].split():
                made.append(word)
                yield word
                if len(made) == 1:
                    await asyncio.wait_for(gate.wait(), 10)

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        await ws.send(run_task("t-1", "words", "a", '{"text": "one two three"}'))
        first = (await receive_until(ws, is_chunk, seen)).task_chunk
        assert (first.seq, first.chunk_json, made) == (0, '"one"', ["one"])
        gate.set()
        await receive_until(ws, is_result, seen)

    chunks, result, in_order = stream_of(serve_worker(setup, dispatcher), "t-1")
    assert in_order and [(c.seq, c.chunk_json) for c in chunks] == [(0, '"one"'), (1, '"two"'), (2, '"three"')]
    assert result.ok and json.loads(result.result_json) == {"chunks": ["one", "two", "three"]}


def test_a_cancel_between_chunks_closes_a_sync_generator() -> None:
    gate, finalized = threading.Event(), threading.Event()
    contexts: list[TaskContext] = []
    made: list[int] = []

    def setup(worker: Worker) -> None:
        @worker.task("forever")
        def forever(model: None, params: dict, ctx: TaskContext):
            contexts.append(ctx)
            try:
                for k in range(1000):
                    made.append(k)
                    yield k
                    if k == 0:
                        assert gate.wait(10)
            finally:
                finalized.set()

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        await ws.send(run_task("t-1", "forever", "a"))
        await receive_until(ws, is_chunk, seen)
        await ws.send(cancel_task("t-1"))
        # The generator waits in next() on its thread; the event loop still reads the cancel.
        assert await asyncio.to_thread(contexts[0]._cancelled.wait, 10), "the cancel was not read"
        gate.set()
        await receive_until(ws, is_result, seen)

    chunks, result, in_order = stream_of(serve_worker(setup, dispatcher), "t-1")
    assert in_order
    assert (result.ok, result.error, result.error_code) == (False, "cancelled", protocol.CANCELLED)
    assert finalized.is_set(), "the generator was closed: its finally ran"
    assert made == [0, 1], "it stopped at the first chunk boundary after the cancel"
    assert [c.seq for c in chunks] == [0], "the chunk made after the cancel is not sent"


def test_a_cancel_closes_an_async_generator_where_it_awaits() -> None:
    finalized: list[str] = []

    def setup(worker: Worker) -> None:
        @worker.task("forever")
        async def forever(model: None, params: dict, ctx: TaskContext):
            try:
                yield "first"
                await asyncio.Event().wait()  # only a cancel ends this
                yield "never"
            finally:
                finalized.append("closed")

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        await ws.send(run_task("t-1", "forever", "a"))
        await receive_until(ws, is_chunk, seen)
        await ws.send(cancel_task("t-1"))
        await receive_until(ws, is_result, seen)

    chunks, result, in_order = stream_of(serve_worker(setup, dispatcher), "t-1")
    assert in_order and [c.chunk_json for c in chunks] == ['"first"']
    assert (result.ok, result.error, result.error_code) == (False, "cancelled", protocol.CANCELLED)
    assert finalized == ["closed"], "the generator was closed: its finally ran"


def test_an_exception_mid_stream_fails_the_task_after_the_chunks_sent() -> None:
    def setup(worker: Worker) -> None:
        @worker.task("flaky")
        def flaky(model: None, params: dict, ctx: TaskContext):
            yield 1
            yield 2
            raise RuntimeError("lost the device halfway")

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        await ws.send(run_task("t-1", "flaky", "a"))
        await receive_until(ws, is_result, seen)

    chunks, result, in_order = stream_of(serve_worker(setup, dispatcher), "t-1")
    assert in_order and [c.chunk_json for c in chunks] == ["1", "2"]
    assert (result.ok, result.error, result.error_code) == (
        False, "RuntimeError: lost the device halfway", protocol.PLAIN_FAILURE
    )


def test_a_default_result_over_the_limit_fails_the_task_but_a_returned_one_does_not() -> None:
    piece = "x" * (1024 * 1024)
    n = protocol.MAX_RESULT_BYTES // len(piece) + 1  # 16 chunks of 1 MiB: over by a little

    def setup(worker: Worker) -> None:
        @worker.task("big")
        def big(model: None, params: dict, ctx: TaskContext):
            for _ in range(n):
                yield piece
            return {"pieces": n} if params["summarise"] else None

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        await ws.send(run_task("t-default", "big", "a", '{"summarise": false}'))
        await receive_until(ws, is_result, seen)
        await ws.send(run_task("t-returned", "big", "a", '{"summarise": true}'))
        await receive_until(ws, is_result, seen)

    seen = serve_worker(setup, dispatcher)
    chunks, result, in_order = stream_of(seen, "t-default")
    assert in_order and len(chunks) == n, "every chunk is still streamed"
    assert not result.ok and result.error_code == protocol.PLAIN_FAILURE
    assert f"over the {protocol.MAX_RESULT_BYTES}-byte result limit" in result.error
    chunks, result, _ = stream_of(seen, "t-returned")
    assert len(chunks) == n and result.ok and json.loads(result.result_json) == {"pieces": n}


def test_a_deadline_mid_stream_is_reported_at_once_and_closes_a_sync_generator() -> None:
    gate, finalized = threading.Event(), threading.Event()
    made: list[int] = []

    def setup(worker: Worker) -> None:
        @worker.task("slow")
        def slow(model: None, params: dict, ctx: TaskContext):
            try:
                for k in range(1000):
                    made.append(k)
                    yield k
                    assert gate.wait(10)
            finally:
                finalized.set()

    async def dispatcher(ws: Any, seen: list[pb.WorkerMessage]) -> None:
        deadline_ms = int(time.time() * 1000) + 500
        await ws.send(run_task("t-1", "slow", "a", deadline_unix_ms=deadline_ms))
        await receive_until(ws, is_chunk, seen)
        # Reported while the generator still waits in next(), as for a plain sync task.
        await receive_until(ws, is_result, seen)
        assert not finalized.is_set()
        gate.set()
        assert await asyncio.to_thread(finalized.wait, 10), "the generator was not closed"

    chunks, result, in_order = stream_of(serve_worker(setup, dispatcher), "t-1")
    assert in_order and [c.seq for c in chunks] == [0]
    assert (result.ok, result.error_code) == (False, protocol.DEADLINE_EXCEEDED)
    assert made == [0, 1], "it stopped at the chunk boundary after the deadline"
