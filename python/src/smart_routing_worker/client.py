"""The asyncio side of a worker: one WebSocket connection at a time to the dispatcher,
registration, heartbeats, commands carried out, reports sent, reconnect with backoff.
Framing and label bookkeeping are `protocol` and `labels` (no IO there).

Sync task functions and loaders run on a pool of `slots` threads, so the event loop
(heartbeats, cancels, pings) never waits for user code. Generator task functions stream
(`streaming`): a sync one is driven on a pool thread, an async one on the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from . import protocol
from .context import TaskContext
from .labels import Labels, Step
from .streaming import Encoded, drive_async, drive_sync, is_streaming
from .worker import WorkerError, WorkerFault, call, is_async

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger("smart_routing_worker")

HEARTBEAT_S = 5.0
FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 10.0
#: A connection that lasted this long resets the backoff.
STABLE_S = 5.0
#: What asyncio.wait_for raises on timeout (not the builtin TimeoutError before 3.11).
TIMEOUT = (TimeoutError, asyncio.TimeoutError)
CANCELLED = "cancelled"
DEADLINE = "deadline exceeded while running"


class LoadFailed(Exception):
    """The loader raised; every task waiting for that label fails with this message."""


@dataclass
class Running:
    ctx: TaskContext
    #: The asyncio task running an async task function (cancelled on CancelTask).
    inner: asyncio.Task[Any] | None = None


@dataclass
class Connection:
    ws: ClientConnection
    outgoing: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    running: dict[str, Running] = field(default_factory=dict)
    #: Tasks received after Drain/SIGTERM: not started; they go back to the dispatcher's
    #: queue when the connection closes.
    held_back: set[str] = field(default_factory=set)
    draining: bool = False
    closing: bool = False


class Client:
    """Serves one `Worker` until drained or stopped."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.labels = Labels(worker.max_labels)
        self.pool = ThreadPoolExecutor(max_workers=worker.slots, thread_name_prefix="sr-task")
        self.housekeeping = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sr-unload")
        self.loading: dict[str, asyncio.Future[None]] = {}
        self.conn: Connection | None = None
        self.stopping = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        #: For wss://: the TLS context (None: plain, or websockets' default for wss://).
        self.ssl = worker._ssl_context()

    # --- lifecycle -------------------------------------------------------------------

    async def serve(self, handle_signals: bool) -> None:
        if handle_signals:
            self.loop.add_signal_handler(signal.SIGTERM, self.request_stop)
            self.loop.add_signal_handler(signal.SIGINT, self.request_stop, True)
        backoff = FIRST_BACKOFF_S
        try:
            while not self.stopping.is_set():
                started = time.monotonic()
                reason = await self.connection()
                if reason is None:
                    return  # drained
                if time.monotonic() - started > STABLE_S:
                    backoff = FIRST_BACKOFF_S
                if self.stopping.is_set():
                    return
                log.warning("disconnected from the dispatcher (%s); retrying in %.2f s", reason, backoff)
                try:
                    await asyncio.wait_for(self.stopping.wait(), backoff)
                except TIMEOUT:
                    pass
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    self.loop.remove_signal_handler(sig)
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.housekeeping.shutdown(wait=False, cancel_futures=True)

    def request_stop(self, force_if_repeated: bool = False) -> None:
        """SIGTERM, SIGINT or `Worker.stop()`: finish running tasks, then exit.
        A second SIGINT (Ctrl-C) exits without waiting."""
        if self.stopping.is_set() and not force_if_repeated:
            return
        if self.stopping.is_set():
            log.warning("second stop request: exiting without waiting for running tasks")
            if self.conn is not None:
                for running in self.conn.running.values():
                    running.ctx._cancel(CANCELLED)
                self.conn.running.clear()
                self.finish_if_idle()
            return
        log.info("stopping: finishing running tasks first")
        self.stopping.set()
        self.finish_if_idle()

    async def connection(self) -> str | None:
        """Serves one connection; None when it ended drained, else why it was lost."""
        w = self.worker
        headers = {"Worker-Id": w.worker_id}
        if w.token:
            headers["Authorization"] = f"Bearer {w.token}"
        tls = {"ssl": self.ssl} if self.ssl is not None else {}
        try:
            ws = await connect(
                w.url,
                **tls,
                additional_headers=headers,
                max_size=protocol.MAX_FRAME_BYTES,
                compression=None,
                open_timeout=10,
                # The close handshake is done once the server echoes Close; do not wait
                # long for it to drop the TCP connection too.
                close_timeout=0.25,
            )
        except InvalidStatus as error:
            status = error.response.status_code
            body = error.response.body.decode(errors="replace") if error.response.body else ""
            if status in (400, 401, 403, 404):
                raise WorkerError(f"the dispatcher refused this worker ({status}): {body}") from error
            return f"refused ({status}): {body}"
        except (OSError, InvalidHandshake, *TIMEOUT) as error:
            return f"cannot connect: {error}"
        conn = Connection(ws)
        self.conn = conn
        register = protocol.register(
            w.worker_id, w.max_labels, w.slots, sorted(w.tasks), self.labels.held()[-w.max_labels :]
        )
        conn.outgoing.put_nowait(register)
        log.info("connected to %s as %s", w.url, w.worker_id)
        reader = asyncio.create_task(self.read(conn))
        writer = asyncio.create_task(self.write(conn))
        beat = asyncio.create_task(self.heartbeat(conn))
        self.finish_if_idle()
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer, beat):
                task.cancel()
            await asyncio.gather(reader, writer, beat, return_exceptions=True)
            self.conn = None
            # Tasks of a lost connection are the dispatcher's to retry elsewhere.
            for running in conn.running.values():
                running.ctx._cancel(CANCELLED)
                if running.inner is not None:
                    running.inner.cancel()
            await ws.close()
        if conn.closing and writer.done() and not writer.cancelled() and writer.exception() is None:
            log.info("drained: all tasks finished, connection closed")
            return None
        reason = ws.close_reason or ""
        if reason.startswith("bad register"):
            raise WorkerError(f"the dispatcher refused the registration: {reason}")
        return f"closed: {reason}" if reason else "connection lost"

    async def write(self, conn: Connection) -> None:
        """Sends queued frames in order; after the closing sentinel, closes the socket."""
        while (frame := await conn.outgoing.get()) is not None:
            await conn.ws.send(frame)
        await conn.ws.close(1000, "drained")

    async def read(self, conn: Connection) -> None:
        try:
            async for message in conn.ws:
                if isinstance(message, str):
                    log.error("text frame from the dispatcher ignored")
                    continue
                try:
                    command = protocol.decode_command(message)
                except protocol.ProtocolError as error:
                    log.error("undecodable frame from the dispatcher: %s", error)
                    continue
                self.handle(conn, command)
        except ConnectionClosed:
            pass

    async def heartbeat(self, conn: Connection) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            conn.outgoing.put_nowait(protocol.heartbeat())

    def emitter(self, conn: Connection) -> Any:
        """A thread-safe `emit(frame)` for this connection."""

        def emit(frame: bytes) -> None:
            try:
                self.loop.call_soon_threadsafe(conn.outgoing.put_nowait, frame)
            except RuntimeError:
                pass  # the worker has stopped (loop closed): nowhere to send it

        return emit

    def finish_if_idle(self) -> None:
        """When draining or stopping and nothing runs: flush the reports, then close."""
        conn = self.conn
        if conn is None or conn.closing or conn.running:
            return
        if conn.draining or self.stopping.is_set():
            conn.closing = True
            conn.outgoing.put_nowait(None)

    # --- commands ----------------------------------------------------------------------

    def handle(self, conn: Connection, command: protocol.Command) -> None:
        if isinstance(command, protocol.RunTask):
            if conn.draining or self.stopping.is_set():
                conn.held_back.add(command.task_id)
                return
            deadline = command.deadline_unix_ms / 1000 if command.deadline_unix_ms else None
            ctx = TaskContext(command.task_id, command.label, command.task_type, deadline, self.emitter(conn))
            conn.running[command.task_id] = Running(ctx)
            asyncio.create_task(self.run_task(conn, command, ctx))
        elif isinstance(command, protocol.CancelTask):
            running = conn.running.get(command.task_id)
            if running is not None:
                running.ctx._cancel(CANCELLED)
                if running.inner is not None:
                    running.inner.cancel()
            elif command.task_id in conn.held_back:
                conn.held_back.discard(command.task_id)
                conn.outgoing.put_nowait(protocol.task_failed(command.task_id, CANCELLED, error_code=protocol.CANCELLED))
        elif isinstance(command, protocol.LoadLabel):
            asyncio.create_task(self.preload(conn, command.label))
        elif isinstance(command, protocol.EvictLabel):
            dropped = self.labels.evict(command.label)
            if dropped is not None:
                asyncio.create_task(self.unload(conn, *dropped))
        elif isinstance(command, protocol.Drain):
            log.info("the dispatcher asked to drain")
            conn.draining = True
            self.finish_if_idle()

    async def preload(self, conn: Connection, label: str) -> None:
        try:
            _, loaded_now, _ = await self.ensure(conn, label)
        except LoadFailed:
            return  # reported by ensure
        if not loaded_now:  # every LoadLabel is answered, also when the label was here
            conn.outgoing.put_nowait(protocol.label_loaded(label))
        await self.release(conn, label)

    async def unload(self, conn: Connection, label: str, model: Any) -> None:
        """Calls the user's unloader (if any), then tells the dispatcher."""
        fn = self.worker.unload_fn
        if fn is not None:
            try:
                await call(fn, self.housekeeping, label, model)
            except Exception as error:  # the label is gone either way
                log.exception("unloader failed for label %s", label)
                conn.outgoing.put_nowait(protocol.log("error", f"unloader failed for label {label}: {error}", {}))
        conn.outgoing.put_nowait(protocol.label_evicted(label))
        conn.outgoing.put_nowait(protocol.log("info", f"evicted label {label}", {"label": label}))

    async def release(self, conn: Connection, label: str) -> None:
        dropped = self.labels.release(label)
        if dropped is not None:
            await self.unload(conn, *dropped)

    async def ensure(self, conn: Connection, label: str) -> tuple[Any, bool, int]:
        """Makes `label` ready and marks it in use: (model, loaded_now, load_ms)."""
        acquired = self.labels.acquire(label)
        for victim, model in acquired.evicted:
            await self.unload(conn, victim, model)
        if acquired.step is Step.READY:
            return self.labels.model(label), False, 0
        if acquired.step is Step.WAIT:
            await asyncio.shield(self.loading[label])
            return self.labels.model(label), False, 0
        done: asyncio.Future[None] = self.loop.create_future()
        self.loading[label] = done
        started = time.monotonic()
        try:
            fn = self.worker.load_fn
            model = await call(fn, self.pool, label) if fn is not None else None
        except Exception as error:
            self.labels.failed(label)
            message = f"cannot load label '{label}': {describe(error)}"
            failure = LoadFailed(message)
            done.set_exception(failure)
            done.exception()  # retrieved: waiters re-raise it, none may exist
            conn.outgoing.put_nowait(protocol.label_evicted(label))
            conn.outgoing.put_nowait(protocol.log("error", message, {"label": label}))
            raise failure from error
        finally:
            self.loading.pop(label, None)
        load_ms = int((time.monotonic() - started) * 1000)
        self.labels.loaded(label, model)
        done.set_result(None)
        conn.outgoing.put_nowait(protocol.label_loaded(label))
        conn.outgoing.put_nowait(
            protocol.log("info", f"loaded label {label} in {load_ms} ms", {"label": label, "load_ms": load_ms})
        )
        return model, True, load_ms

    async def run_task(self, conn: Connection, task: protocol.RunTask, ctx: TaskContext) -> None:
        miss, load_ms, run_ms = False, 0, 0
        try:
            fn = self.worker.tasks.get(task.task_type)
            if fn is None:
                raise TaskFailed(f"task type '{task.task_type}' is not served here")
            try:
                params = json.loads(task.parameters_json) if task.parameters_json.strip() else {}
            except ValueError as error:
                raise TaskFailed(f"parameters_json is not valid JSON: {error}") from error
            try:
                model, miss, load_ms = await self.ensure(conn, task.label)
            except LoadFailed as error:
                raise TaskFailed(str(error), protocol.LOAD_FAILED) from error
            started = time.monotonic()
            try:
                result = await self.call_task(conn, fn, model, params, ctx)
            finally:
                run_ms = int((time.monotonic() - started) * 1000)
                await self.release(conn, task.label)
            if ctx._reason is not None:
                raise TaskFailed(ctx._reason, stop_code(ctx._reason))
            try:
                body = result.json if isinstance(result, Encoded) else json.dumps(result, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise TaskFailed(f"the result is not JSON-serialisable: {error}") from error
            frame = protocol.task_ok(task.task_id, body, miss, load_ms, run_ms)
        except TaskFailed as failure:
            frame = protocol.task_failed(task.task_id, str(failure), miss, load_ms, run_ms, failure.code)
        if conn.running.pop(task.task_id, None) is not None:
            conn.outgoing.put_nowait(frame)
        self.finish_if_idle()

    async def call_task(self, conn: Connection, fn: Any, model: Any, params: Any, ctx: TaskContext) -> Any:
        """Runs the task function; raises TaskFailed with the reason it did not finish."""
        if is_streaming(fn):
            fn = streamed(fn, conn)
        left = None if ctx.deadline is None else max(0.0, ctx.deadline - time.time())
        running = conn.running.get(ctx.task_id)
        timer: asyncio.TimerHandle | None = None
        try:
            if is_async(fn):
                inner = asyncio.ensure_future(fn(model, params, ctx))
                if running is not None:
                    running.inner = inner
                if left is not None:
                    timer = self.loop.call_later(left, expire, ctx, inner)
                try:
                    return await inner
                except asyncio.CancelledError:
                    if ctx._reason is None:
                        raise  # the connection's own shutdown
                    raise TaskFailed(ctx._reason, stop_code(ctx._reason)) from None
            future = self.loop.run_in_executor(self.pool, fn, model, params, ctx)
            if left is None:
                return await future
            try:
                return await asyncio.wait_for(asyncio.shield(future), left)
            except TIMEOUT:
                # Report the deadline now; the thread keeps its slot until it returns.
                ctx._cancel(DEADLINE)
                conn.outgoing.put_nowait(
                    protocol.task_failed(ctx.task_id, DEADLINE, error_code=protocol.DEADLINE_EXCEEDED)
                )
                conn.running.pop(ctx.task_id, None)
                await asyncio.gather(future, return_exceptions=True)
                raise TaskFailed(DEADLINE, protocol.DEADLINE_EXCEEDED) from None
        except TaskFailed:
            raise
        except WorkerFault as error:
            raise TaskFailed(describe(error), protocol.WORKER_FAULT) from error
        except Exception as error:
            raise TaskFailed(describe(error)) from error
        finally:
            if timer is not None:
                timer.cancel()


def streamed(fn: Any, conn: Connection) -> Any:
    """A generator task function as a plain one (async for an async generator) that sends
    its chunks on `conn` and returns its result; `call_task` runs it like any other."""
    if inspect.isasyncgenfunction(fn):

        async def run_async(model: Any, params: Any, ctx: TaskContext) -> Any:
            return await drive_async(fn(model, params, ctx), ctx, conn.outgoing.put_nowait)

        return run_async

    def run_sync(model: Any, params: Any, ctx: TaskContext) -> Any:
        return drive_sync(fn(model, params, ctx), ctx, ctx._emit)  # _emit: safe from a thread

    return run_sync


def stop_code(reason: str) -> int:
    """The `error_code` of a task stopped for `reason` (a cancel or its deadline)."""
    return protocol.DEADLINE_EXCEEDED if reason == DEADLINE else protocol.CANCELLED


def expire(ctx: TaskContext, inner: asyncio.Future[Any]) -> None:
    """An async task's deadline passed: mark it, then cancel it."""
    ctx._cancel(DEADLINE)
    inner.cancel()


class TaskFailed(Exception):
    """A task's error, as its client will read it, and its `error_code`."""

    def __init__(self, message: str, code: int = protocol.PLAIN_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
