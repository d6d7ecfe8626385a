"""Streaming tasks: a task function that is a generator sends each value it yields as a
`TaskChunk` (seq 0, 1, 2, ...) at once, then its result.

The result is the generator's return value (sync generators only: async generators
cannot return one) when it is not None, else `{"chunks": [...every chunk in order...]}`.
Between chunks the stream checks `ctx.cancelled`: a cancelled stream closes its generator
and ends; the client reports the cancel as for any task.

`drive_sync` runs on a task thread (every `next()` there, so the event loop never waits
for user code); `drive_async` runs on the event loop.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any

from . import protocol
from .context import TaskContext

#: The default result's JSON around its chunks: `{"chunks": [` ... `]}`.
_OPEN, _CLOSE, _SEPARATOR = '{"chunks": [', "]}", ", "


@dataclass(frozen=True)
class Encoded:
    """A result already encoded as JSON (a stream's default result, built from the chunks
    as they were sent, so later changes to a yielded object do not alter it)."""

    json: str


def is_streaming(fn: Callable[..., Any]) -> bool:
    """True for a task function that is a generator (def ... yield, async def ... yield)."""
    return inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)


class Stream:
    """The chunks of one task: numbered frames out, and the default result kept while it
    fits in `protocol.MAX_RESULT_BYTES`. No IO: `add` returns the frame to send."""

    def __init__(self, task_id: str, limit: int | None = None) -> None:
        self.task_id = task_id
        self.limit = protocol.MAX_RESULT_BYTES if limit is None else limit
        #: The next chunk's seq, and so the number of chunks sent.
        self.seq = 0
        self._kept: list[str] | None = []
        self._size = len(_OPEN) + len(_CLOSE)

    def add(self, value: Any) -> bytes:
        """The `TaskChunk` frame for `value`; ValueError when it is not JSON or too large."""
        try:
            chunk_json = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"chunk {self.seq} is not JSON-serialisable: {error}") from error
        frame = protocol.task_chunk(self.task_id, self.seq, chunk_json)
        if len(frame) > protocol.MAX_FRAME_BYTES:
            raise ValueError(
                f"chunk {self.seq} is {len(frame)} bytes, over the {protocol.MAX_FRAME_BYTES}-byte frame limit"
            )
        self._size += len(chunk_json) + (len(_SEPARATOR) if self.seq else 0)
        if self._kept is not None:
            if self._size > self.limit:
                self._kept = None  # over the limit for good: keep no more
            else:
                self._kept.append(chunk_json)
        self.seq += 1
        return frame

    def result(self, returned: Any) -> Any:
        """The task's result: `returned` unless None, else the chunks as one document."""
        if returned is not None:
            return returned
        if self._kept is None:
            raise ValueError(
                f"the default result of {self.seq} chunks is {self._size} bytes, over the "
                f"{self.limit}-byte result limit: return a smaller result from the generator"
            )
        return Encoded(_OPEN + _SEPARATOR.join(self._kept) + _CLOSE)


def drive_sync(gen: Generator[Any, Any, Any], ctx: TaskContext, send: Callable[[bytes], None]) -> Any:
    """Runs a sync generator to its end on the calling thread, sending each chunk before
    asking for the next; None when cancelled (the generator is closed either way)."""
    stream = Stream(ctx.task_id)
    try:
        while not ctx.cancelled:
            try:
                value = next(gen)
            except StopIteration as stop:
                return stream.result(stop.value)
            if ctx.cancelled:
                break  # made after the cancel: not sent
            send(stream.add(value))
        return None
    finally:
        gen.close()


async def drive_async(agen: AsyncGenerator[Any, Any], ctx: TaskContext, send: Callable[[bytes], None]) -> Any:
    """`drive_sync` for an async generator, on the event loop. Cancelling the asyncio task
    that runs it (a cancel, a deadline) stops the generator where it awaits."""
    stream = Stream(ctx.task_id)
    try:
        while not ctx.cancelled:
            try:
                value = await agen.__anext__()
            except StopAsyncIteration:
                return stream.result(None)
            if ctx.cancelled:
                break
            send(stream.add(value))
        return None
    finally:
        await agen.aclose()
