"""Seeded, realistic call records, and their exact JSON text.

A record here is what the API sends, as Python values: ``Decimal`` for the
money fields (or ``str`` where the simulated server sends a JSON string),
``int`` or ``str`` for numbers, plus any undocumented field. :func:`record_json`
writes it as the server would, decimals as their exact text.

Every date is the same for a seed. Most days are "clean": documented types
everywhere (the shape the fast decoder reads), but still with empty end
times of unanswered calls, an undocumented ``endDirection`` code now and then
and one unanswered call on a test route whose price per minute has 16
significant digits, which no binary float holds. About one day in four is "awkward", as a real server may be after an
upgrade: some records send decimals as JSON strings, phone numbers as JSON
numbers, and fields the documentation does not list.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["CallGenerator", "page_body", "record_json", "value_json"]

#: (country, dialling code, price per billed minute in yuan)
COUNTRIES: tuple[tuple[str, str, str], ...] = (
    ("Thailand", "66", "0.055"),
    ("Singapore", "65", "0.032"),
    ("Hong Kong", "852", "0.045"),
    ("Philippines", "63", "0.12"),
    ("Indonesia", "62", "0.098"),
    ("Malaysia", "60", "0.041"),
    ("Vietnam", "84", "0.087"),
    ("Japan", "81", "0.0632"),
    ("United States", "1", "0.0125"),
    ("United Kingdom", "44", "0.0185"),
    ("Brazil", "55", "0.0712"),
    ("India", "91", "0.0265"),
)
#: (code, name) of hang-up reasons.
UNANSWERED_REASONS = (("-4", "No Answer"), ("-3", "Busy"), ("-10", "Call Rejected"))
ANSWERED_REASONS = {0: ("-7", "Caller Hang-up"), 1: ("-8", "Callee Hang-up"), 2: ("-99", "System Release")}
#: Calls per hour of the day, relative (business hours peak).
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 16, 10, 12, 16, 17, 16, 12, 8, 6, 4, 3, 2, 1)
#: ``random.choices`` accumulates weights on every call; giving it the sums draws the same values, faster.
_HOUR_CUM_WEIGHTS = tuple(itertools.accumulate(HOUR_WEIGHTS))
_HOURS = range(24)
SIX_PLACES = Decimal("0.000001")
EPOCH = dt.date(2020, 1, 1)


@dataclass(frozen=True)
class Line:
    """A DID number the account rents: where it rings and how it is billed."""

    did_number: str
    country: str
    dial_code: str
    price_unit: Decimal
    fee_type: int  # 0 = "60+60", 1 = "1+1"
    weight: int


def billed(duration: int, fee_type: int, price_unit: Decimal) -> tuple[Decimal, Decimal]:
    """Billed minutes and cost: 60+60 bills every started minute, 1+1 bills per second."""
    if fee_type == 0:
        minutes = Decimal(math.ceil(duration / 60))
        return minutes, (minutes * price_unit).quantize(SIX_PLACES, ROUND_HALF_UP)
    minutes = (Decimal(duration) / 60).quantize(SIX_PLACES, ROUND_HALF_UP)
    return minutes, (Decimal(duration) * price_unit / 60).quantize(SIX_PLACES, ROUND_HALF_UP)


class CallGenerator:
    """Makes a date's records, the same every time for a seed.

    Args:
        seed: picks the account's DID lines and every call.
        rows_per_day: calls per date: an int, a function of the date, or
            ``None`` for a realistic load (~600-900 on weekdays, fewer at weekends).
        quirks: include the awkward cases (see the module docstring).
    """

    def __init__(
        self, seed: int = 0, rows_per_day: int | Callable[[dt.date], int] | None = None, quirks: bool = True
    ) -> None:
        self.seed = seed
        self.rows_per_day = rows_per_day
        self.quirks = quirks
        rng = random.Random(f"lines-{seed}")
        self.lines = tuple(self._line(rng, index) for index in range(8))
        self._line_cum_weights = tuple(itertools.accumulate(line.weight for line in self.lines))

    def _line(self, rng: random.Random, index: int) -> Line:
        country, dial, price = COUNTRIES[rng.randrange(len(COUNTRIES))] if index else COUNTRIES[0]
        local = "".join(rng.choice("0123456789") for _ in range(8))
        return Line(
            did_number=f"{dial}{rng.randint(2, 9)}{local}",
            country=country,
            dial_code=dial,
            price_unit=Decimal(price),
            fee_type=0 if rng.random() < 0.7 else 1,
            weight=rng.randint(1, 10),
        )

    def count(self, date: dt.date) -> int:
        """How many calls ``date`` has."""
        if callable(self.rows_per_day):
            return int(self.rows_per_day(date))
        if self.rows_per_day is not None:
            return int(self.rows_per_day)
        rng = random.Random(f"count-{self.seed}-{date}")
        base = 750 if date.weekday() < 5 else 300
        return int(base * rng.uniform(0.8, 1.2))

    def is_awkward(self, date: dt.date) -> bool:
        """Whether ``date`` is one of the days with awkward JSON."""
        return self.quirks and random.Random(f"awkward-{self.seed}-{date}").random() < 0.25

    def day(self, date: dt.date) -> list[dict[str, Any]]:
        """All records of ``date``, in id order."""
        return self.calls(date, 0, self.count(date))

    def calls(self, date: dt.date, first_index: int, count: int) -> list[dict[str, Any]]:
        """``count`` records of ``date`` starting at position ``first_index`` (for growing days too)."""
        rng = random.Random(f"calls-{self.seed}-{date}-{first_index}")
        starts = sorted(self._start_second(rng) for _ in range(count))
        awkward = self.is_awkward(date)
        midnight = dt.datetime.combine(date, dt.time())
        # One call a day with a 16-significant-digit price unit, so a float anywhere shows.
        long_price_at = rng.randrange(count) if self.quirks and first_index == 0 and count >= 20 else -1
        records = []
        for offset, second in enumerate(starts):
            index = first_index + offset
            moment = midnight + dt.timedelta(seconds=second)
            record = self._call(rng, date, index, moment, index == first_index + long_price_at)
            if awkward:
                self._make_awkward(rng, record)
            records.append(record)
        return records

    @staticmethod
    def _start_second(rng: random.Random) -> int:
        hour = rng.choices(_HOURS, cum_weights=_HOUR_CUM_WEIGHTS)[0]
        return hour * 3600 + rng.randrange(3600)

    def _call(
        self, rng: random.Random, date: dt.date, index: int, start: dt.datetime, long_price: bool
    ) -> dict[str, Any]:
        line = rng.choices(self.lines, cum_weights=self._line_cum_weights)[0]
        call_type = 0 if rng.random() < 0.7 else 1
        answered = rng.random() < 0.82
        end_time: str
        if long_price:
            # A test route's rate: 16 significant digits on a call that was not answered (so cost 0).
            answered = False
            duration, fee_type, unit = 0, 0, _long_decimal(rng)
            minutes, price = billed(0, 0, unit)
        else:
            duration = min(7200, max(1, int(rng.lognormvariate(4.2, 1.0)))) if answered else 0
            fee_type, unit = line.fee_type, line.price_unit
            minutes, price = billed(duration, fee_type, unit)
        if answered:
            end_direction = 2 if self.quirks and rng.random() < 0.005 else rng.randint(0, 1)
            end_reason, end_reason_name = ANSWERED_REASONS[end_direction]
            end_time = _clock(start + dt.timedelta(seconds=duration))
        else:
            end_direction = 0
            end_reason, end_reason_name = UNANSWERED_REASONS[rng.randrange(len(UNANSWERED_REASONS))]
            end_time = "" if self.quirks and rng.random() < 0.4 else _clock(start)
        carrier_ip = f"203.0.113.{rng.randint(1, 254)}"
        pbx_ip = f"10.20.{rng.randint(0, 15)}.{rng.randint(1, 254)}"
        return {
            "id": (date - EPOCH).days * 1_000_000 + index + 1,
            "number": line.did_number,
            "callNumber": _other_party(rng),
            "callType": call_type,
            "countryName": line.country,
            "callDuration": duration,
            "feeType": fee_type,
            "feeDurationMinute": minutes,
            "callPriceUnit": unit,
            "callPrice": price,
            "endDirection": end_direction,
            "endReason": end_reason,
            "endReasonName": end_reason_name,
            "callerIp": carrier_ip if call_type == 0 else pbx_ip,
            "calleeIp": pbx_ip if call_type == 0 else carrier_ip,
            "startTime": _clock(start),
            "endTime": end_time,
        }

    @staticmethod
    def _make_awkward(rng: random.Random, record: dict[str, Any]) -> None:
        if rng.random() < 0.1:
            for field in ("feeDurationMinute", "callPriceUnit", "callPrice"):
                record[field] = _decimal_text(record[field])
        if rng.random() < 0.1 and record["callNumber"].isdigit() and not record["callNumber"].startswith("0"):
            record["callNumber"] = int(record["callNumber"])
        if rng.random() < 0.2:
            record["taskId"] = rng.randint(10**9, 10**10)
            record["recordUrl"] = f"https://rec.example.com/{record['id']}.mp3"


def _other_party(rng: random.Random) -> str:
    _, dial, _ = COUNTRIES[rng.randrange(len(COUNTRIES))]
    digits = f"{dial}{rng.randint(6, 9)}{rng.randrange(10**8):08d}"
    style = rng.random()
    if style < 0.1:
        return "+" + digits
    if style < 0.15:
        return "00" + digits
    return digits


def _long_decimal(rng: random.Random) -> Decimal:
    """A 16-significant-digit decimal that a binary float would change."""
    while True:
        value = Decimal(f"{rng.randrange(10**9, 10**10)}.{rng.randrange(10**6):06d}")
        if Decimal(repr(float(value))) != value:
            return value


def _clock(moment: dt.datetime) -> str:
    # The same text as strftime("%Y-%m-%d %H:%M:%S") for years 1000-9999, about 3x faster.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


#: What ``json.dumps(text, ensure_ascii=False)`` calls for a ``str``, without its per-call set-up.
_json_string: Callable[[str], str] = json.encoder.encode_basestring


def value_json(value: Any) -> str:
    """One value as the server writes it: decimals as their exact digits, never through a float.

    The text is what ``json.dumps(value, ensure_ascii=False)`` writes for
    strings, integers, booleans and ``None``.
    """
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if value is None:
        return "null"
    if isinstance(value, dict):
        return record_json(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(value_json(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def record_json(record: dict[str, Any]) -> str:
    """A record as compact JSON text, fields in the record's order."""
    return "{" + ",".join([f"{_json_string(k)}:{value_json(v)}" for k, v in record.items()]) + "}"


def records_json(records: Iterable[dict[str, Any]]) -> str:
    """A JSON list of records."""
    return "[" + ",".join(record_json(r) for r in records) + "]"


def page_body(record_texts: Iterable[str], *, total_row: int, page: int, page_size: int) -> bytes:
    """A code-0 response body exactly as the simulated server sends it, from its records' JSON texts."""
    pages = -(-total_row // page_size)
    listing = ",".join(record_texts)
    return (
        f'{{"code":0,"message":"Request successful","data":{{"totalRow":{total_row},"pageNumber":{page},'
        f'"totalPage":{pages},"pageSize":{page_size},"list":[{listing}]}}}}'
    ).encode()
