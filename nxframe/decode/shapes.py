"""What the fast reader has learned of one server: the undocumented fields it sends, the loose ones it writes.

The fast reader (:mod:`.fast`) decodes a body with msgspec into structs
whose fields are the documented ones, plus any undocumented name it has
learned. A field it does not know is skipped by msgspec, and the body's
count of ``:`` then does not add up (:mod:`.fast` explains the count), so
the reader reads the body's keys once, learns the new names, and reads it
again. A server that sends ``taskId`` on every page teaches it on the
first page; later pages are read in one pass.

It learns a second habit: documented fields the server writes *loosely*
(a phone number now as text, now as a number; a count sometimes as text;
a time left out of some records). A documented field is first read as the
one JSON type it should have, which converts to Arrow in one call; a page
where it was loose is converted value by value, and from the next page on
the field is read as its exact text with the money (:mod:`.columns`).

What is learned only decides how a body is read, never what comes out: a
learned name is read as its exact text (``msgspec.Raw``), and a body the
count does not prove is handed to the exact decoder. Undocumented names not
seen for :data:`IDLE_LIMIT` reads are forgotten, so a tidy server is read
the cheapest way again (loose fields are kept: reading them as text costs
little).

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
        loose: documented record fields (API names) read as their JSON text, not as one JSON type.
    """

    record: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    envelope: tuple[str, ...] = ()
    loose: frozenset[str] = frozenset()

    def merge(self, other: Plan) -> Plan:
        """The names of both, each level at most :data:`MAX_NAMES` long; ``self`` when nothing is new."""
        record, data, envelope = (
            mine + tuple(name for name in theirs if name not in mine)
            for mine, theirs in ((self.record, other.record), (self.data, other.data), (self.envelope, other.envelope))
        )
        merged = Plan(record, data, envelope, self.loose | other.loose)
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

    def read(self, plan: Plan, *, used: bool, loose: frozenset[str] = frozenset()) -> None:
        """A body was read with ``plan``; ``loose``: documented fields it wrote loosely (read as text from now on).

        The undocumented names are forgotten after :data:`IDLE_LIMIT` reads that held none.
        """
        with self._lock:
            if not loose <= self._plan.loose:
                self._plan = Plan(self._plan.record, self._plan.data, self._plan.envelope, self._plan.loose | loose)
            names = (self._plan.record, self._plan.data, self._plan.envelope)
            if used or (plan.record, plan.data, plan.envelope) != names or names == ((), (), ()):
                self._idle = 0 if used else self._idle
                return
            self._idle += 1
            if self._idle >= IDLE_LIMIT:
                self._plan, self._idle = Plan(loose=self._plan.loose), 0

    def forget(self) -> None:
        """Back to the documented shape, every documented field read as its one JSON type."""
        with self._lock:
            self._plan, self._idle = Plan(), 0

    def __repr__(self) -> str:
        return f"ShapeMemory({self._plan})"
