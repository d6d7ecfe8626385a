"""The public `Worker`: settings, the decorators that register the user's functions,
and `run()`. The connection itself lives in `client.py`."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from ssl import SSLContext, SSLError, create_default_context
from typing import Any, TypeVar

from . import protocol
from .context import TaskContext

#: A task function: (model, params, ctx) -> JSON-serialisable result, plain or async.
TaskFn = Callable[[Any, Any, TaskContext], Any]
LoaderFn = Callable[[str], Any]
UnloaderFn = Callable[[str, Any], Any]
F = TypeVar("F", bound=Callable[..., Any])

TOKEN_ENV = "SMART_ROUTING_WORKER_TOKEN"


class WorkerError(Exception):
    """The worker cannot go on (bad settings, refused by the server for good)."""


class WorkerFault(Exception):
    """Raise it from a task function when this worker is broken, not the task (a device
    error, a corrupt cache): the dispatcher runs the task on another worker and counts the
    failure against this one, which it stops giving tasks to if such failures stand out.
    Any other exception is ambiguous: the task runs once more elsewhere, and only a
    success there counts against this worker."""


class Worker:
    """A smart-routing worker: decorate a loader, an optional unloader and task
    functions, then call `run()`."""

    def __init__(
        self,
        url: str,
        worker_id: str | None = None,
        max_labels: int = 2,
        slots: int = 1,
        token: str | None = None,
        ssl: SSLContext | None = None,
        ca_file: str | None = None,
    ) -> None:
        #: The dispatcher's `ws://HOST:PORT/worker-listen` URL (`wss://` when it serves TLS).
        self.url = url
        self.worker_id = worker_id if worker_id is not None else f"py-{socket.gethostname()}-{os.getpid()}"
        #: K: the most labels held at once.
        self.max_labels = max_labels
        #: Tasks run at once (sync tasks run on a pool of this many threads).
        self.slots = slots
        #: Sent as `Authorization: Bearer <token>`; None reads SMART_ROUTING_WORKER_TOKEN.
        self.token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        #: For `wss://`: the TLS context to connect with (default: the system's trust store).
        self.ssl = ssl
        #: For `wss://`: a PEM file of the CA(s) to trust instead of the system's (ignored
        #: when `ssl` is given).
        self.ca_file = ca_file
        self.tasks: dict[str, TaskFn] = {}
        self.load_fn: LoaderFn | None = None
        self.unload_fn: UnloaderFn | None = None
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        protocol.check_settings(self.worker_id, max_labels, slots)

    def loader(self, fn: F) -> F:
        """Decorator: `fn(label) -> model`, called once per label to load (def or async def).
        Without a loader the model passed to tasks is None."""
        self.load_fn = fn
        return fn

    def unloader(self, fn: F) -> F:
        """Decorator: `fn(label, model) -> None`, called when a label is dropped."""
        self.unload_fn = fn
        return fn

    def task(self, task_type: str) -> Callable[[F], F]:
        """Decorator: `fn(model, params, ctx) -> result` serves `task_type` (def or async def).
        `params` is the task's parsed `parameters_json`; the result must be JSON-serialisable.
        A generator function streams: each value it yields is sent at once as a chunk, and
        its return value (if not None) is the result, else `{"chunks": [...]}`."""
        if not task_type or len(task_type.encode()) > protocol.MAX_NAME_BYTES:
            raise ValueError(f"task type must be 1..={protocol.MAX_NAME_BYTES} bytes, got {task_type!r}")

        def register(fn: F) -> F:
            self.tasks[task_type] = fn
            return fn

        return register

    def _ssl_context(self) -> SSLContext | None:
        """The TLS context for `url`: `ssl`, else one trusting `ca_file`, else None (plain
        `ws://`, or the default context websockets makes for `wss://`)."""
        if not self.url.startswith("wss://"):
            if self.ssl is not None or self.ca_file:
                raise WorkerError(f"ssl and ca_file need a wss:// URL, got {self.url!r}")
            return None
        if self.ssl is not None:
            return self.ssl
        if self.ca_file:
            try:
                return create_default_context(cafile=self.ca_file)
            except (OSError, SSLError) as error:
                raise WorkerError(f"cannot use the CA file {self.ca_file}: {error}") from error
        return None

    def run(self) -> None:
        """Connects, registers and serves until drained (Drain, SIGTERM, `stop()`);
        reconnects with backoff when the dispatcher goes away. Blocks."""
        in_main = threading.current_thread() is threading.main_thread()
        asyncio.run(self.serve(handle_signals=in_main))

    async def serve(self, handle_signals: bool = False) -> None:
        """`run()` for code that already has an event loop."""
        from .client import Client  # the asyncio part; kept out of import-time cost

        if not self.tasks:
            raise WorkerError("no task functions: decorate at least one with @worker.task(...)")
        protocol.check_settings(self.worker_id, self.max_labels, self.slots)
        client = Client(self)
        with self._lock:
            self._loop, self._client = asyncio.get_running_loop(), client
            if self._stop_requested:
                client.request_stop()
        try:
            await client.serve(handle_signals)
        finally:
            with self._lock:
                self._loop, self._client, self._stop_requested = None, None, False

    def stop(self) -> None:
        """Asks the worker (from any thread) to finish its running tasks and exit, as on
        SIGTERM. Called before `run()` has started serving, it makes `run()` return at once."""
        with self._lock:
            self._stop_requested = True
            if self._loop is not None and self._client is not None:
                self._loop.call_soon_threadsafe(self._client.request_stop)

    def __repr__(self) -> str:
        return f"Worker({self.url!r}, worker_id={self.worker_id!r}, max_labels={self.max_labels}, slots={self.slots})"


def is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn)


async def call(fn: Callable[..., Any], pool: Any, *args: Any) -> Any:
    """Awaits `fn(*args)`: async functions on the loop, plain ones on `pool`'s threads."""
    if is_async(fn):
        return await fn(*args)
    result = await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
    if isinstance(result, Awaitable):
        return await result
    return result
