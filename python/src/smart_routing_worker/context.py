"""TaskContext: what a task function knows about the task it runs, and its way to log."""

from __future__ import annotations

import threading
from collections.abc import Callable

from . import protocol

LEVELS = ("trace", "debug", "info", "warn", "error")


class TaskContext:
    """Passed to every task function as its third argument. Safe to use from any thread."""

    def __init__(
        self,
        task_id: str,
        label: str,
        task_type: str,
        deadline: float | None,
        emit: Callable[[bytes], None],
    ) -> None:
        #: The client's task id.
        self.task_id = task_id
        #: The label (model) the task runs on.
        self.label = label
        #: The task type, e.g. "embed_texts".
        self.task_type = task_type
        #: When to give up, as unix seconds; None when the task has no deadline.
        self.deadline = deadline
        self._emit = emit
        self._cancelled = threading.Event()
        self._reason: str | None = None

    @property
    def cancelled(self) -> bool:
        """True once the dispatcher cancelled the task, its deadline passed or the
        connection was lost. Long tasks should check it and stop early."""
        return self._cancelled.is_set()

    def log(self, level: str, message: str, **fields: object) -> None:
        """Sends a log record to the server's event log (`worker_log` in events.jsonl),
        tagged with this task's id and label. `level`: trace, debug, info, warn or error."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
        tagged = {"task_id": self.task_id, "label": self.label, **fields}
        self._emit(protocol.log(level, message, tagged))

    def _cancel(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason
        self._cancelled.set()
