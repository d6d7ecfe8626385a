"""Label bookkeeping without IO: at most K labels, each loaded once even when several
tasks miss it at the same time, the least recently used idle one dropped to make room.

The client owns the waiting (futures) and the calls to the user's loader and unloader;
this class only decides and remembers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Step(Enum):
    """What `Labels.acquire` tells the caller to do."""

    #: The label is loaded: run.
    READY = "ready"
    #: Someone else is loading it: wait for that load.
    WAIT = "wait"
    #: Load it now (this caller is the only one loading it).
    LOAD = "load"


@dataclass
class _Entry:
    loaded: bool = False
    model: Any = None
    in_use: int = 0
    #: The dispatcher asked to drop it while in use: drop it when the last user is done.
    evict_when_idle: bool = False


@dataclass
class Acquired:
    step: Step
    #: Labels dropped to make room: call the unloader on each (label, model) and send LabelEvicted.
    evicted: list[tuple[str, Any]] = field(default_factory=list)


class Labels:
    """The labels one worker holds (up to `max_labels`), least recently used first."""

    def __init__(self, max_labels: int) -> None:
        self.max_labels = max(1, max_labels)
        self._entries: dict[str, _Entry] = {}

    def held(self) -> list[str]:
        """Labels fully loaded now, least recently used first."""
        return [label for label, e in self._entries.items() if e.loaded]

    def model(self, label: str) -> Any:
        return self._entries[label].model

    def acquire(self, label: str) -> Acquired:
        """Marks `label` in use until `release`; says whether to run, wait or load."""
        entry = self._entries.pop(label, None)
        if entry is not None:
            entry.in_use += 1
            entry.evict_when_idle = False
            self._entries[label] = entry  # most recently used now
            return Acquired(Step.READY if entry.loaded else Step.WAIT)
        evicted = []
        while len(self._entries) >= self.max_labels:
            victim = next((k for k, e in self._entries.items() if e.loaded and e.in_use == 0), None)
            if victim is None:
                break  # everything is busy: hold one extra until something frees
            evicted.append((victim, self._entries.pop(victim).model))
        self._entries[label] = _Entry(in_use=1)
        return Acquired(Step.LOAD, evicted)

    def loaded(self, label: str, model: Any) -> None:
        """The load of `label` succeeded."""
        entry = self._entries.get(label)
        if entry is not None:
            entry.loaded, entry.model = True, model

    def failed(self, label: str) -> None:
        """The load of `label` failed: forget it (its waiters fail too)."""
        self._entries.pop(label, None)

    def release(self, label: str) -> tuple[str, Any] | None:
        """One user of `label` is done; returns (label, model) when it must be dropped now."""
        entry = self._entries.get(label)
        if entry is None:
            return None
        entry.in_use = max(0, entry.in_use - 1)
        if entry.in_use == 0 and entry.evict_when_idle:
            del self._entries[label]
            return label, entry.model
        return None

    def evict(self, label: str) -> tuple[str, Any] | None:
        """The dispatcher asks to drop `label`: returns (label, model) when dropped now;
        a label in use is dropped when its last user releases it."""
        entry = self._entries.get(label)
        if entry is None:
            return None
        if entry.in_use > 0:
            entry.evict_when_idle = True
            return None
        del self._entries[label]
        return (label, entry.model) if entry.loaded else None
