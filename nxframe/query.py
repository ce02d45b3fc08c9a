"""The validated query, and the one table of the API's filters.

:class:`CdrQuery` is the one options object for "which call records": the
date range, the API's filters, the page size and the zone. Every fetch
(``fetch_cdr``, ``fetch_arrow``, ``Client.iter_dates``, ``sync_lake``, the
explorer widget, the CLI, the dlt resource) builds one with
:meth:`CdrQuery.build`, which checks every argument before anything touches
the network.

:data:`FILTERS` is the one table of the API's filters. Everything about a
filter follows from its row: the keyword the functions take (typed by
:class:`QueryArgs`), its check, the request body's field, what the lake
records, the CLI flag, the explorer's control and how the simulator applies
it. A new filter is a new row (and its key in :class:`QueryArgs`, which a
test holds to the table).
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from .errors import InvalidInputError

__all__ = [
    "CALL_TYPES",
    "FILTERS",
    "MAX_DAYS",
    "MAX_PAGE_SIZE",
    "QUERY_ARGS",
    "CdrQuery",
    "Filter",
    "QueryArgs",
    "parse_date",
    "query_doc",
]

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


def _phone(value: Any, name: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if isinstance(value, str) and _PHONE_TEXT.fullmatch(value):
        return value
    raise InvalidInputError(
        f"{name} must be digits with an optional leading '+' (e.g. '6621234567'), not {value!r}", parameter=name
    )


def _call_type(value: Any, name: str) -> int:
    if isinstance(value, str) and value.strip().lower() in CALL_TYPES:
        return CALL_TYPES[value.strip().lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in CALL_TYPES.values():
        return value
    raise InvalidInputError(f"{name} must be None, 'incoming' (0) or 'outgoing' (1), not {value!r}", parameter=name)


@dataclass(frozen=True)
class Filter:
    """One filter of the API (``docs/nxcloud-api.md``, the request body): one row of :data:`FILTERS`.

    Attributes:
        name: the keyword (``fetch_cdr(did_number=...)``) and the key the lake records.
        api_field: the request body's field (``didNumber``).
        record_field: the record field it keeps (``number``): the simulator filters by it.
        flag, metavar, help: the CLI option (``nxframe fetch --did N``).
        label: the explorer widget's caption.
        codes: named values and their API codes (``call_type``); empty for free text.
        example: a value for messages and docs.
    """

    name: str
    api_field: str
    record_field: str
    flag: str
    metavar: str
    help: str
    label: str
    check: Callable[[Any, str], str | int] = field(repr=False)
    codes: Mapping[str, int] = field(default_factory=dict)

    def value(self, given: Any) -> str | int | None:
        """The API's value for what a user passed (``None``: no filter); refused with the parameter named."""
        return None if given is None else self.check(given, self.name)

    def recorded(self, value: str | int | None) -> str | None:
        """How the lake and messages write the API value: the name for a code, the text otherwise."""
        if value is None:
            return None
        names: dict[str | int, str] = {code: name for name, code in self.codes.items()}
        return names.get(value, str(value))

    def keeps(self, record: Mapping[str, Any], value: str | int | None) -> bool:
        """Whether a record passes this filter (how NXCloud applies it; the simulator's rule)."""
        return value is None or str(record.get(self.record_field)) == str(value)


#: The API's filters, in the order of the request body's documentation.
FILTERS: tuple[Filter, ...] = (
    Filter("did_number", "didNumber", "number", "--did", "N", "only this DID number", "DID number", _phone),
    Filter(
        "call_number", "callNumber", "callNumber", "--call", "N", "only this other-party number", "Other party", _phone
    ),
    Filter(
        "call_type",
        "type",
        "callType",
        "--type",
        "incoming|outgoing",
        "only this direction",
        "Direction",
        _call_type,
        codes=CALL_TYPES,
    ),
)


class QueryArgs(TypedDict, total=False):
    """The keywords every fetch takes (``fetch_cdr(start, end, **query)``): the filters, then the rest."""

    did_number: str | int | None
    call_number: str | int | None
    call_type: str | int | None
    page_size: int
    tz: str | zoneinfo.ZoneInfo | None
    allow_long: bool


#: :class:`QueryArgs`' keys: their default and what they mean, for the signature and docstring of every
#: function that takes them (:func:`query_doc`).
QUERY_ARGS: dict[str, tuple[Any, str]] = {
    **{f.name: (None, f.help + (f" ({', '.join(repr(c) for c in f.codes)})" if f.codes else "")) for f in FILTERS},
    "page_size": (MAX_PAGE_SIZE, f"rows per request, 1..{MAX_PAGE_SIZE} (the API needs < 1000)"),
    "tz": (None, "the zone of the API's wall-clock times, e.g. ``'Asia/Shanghai'`` (tz-aware columns); None: naive"),
    "allow_long": (False, f"allow a range longer than {MAX_DAYS} days"),
}


