"""The SDK's IO-free parts: framing of every message, label bookkeeping, and the
numbering, bounds and cancellation of a streaming task's chunks."""

from __future__ import annotations

import pytest

from smart_routing_worker import TaskContext, protocol
from smart_routing_worker._pb import worker_pb2 as pb
from smart_routing_worker.labels import Labels, Step
from smart_routing_worker.streaming import Encoded, Stream, drive_sync


def test_commands_decode_from_dispatcher_frames() -> None:
    frames = [
        (
            pb.DispatcherMessage(run_task=pb.RunTask(task_id="t", task_type="x", label="l", parameters_json="{}")),
            protocol.RunTask("t", "x", "l", "{}", None),
        ),
        (pb.DispatcherMessage(run_task=pb.RunTask(task_id="t", deadline_unix_ms=1234)), protocol.RunTask("t", "", "", "", 1234)),
        (pb.DispatcherMessage(cancel_task=pb.CancelTask(task_id="t")), protocol.CancelTask("t")),
        (pb.DispatcherMessage(load_label=pb.LoadLabel(label="l")), protocol.LoadLabel("l")),
        (pb.DispatcherMessage(evict_label=pb.EvictLabel(label="l")), protocol.EvictLabel("l")),
        (pb.DispatcherMessage(drain=pb.Drain()), protocol.Drain()),
    ]
    for message, command in frames:
        assert protocol.decode_command(message.SerializeToString()) == command


def test_bad_frames_are_protocol_errors() -> None:
    with pytest.raises(protocol.ProtocolError, match="frame holds no message"):
        protocol.decode_command(b"")
    with pytest.raises(protocol.ProtocolError, match="not a valid protobuf"):
        protocol.decode_command(b"\xff\xff\xff")


def test_reports_encode_as_worker_messages() -> None:
    reg = pb.WorkerMessage.FromString(protocol.register("w", 2, 3, ["a", "b"], ["x", "y", "z"]))
    assert (reg.register.worker_id, reg.register.max_labels, reg.register.slots) == ("w", 2, 3)
    assert list(reg.register.labels) == ["x", "y"], "never more labels than max_labels"
    ok = pb.WorkerMessage.FromString(protocol.task_ok("t", '{"a":1}', True, 5, 6)).task_result
    assert (ok.ok, ok.result_json, ok.label_miss, ok.load_ms, ok.run_ms) == (True, '{"a":1}', True, 5, 6)
    failed = pb.WorkerMessage.FromString(protocol.task_failed("t", "boom")).task_result
    assert (failed.ok, failed.error) == (False, "boom")
    log = pb.WorkerMessage.FromString(protocol.log("info", "m", {"n": 1}, 99)).log
    assert (log.level, log.message, dict(log.fields), log.unix_ms) == ("info", "m", {"n": "1"}, 99)
    assert pb.WorkerMessage.FromString(protocol.heartbeat()).WhichOneof("msg") == "heartbeat"
    assert pb.WorkerMessage.FromString(protocol.label_loaded("l")).label_loaded.label == "l"
    assert pb.WorkerMessage.FromString(protocol.label_evicted("l")).label_evicted.label == "l"


def test_concurrent_misses_share_one_load() -> None:
    labels = Labels(2)
    assert labels.acquire("a").step is Step.LOAD
    assert labels.acquire("a").step is Step.WAIT
    labels.loaded("a", "A")
    assert labels.acquire("a").step is Step.READY and labels.model("a") == "A"
    assert labels.held() == ["a"]


def test_a_full_worker_drops_its_least_recently_used_idle_label() -> None:
    labels = Labels(2)
    for label in ("a", "b"):
        labels.acquire(label)
        labels.loaded(label, label.upper())
        labels.release(label)
    labels.acquire("a")  # a is now the most recently used, and in use
    acquired = labels.acquire("c")
    assert acquired.step is Step.LOAD and acquired.evicted == [("b", "B")]
    # Everything busy: it holds one extra rather than drop a label in use.
    assert labels.acquire("d").evicted == []


def test_evicting_a_label_in_use_waits_for_its_last_user() -> None:
    labels = Labels(1)
    labels.acquire("a")
    labels.loaded("a", "A")
    assert labels.evict("a") is None
    assert labels.release("a") == ("a", "A")
    assert labels.held() == []
    assert labels.evict("never-held") is None


def test_a_failed_load_is_forgotten() -> None:
    labels = Labels(1)
    labels.acquire("a")
    labels.failed("a")
    assert labels.held() == [] and labels.acquire("a").step is Step.LOAD


@pytest.mark.parametrize("worker_id, max_labels, slots", [("", 1, 1), ("x" * 257, 1, 1), ("w", 0, 1), ("w", 1, 4097)])
def test_settings_outside_the_servers_bounds_are_refused(worker_id: str, max_labels: int, slots: int) -> None:
    with pytest.raises(ValueError):
        protocol.check_settings(worker_id, max_labels, slots)


def test_chunks_encode_as_worker_messages() -> None:
    chunk = pb.WorkerMessage.FromString(protocol.task_chunk("t", 3, '{"a": 1}')).task_chunk
    assert (chunk.task_id, chunk.seq, chunk.chunk_json) == ("t", 3, '{"a": 1}')


def test_a_stream_numbers_its_chunks_and_keeps_its_default_result_in_bounds() -> None:
    stream = Stream("t", limit=len('{"chunks": [1, 2]}'))
    frames = [pb.WorkerMessage.FromString(stream.add(n)).task_chunk for n in (1, 2)]
    assert [(c.task_id, c.seq, c.chunk_json) for c in frames] == [("t", 0, "1"), ("t", 1, "2")]
    assert stream.result(None) == Encoded('{"chunks": [1, 2]}'), "exactly at the limit still fits"
    assert stream.result({"own": True}) == {"own": True}
    stream.add(3)  # still sent: only the default result is bounded
    with pytest.raises(ValueError, match="over the 18-byte result limit"):
        stream.result(None)
    assert stream.result("returned") == "returned", "a returned result is not bounded by the chunks"
    with pytest.raises(ValueError, match="chunk 3 is not JSON-serialisable"):
        stream.add(float("nan"))
    with pytest.raises(ValueError, match="chunk 3 is .* bytes, over the .*-byte frame limit"):
        stream.add("x" * protocol.MAX_FRAME_BYTES)
    assert stream.seq == 3, "a refused chunk takes no seq"


def test_a_cancel_between_chunks_closes_a_sync_generator_without_sending_more() -> None:
    sent: list[bytes] = []
    closed: list[bool] = []
    ctx = TaskContext("t", "l", "x", None, lambda frame: None)

    def numbers():
        try:
            for n in range(10):
                yield n
        finally:
            closed.append(True)

    def send(frame: bytes) -> None:
        sent.append(frame)
        if len(sent) == 2:
            ctx._cancel("cancelled")

    assert drive_sync(numbers(), ctx, send) is None
    assert [pb.WorkerMessage.FromString(f).task_chunk.seq for f in sent] == [0, 1]
    assert closed == [True], "the generator's finally ran"


def test_a_sync_generators_return_value_or_its_chunks_are_the_result() -> None:
    ctx = TaskContext("t", "l", "x", None, lambda frame: None)

    def returns():
        yield 1
        return {"total": 1}

    def collects():
        items = ["a"]
        yield items
        items.append("changed after it was sent")
        yield "b"

    assert drive_sync(returns(), ctx, lambda frame: None) == {"total": 1}
    assert drive_sync(collects(), ctx, lambda frame: None) == Encoded('{"chunks": [["a"], "b"]}')
