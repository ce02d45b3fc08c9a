"""Fault switches for the simulator: what goes wrong, for which requests, how often.

Kinds (``FaultPlan.add(kind, ...)``):

=====================  =====================================================
``http_NNN``           HTTP status NNN (500, 502, 503, 504, 429, 401...);
                       option ``retry_after`` (seconds) adds ``Retry-After``.
                       ``http_429`` sends ``Retry-After: 1`` unless
                       ``retry_after=None``.
``code_N``             HTTP 200 with API code N and ``data: null`` (``code_-1``);
                       option ``message`` sends that text as the server's
                       ``message`` (e.g. one holding ``"\x1b[31m"``, or 200 KB).
``drop``               the connection is closed without an answer.
``timeout``            the answer comes after ``seconds`` (default 5).
``truncate``           the body is cut in half; Content-Length says the full size.
``malformed``          a 200 whose body is not JSON (Content-Length matches).
``body``               a 200 whose body is exactly ``body=`` (bytes): any text a broken server might send.
``data_null``          code 0 with ``"data": null``.
``list_not_list``      code 0 with ``"list": {}``.
``missing_total_row``  code 0 without ``totalRow``.
``grow``               ``rows`` (default 5) calls are added to the date first.
``shrink``             ``rows`` (default 3) calls are removed from the date first.
``overlap``            the page starts ``rows`` (default 3) rows early,
                       repeating the end of the previous page.
=====================  =====================================================

Hostile answers (the README's "What nxframe refuses from a server"):

=====================  =====================================================
``redirect_3NN``       HTTP 3NN (301, 302, 303, 307, 308) with
                       ``Location: location`` (default
                       ``http://127.0.0.1:9/api/did/cdr``; point it at a
                       second simulator to prove nothing reaches it);
                       ``no_location=True`` sends none.
``drip``               the normal page, Content-Length exact, sent ``bytes``
                       (default 1) at a time every ``interval`` s (0.2).
``drip_headers``       the normal page, its status line and headers sent a
                       byte at a time every ``interval`` s (0.2).
``endless``            a page that never ends: no Content-Length, the first
                       record repeated in 64 KiB blocks until the client
                       hangs up (or ``seconds``, default 120, pass).
``huge``               a complete, valid JSON body of ``size`` bytes
                       (default 64 MiB) with an exact Content-Length.
``gzip_bomb``          ``Content-Encoding: gzip``, about 1 MB on the wire,
                       inflating to ``size`` bytes (default 1 GiB).
``total_row``          the normal page with ``totalRow`` (and ``totalPage``)
                       set to ``value`` (default ``10**12``; try ``-5``).
``page_number``        the normal page with ``pageNumber`` set to ``value``
                       (default: the page asked for plus one).
``deep_nesting``       an undocumented field holding ``depth`` (1000) nested
                       objects, in the first record (or in ``data``).
``duplicate_key``      ``{"code":1003,"code":0,...}``; with ``where="record"``
                       the first record carries ``"id"`` twice.
``nan``                an undocumented field whose value is a bare ``NaN``
                       (``value="Infinity"`` for that).
=====================  =====================================================

The hostile answers are built in :mod:`nxframe.simulator.hostile`.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TRANSIENT_KINDS", "Fault", "FaultPlan"]

#: Faults a correct client survives by retrying (used by ``FaultPlan.random``).
TRANSIENT_KINDS: tuple[str, ...] = (
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_429",
    "code_-1",
    "drop",
    "truncate",
)
_KIND = re.compile(
    r"http_\d{3}|code_-?\d+|drop|timeout|truncate|malformed|data_null|list_not_list|missing_total_row|grow|shrink"
    r"|overlap|redirect_3\d\d|drip_headers|drip|endless|huge|gzip_bomb|total_row|page_number|deep_nesting|duplicate_key|nan|body"
)


@dataclass
class Fault:
    """One switch: ``kind`` for the next ``times`` matching requests (``times=None``: every one)."""

    kind: str
    times: int | None = 1
    date: str | None = None
    page: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def matches(self, date: str | None, page: int | None) -> bool:
        return (self.date is None or self.date == date) and (self.page is None or self.page == page)


class FaultPlan:
    """The faults a :class:`~nxframe.simulator.Simulator` injects; thread-safe.

    ``injected`` counts what was injected, per kind.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._random: tuple[float, tuple[str, ...], random.Random] | None = None
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def add(
        self, kind: str, times: int | None = 1, *, date: str | None = None, page: int | None = None, **options: Any
    ) -> Fault:
        """Inject ``kind`` into the next ``times`` requests for ``date``/``page`` (any when ``None``)."""
        if not _KIND.fullmatch(kind):
            raise ValueError(f"unknown fault kind {kind!r}; see nxframe.simulator.faults")
        fault = Fault(kind, times, None if date is None else str(date), page, options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def random(self, rate: float, kinds: Sequence[str] = TRANSIENT_KINDS, *, seed: int = 0) -> None:
        """Inject one of ``kinds`` into each request with probability ``rate`` (seeded)."""
        for kind in kinds:
            if not _KIND.fullmatch(kind):
                raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._random = (rate, tuple(kinds), random.Random(seed))

    def clear(self) -> None:
        """No more faults; the counts stay."""
        with self._lock:
            self._faults.clear()
            self._random = None

    def take(self, date: str | None, page: int | None) -> Fault | None:
        """The fault for this request, if any, used up as it is taken."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(date, page):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    self.injected[fault.kind] += 1
                    return fault
            if self._random is not None:
                rate, kinds, rng = self._random
                if rng.random() < rate:
                    kind = rng.choice(kinds)
                    self.injected[kind] += 1
                    return Fault(kind, 1)
        return None