def query_doc(function: Callable[..., Any]) -> Callable[..., Any]:
    """Show a ``**query: Unpack[QueryArgs]`` function as taking each query keyword.

    Its ``__signature__`` lists them (``help()``, Jupyter and ``inspect.signature``
    show ``did_number=None, ...`` as if written out) and ``{query}`` in its
    docstring becomes their descriptions: the keywords are written once, here.
    """
    doc = function.__doc__ or ""
    indent = re.search(r"^( *)\{query\}", doc, re.MULTILINE)
    if indent is not None:
        lines = [f"{indent.group(1)}{name}: {text}" for name, (_, text) in QUERY_ARGS.items()]
        function.__doc__ = doc.replace(indent.group(0), "\n".join(lines))
    signature = inspect.signature(function)
    own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    hints = {name: getattr(hint, "__forward_arg__", hint) for name, hint in QueryArgs.__annotations__.items()}
    keywords = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hints[name])
        for name, (default, _) in QUERY_ARGS.items()
    ]
    first_keyword = next((i for i, p in enumerate(own) if p.kind is inspect.Parameter.KEYWORD_ONLY), len(own))
    function.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own[:first_keyword], *keywords, *own[first_keyword:]]
    )
    return function


@dataclass(frozen=True)
class CdrQuery:
    """What to fetch: a date range, the API's filters, the page size and the zone.

    Build it with :meth:`build`, which validates; the fields are then known good.
    ``filters_set`` holds ``(name, API value)`` of the filters given, in :data:`FILTERS` order.
    """

    start: dt.date
    end: dt.date
    filters_set: tuple[tuple[str, str | int], ...] = ()
    page_size: int = MAX_PAGE_SIZE
    tz: str | None = None

    @classmethod
    def build(cls, start: Any, end: Any = None, **args: Any) -> CdrQuery:
        """Check every argument; raise :class:`InvalidInputError` naming the first bad one.

        Args are those of :func:`nxframe.fetch_cdr` (:class:`QueryArgs`). Dates may be
        ``"YYYY-MM-DD"``, a ``datetime.date``, or a midnight ``datetime``/``pandas.Timestamp``/
        ``numpy.datetime64`` (what ``df.date.min()`` gives).
        """
        unknown = sorted(set(args) - set(QueryArgs.__annotations__))
        if unknown:
            raise InvalidInputError(
                f"unexpected keyword argument {unknown[0]!r}; the query takes {', '.join(QUERY_ARGS)}",
                parameter=unknown[0],
            )
        first = parse_date(start, "start")
        last = first if end is None else parse_date(end, "end")
        if last < first:
            raise InvalidInputError(
                f"end {last} is before start {first}; the range is inclusive, start first", parameter="end"
            )
        allow_long = args.get("allow_long", False)
        if not isinstance(allow_long, bool):
            raise InvalidInputError(f"allow_long must be True or False, not {allow_long!r}", parameter="allow_long")
        days = (last - first).days + 1
        if days > MAX_DAYS and not allow_long:
            raise InvalidInputError(
                f"{first}..{last} spans {days} days, more than {MAX_DAYS}; pass allow_long=True if you mean it",
                parameter="allow_long",
            )
        chosen = ((f.name, f.value(args.get(f.name))) for f in FILTERS)
        return cls(
            start=first,
            end=last,
            filters_set=tuple((name, value) for name, value in chosen if value is not None),
            page_size=_page_size(args.get("page_size", MAX_PAGE_SIZE)),
            tz=_zone(args.get("tz")),
        )

    def value(self, name: str) -> str | int | None:
        """The API value of filter ``name`` (``None``: not filtered)."""
        return dict(self.filters_set).get(name)

    def dates(self) -> list[dt.date]:
        """Every date of the range, in order."""
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def body(self, date: dt.date, page: int, page_size: int | None = None) -> dict[str, Any]:
        """The request body for one page of one date (``docs/nxcloud-api.md``)."""
        body: dict[str, Any] = {
            "date": date.isoformat(),
            "page": page,
            "pageSize": self.page_size if page_size is None else page_size,
        }
        body.update((f.api_field, self.value(f.name)) for f in FILTERS if self.value(f.name) is not None)
        return body

    def filters(self) -> dict[str, Any]:
        """What decides which rows a date holds: the lake records it and refuses a mix."""
        return {**{f.name: f.recorded(self.value(f.name)) for f in FILTERS}, "tz": self.tz}

    def keeps(self, record: Mapping[str, Any]) -> bool:
        """Whether an API record passes every filter of this query (the simulator's rule)."""
        return all(f.keeps(record, self.value(f.name)) for f in FILTERS)

    @staticmethod
    def arguments(recorded: Mapping[str, Any]) -> dict[str, Any]:
        """A lake's recorded filters (:meth:`filters`) as keywords for :meth:`build`."""
        return {name: recorded.get(name) for name in (*(f.name for f in FILTERS), "tz")}


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
