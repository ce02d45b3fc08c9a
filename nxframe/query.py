"""The validated query: every argument checked before anything touches the network.

:class:`CdrQuery` is the one options object for "which call records": the
date range and the API's filters. ``fetch_cdr``, ``Client.fetch_cdr``, the
explorer widget and the CLI all build one with :meth:`CdrQuery.build` and hand
it to :meth:`nxframe.Client.fetch_query`, so the filter list and its checks
live here only.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidInputError

__all__ = ["CALL_TYPES", "MAX_DAYS", "MAX_PAGE_SIZE", "CdrQuery", "parse_date"]

#: ``call_type`` names and the API's codes (``type`` in the body: 0 incoming, 1 outgoing).
CALL_TYPES = {"incoming": 0, "outgoing": 1}
#: Longer ranges need ``allow_long=True``: a typo in a year should not cost a day of requests.
MAX_DAYS = 366
#: The API requires ``pageSize`` < 1000.
MAX_PAGE_SIZE = 999

#: ASCII digits only: ``\d`` would take any Unicode digit ("２０２４-０３-０１"), which no API or file here writes.
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PHONE_TEXT = re.compile(r"\+?[0-9]{1,32}")
#: numpy units that name a whole day or a finer instant (a month or a year is not a date).
_DAY_OR_FINER = frozenset({"D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"})


@dataclass(frozen=True)
class CdrQuery:
    """What to fetch: a date range and the API's filters.

    Build it with :meth:`build`, which validates; the fields are then known good.
    """

    start: dt.date
    end: dt.date
    did_number: str | None = None
    call_number: str | None = None
    call_type: int | None = None
    page_size: int = MAX_PAGE_SIZE
    tz: str | None = None

    @classmethod
    def build(
        cls,
        start: Any,
        end: Any = None,
        *,
        did_number: Any = None,
        call_number: Any = None,
        call_type: Any = None,
        page_size: Any = MAX_PAGE_SIZE,
        tz: Any = None,
        allow_long: Any = False,
    ) -> CdrQuery:
        """Check every argument; raise :class:`InvalidInputError` naming the first bad one.

        Args are those of :func:`nxframe.fetch_cdr`. Dates may be ``"YYYY-MM-DD"``,
        a ``datetime.date``, or a midnight ``datetime``/``pandas.Timestamp``/
        ``numpy.datetime64`` (what ``df.date.min()`` gives).
        """
        first = parse_date(start, "start")
        last = first if end is None else parse_date(end, "end")
        if last < first:
            raise InvalidInputError(
                f"end {last} is before start {first}; the range is inclusive, start first", parameter="end"
            )
        if not isinstance(allow_long, bool):
            raise InvalidInputError(f"allow_long must be True or False, not {allow_long!r}", parameter="allow_long")
        days = (last - first).days + 1
        if days > MAX_DAYS and not allow_long:
            raise InvalidInputError(
                f"{first}..{last} spans {days} days, more than {MAX_DAYS}; pass allow_long=True if you mean it",
                parameter="allow_long",
            )
        return cls(
            start=first,
            end=last,
            did_number=_phone(did_number, "did_number"),
            call_number=_phone(call_number, "call_number"),
            call_type=_call_type(call_type),
            page_size=_page_size(page_size),
            tz=_zone(tz),
        )

    def dates(self) -> list[dt.date]:
        """Every date of the range, in order."""
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def body(self, date: dt.date, page: int, page_size: int | None = None) -> dict[str, Any]:
        """The request body for one page of one date (``api/did-cdr.md``)."""
        body: dict[str, Any] = {
            "date": date.isoformat(),
            "page": page,
            "pageSize": self.page_size if page_size is None else page_size,
        }
        if self.did_number is not None:
            body["didNumber"] = self.did_number
        if self.call_number is not None:
            body["callNumber"] = self.call_number
        if self.call_type is not None:
            body["type"] = self.call_type
        return body

    def filters(self) -> dict[str, Any]:
        """What decides which rows a date holds: the lake records it and refuses a mix."""
        labels = {code: name for name, code in CALL_TYPES.items()}
        return {
            "did_number": self.did_number,
            "call_number": self.call_number,
            "call_type": None if self.call_type is None else labels[self.call_type],
            "tz": self.tz,
        }


def parse_date(value: Any, name: str = "date") -> dt.date:
    """A calendar date from what people pass for one; anything else is refused.

    Accepted: ``"YYYY-MM-DD"``, ``datetime.date``, and a ``datetime``,
    ``pandas.Timestamp`` or ``numpy.datetime64`` at midnight without a zone
    (a frame's ``date`` column holds those). Refused: ``None``, ``NaT``, NaN,
    numbers, booleans, a time of day, a zone, a month or a year.

    Raises:
        InvalidInputError: with ``parameter=name``.
    """
    if isinstance(value, dt.datetime):  # pandas.Timestamp and NaT are datetimes too
        if value != value:  # NaT is the only datetime unequal to itself
            raise InvalidInputError(f"{name} is NaT (a missing date); pass a real date", parameter=name)
        nanosecond: int = getattr(value, "nanosecond", 0)  # pandas.Timestamp goes finer than datetime
        if value.tzinfo is not None or value.time() != dt.time(0) or nanosecond:
            raise InvalidInputError(
                f"{name} must be a date, not a datetime with a time or zone: {value!r}", parameter=name
            )
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return _numpy_date(value, name)
    if isinstance(value, str):
        text = value.strip()
        if _DATE_TEXT.fullmatch(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise InvalidInputError(f"{name} {value!r} is not a real calendar date", parameter=name) from None
        raise InvalidInputError(f"{name} must be written YYYY-MM-DD (e.g. '2024-03-01'), not {value!r}", parameter=name)
    raise InvalidInputError(f"{name} must be a 'YYYY-MM-DD' string or a datetime.date, not {value!r}", parameter=name)


def _numpy_date(value: np.datetime64, name: str) -> dt.date:
    if np.isnat(value):
        raise InvalidInputError(f"{name} is NaT (a missing date); pass a real date", parameter=name)
    unit, _ = np.datetime_data(value.dtype)
    day = value.astype("datetime64[D]")
    if unit not in _DAY_OR_FINER or day != value:
        raise InvalidInputError(f"{name} must be a whole day (midnight), not {value!r}", parameter=name)
    text = str(day)
    if not _DATE_TEXT.fullmatch(text):  # years before 1 or after 9999
        raise InvalidInputError(f"{name} {value!r} is outside the years 1..9999", parameter=name)
    return dt.date.fromisoformat(text)


def _phone(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if isinstance(value, str) and _PHONE_TEXT.fullmatch(value):
        return value
    raise InvalidInputError(
        f"{name} must be digits with an optional leading '+' (e.g. '6621234567'), not {value!r}", parameter=name
    )


def _call_type(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in CALL_TYPES:
        return CALL_TYPES[value.strip().lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return value
    raise InvalidInputError(
        f"call_type must be None, 'incoming' (0) or 'outgoing' (1), not {value!r}", parameter="call_type"
    )


def _page_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PAGE_SIZE:
        return value
    raise InvalidInputError(
        f"page_size must be an integer from 1 to {MAX_PAGE_SIZE} (the API needs < 1000), not {value!r}",
        parameter="page_size",
    )


def _zone(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, zoneinfo.ZoneInfo) and value.key:
        value = value.key
    if isinstance(value, str) and value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value
    raise InvalidInputError(f"tz must be an IANA zone name such as 'Asia/Shanghai', not {value!r}", parameter="tz")
