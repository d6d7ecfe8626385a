"""The close reasons docs/protocol.md lists, checked on the real server with raw frames."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from conftest import Server
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from smart_routing_worker import protocol


async def closed_by(server: Server, worker_id: str, frame: bytes | list[bytes]) -> tuple[int | None, str | None]:
    async with connect(server.ws_url, additional_headers={"Worker-Id": worker_id}, max_size=None, close_timeout=0.1) as ws:
        await ws.send(protocol.register(worker_id, 1, 1, ["x"], []))
        await ws.send(frame)
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 20)
        return ws.close_code, ws.close_reason


@pytest.mark.parametrize(
    "frame, code, reason",
    [
        (b"", 1002, "frame holds no message"),
        (b"\x00" * (16 * 1024 * 1024 + 1), 1002, "exceeds the size limit"),
        ([b"\x32\x00", b""], 1003, "fragmented frames are not supported"),
    ],
    ids=["empty", "oversize", "fragmented"],
)
def test_bad_frames_close_with_the_documented_reason(server: Server, frame, code: int, reason: str) -> None:
    got_code, got_reason = asyncio.run(closed_by(server, "raw", frame))
    assert got_code == code and reason in (got_reason or ""), (got_code, got_reason)


def dropped_results(server: Server) -> float:
    for line in server.get("/metrics").text.splitlines():
        if line.startswith("smart_routing_results_dropped_total "):
            return float(line.split()[1])
    raise AssertionError("smart_routing_results_dropped_total is missing from /metrics")


def test_a_second_result_for_a_task_is_dropped_and_counted(server: Server) -> None:
    outcome: dict = {}

    async def worker() -> None:
        async with connect(server.ws_url, additional_headers={"Worker-Id": "twice"}) as ws:
            await ws.send(protocol.register("twice", 1, 1, ["x"], []))
            outcome["ready"].set()
            command = protocol.decode_command(await asyncio.wait_for(ws.recv(), 20))
            assert isinstance(command, protocol.RunTask)
            result = protocol.task_ok(command.task_id, "{}", False, 0, 0)
            await ws.send(result)
            await ws.send(result)
            # Still connected: the next task reaches this worker.
            command = protocol.decode_command(await asyncio.wait_for(ws.recv(), 20))
            assert isinstance(command, protocol.RunTask)
            await ws.send(protocol.task_ok(command.task_id, "{}", False, 0, 0))
            outcome["open"] = True

    outcome["ready"] = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(worker()))
    thread.start()
    assert outcome["ready"].wait(10)
    server.wait_workers(1)
    body = {"task_id": "once", "task_type": "x", "label": "l", "parameters_json": "{}"}
    assert server.post("/run-task", json=body).json()["status"] == "completed"
    body = {"task_id": "after", "task_type": "x", "label": "l", "parameters_json": "{}"}
    assert server.post("/run-task", json=body).json()["status"] == "completed"
    thread.join(20)
    assert outcome.get("open") is True
    assert dropped_results(server) == 1


def test_a_result_that_is_not_json_fails_with_invalid_result(server: Server) -> None:
    async def worker() -> None:
        async with connect(server.ws_url, additional_headers={"Worker-Id": "nojson"}) as ws:
            await ws.send(protocol.register("nojson", 1, 1, ["x"], []))
            command = protocol.decode_command(await asyncio.wait_for(ws.recv(), 20))
            await ws.send(protocol.task_ok(command.task_id, "not json", False, 0, 0))
            await asyncio.sleep(0.2)

    thread = threading.Thread(target=lambda: asyncio.run(worker()))
    thread.start()
    server.wait_workers(1)
    reply = server.post("/run-task", json={"task_id": "nj", "task_type": "x", "label": "l", "parameters_json": "{}"})
    thread.join(20)
    assert reply.status_code == 502 and reply.json()["error"]["code"] == "invalid_result", reply.text
    assert json.loads(reply.text)["error"]["message"].startswith("the worker's result is not JSON")
