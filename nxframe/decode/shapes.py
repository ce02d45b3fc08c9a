"""What the fast reader has learned of one server: the names of the undocumented fields it sends.

The fast reader (:mod:`.fast`) decodes a body with msgspec into structs
whose fields are the documented ones, plus any undocumented name it has
learned. A field it does not know is skipped by msgspec, and the body's
count of ``:`` then does not add up (:mod:`.fast` explains the count), so
the reader reads the body's keys once, learns the new names, and reads it
again. A server that sends ``taskId`` on every page teaches it on the
first page; later pages are read in one pass.

What is learned only decides how a body is read, never what comes out: a
learned name is read as its exact text (``msgspec.Raw``), and a body the
count does not prove is handed to the exact decoder. A habit not seen for
:data:`IDLE_LIMIT` reads is forgotten, so a tidy server is read the
cheapest way again.

A :class:`ShapeMemory` belongs to whoever talks to one server: each
``Client``'s transport holds its own, so two clients of servers with
different habits neither slow nor confuse each other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["IDLE_LIMIT", "MAX_NAMES", "Plan", "ShapeMemory", "Unsure"]

#: Reads under learned names that did not need them, before the names are forgotten.
IDLE_LIMIT = 64
#: Undocumented names kept per level; a server sending more is read by the exact decoder.
MAX_NAMES = 32


@dataclass(frozen=True)
class Plan:
    """The undocumented field names to read, per level of the body, in the order first seen.

    Attributes:
        record: fields of a call record (they go to ``extra``).
        data: fields of ``data`` besides the documented ones (read and checked, then dropped).
        envelope: top-level fields besides ``code``, ``message``, ``data`` (read and checked, then dropped).
    """

    record: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    envelope: tuple[str, ...] = ()

    def merge(self, other: Plan) -> Plan:
        """The names of both, each level at most :data:`MAX_NAMES` long; ``self`` when nothing is new."""
        merged = Plan(
            *(
                mine + tuple(name for name in theirs if name not in mine)
                for mine, theirs in (
                    (self.record, other.record),
                    (self.data, other.data),
                    (self.envelope, other.envelope),
                )
            )
        )
        if max(len(merged.record), len(merged.data), len(merged.envelope)) > MAX_NAMES:
            raise Unsure
        return self if merged == self else merged


class Unsure(Exception):  # noqa: N818 - control flow, not an error a user sees
    """The fast reader will not guess: the exact decoder decides."""


class ShapeMemory:
    """The learned :class:`Plan` of one server; safe to share between the threads that decode its pages.

    Attributes:
        lessons: how many times a body taught it new names (each time, that body was read twice).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan = Plan()
        self._idle = 0
        self.lessons = 0

    @property
    def plan(self) -> Plan:
        """The names learned so far (a new memory knows only the documented shape)."""
        return self._plan

    def learn(self, plan: Plan) -> Plan:
        """Add ``plan``'s names to what is known; returns the plan to read with from now on.

        Raises:
            Unsure: more undocumented names than :data:`MAX_NAMES` at one level.
        """
        with self._lock:
            merged = self._plan.merge(plan)
            if merged != self._plan:
                self._plan = merged
                self.lessons += 1
            self._idle = 0
            return self._plan

    def read(self, plan: Plan, *, used: bool) -> None:
        """A body was read with ``plan``; forget the names after :data:`IDLE_LIMIT` reads that held none."""
        with self._lock:
            if used or plan != self._plan or self._plan == Plan():
                self._idle = 0 if used else self._idle
                return
            self._idle += 1
            if self._idle >= IDLE_LIMIT:
                self._plan, self._idle = Plan(), 0

    def forget(self) -> None:
        """Back to the documented shape."""
        with self._lock:
            self._plan, self._idle = Plan(), 0

    def __repr__(self) -> str:
        return f"ShapeMemory({self._plan})"
