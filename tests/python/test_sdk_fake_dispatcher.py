"""The SDK against a fake dispatcher: a raw WebSocket server in the test that speaks the
protocol. It is a fake because the real server cannot be made to send these sequences
on demand: two RunTasks for one label while it loads, and (until the server sends Drain
on SIGTERM) a Drain while tasks run. The frames are real protobuf on a real socket."""

from __future__ import annotations

import asyncio
import threading

from sdk_helpers import drain, receive_until, run_task
from websockets.asyncio.server import serve

from smart_routing_worker import TaskContext, Worker
from smart_routing_worker._pb import worker_pb2 as pb


def results(seen: list[pb.WorkerMessage]) -> dict[str, pb.TaskResult]:
    return {m.task_result.task_id: m.task_result for m in seen if m.WhichOneof("msg") == "task_result"}


def kinds(seen: list[pb.WorkerMessage], kind: str) -> list[pb.WorkerMessage]:
    return [m for m in seen if m.WhichOneof("msg") == kind]


def test_concurrent_misses_load_once_and_drain_finishes_running_tasks() -> None:
    load_gate, release = threading.Event(), threading.Event()
    loads: list[str] = []
    entered: list[str] = []
    both_in = threading.Event()

    async def scenario() -> None:
        seen: list[pb.WorkerMessage] = []
        closed = asyncio.get_running_loop().create_future()

        async def dispatcher(ws) -> None:
            register = await receive_until(ws, lambda m: True, seen)
            assert register.WhichOneof("msg") == "register"
            r = register.register
            assert (r.worker_id, r.max_labels, r.slots, list(r.task_types), list(r.labels)) == (
                "fake-1", 2, 2, ["hold"], []
            )
            # Two tasks miss label "a" while its load is held back by the loader.
            await ws.send(run_task("t-1", "hold", "a"))
            await ws.send(run_task("t-2", "hold", "a"))
            await asyncio.to_thread(both_in.wait, 10)
            load_gate.set()
            await receive_until(ws, lambda m: m.WhichOneof("msg") == "label_loaded", seen)
            # Both run at once (slots = 2); then Drain, and a task that comes after it.
            await asyncio.to_thread(lambda: wait_entered(2))
            await ws.send(drain())
            await ws.send(run_task("t-3", "hold", "a"))
            release.set()
            try:
                async for frame in ws:
                    seen.append(pb.WorkerMessage.FromString(frame))
            finally:
                closed.set_result(ws.close_code)

        def wait_entered(n: int) -> None:
            for _ in range(1000):
                if len(entered) >= n:
                    return
                threading.Event().wait(0.01)
            raise AssertionError("tasks did not start")

        async with serve(dispatcher, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            worker = Worker(f"ws://127.0.0.1:{port}/worker-listen", worker_id="fake-1", max_labels=2, slots=2)

            @worker.loader
            def load(label: str) -> str:
                loads.append(label)
                load_gate.wait(10)
                return label.upper()

            @worker.task("hold")
            def hold(model: str, params: dict, ctx: TaskContext) -> dict:
                entered.append(ctx.task_id)
                release.wait(10)
                return {"model": model}

            serving = asyncio.create_task(worker.serve())

            async def both_waiting() -> None:
                # Both tasks are in the label bookkeeping, sharing one load.
                while True:
                    client = worker._client
                    entry = client.labels._entries.get("a") if client else None
                    if entry is not None and entry.in_use == 2:
                        both_in.set()
                        return
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(both_waiting(), 10)
            # serve() returns by itself: the worker drained and closed the connection.
            await asyncio.wait_for(serving, 20)
            assert await asyncio.wait_for(closed, 5) == 1000

        assert loads == ["a"], "concurrent misses must share one load"
        assert [m.label_loaded.label for m in kinds(seen, "label_loaded")] == ["a"]
        done = results(seen)
        assert set(done) == {"t-1", "t-2"}, "t-3 came after Drain: not started, left to the dispatcher"
        assert all(r.ok and r.result_json == '{"model": "A"}' for r in done.values())
        assert sorted(r.label_miss for r in done.values()) == [False, True]
        assert "t-3" not in entered

    asyncio.run(scenario())


def test_bad_frames_from_the_dispatcher_are_ignored() -> None:
    async def scenario() -> None:
        seen: list[pb.WorkerMessage] = []

        async def dispatcher(ws) -> None:
            await receive_until(ws, lambda m: m.WhichOneof("msg") == "register", seen)
            await ws.send(b"")  # an envelope with no message
            await ws.send(b"\xff\xff\xff")  # not protobuf
            await ws.send("text")  # text frames are not part of the protocol
            await ws.send(run_task("t-1", "echo", "a", '{"n": 1}'))
            await receive_until(ws, lambda m: m.WhichOneof("msg") == "task_result", seen)
            await ws.send(drain())
            async for frame in ws:
                seen.append(pb.WorkerMessage.FromString(frame))

        async with serve(dispatcher, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            worker = Worker(f"ws://127.0.0.1:{port}/worker-listen", worker_id="fake-2")

            @worker.task("echo")
            async def echo(model: None, params: dict, ctx: TaskContext) -> dict:
                return params

            await asyncio.wait_for(worker.serve(), 20)
        result = results(seen)["t-1"]
        assert result.ok and result.result_json == '{"n": 1}' and result.label_miss

    asyncio.run(scenario())
