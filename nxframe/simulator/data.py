"""Seeded, realistic call records, and their exact JSON text.

A record here is what the API sends, as Python values: ``Decimal`` for the
money fields (or ``str`` where the simulated server sends a JSON string),
``int`` or ``str`` for numbers, plus any undocumented field. :func:`record_json`
writes it as the server would, decimals as their exact text.

Every date is the same for a seed. Every seed's DID lines include both fee
types ("60+60" and "1+1"), billed exactly by the documented rules
(``docs/nxcloud-api.md``; :func:`billed`). Most days are "clean": documented types
everywhere (the shape the fast decoder reads), but still with empty end times
of unanswered calls and an undocumented ``endDirection`` code now and then.
About one day in four is "awkward", as a real server may be after an
upgrade: some records send decimals as JSON strings, phone numbers as JSON
numbers, and fields the documentation does not list.

Opt-in extras, off by default so demos and notebooks show plain data:

- ``canary=True``: one unanswered call a day on a test route whose price per
  minute has 16 significant digits (over 10^9: the only way 16 digits fit
  decimal128(18, 6)), which no binary float holds; the tests turn it on.
- ``off_rule=0.01``: that share of answered calls billed off the rules, over
  and under, in minutes, in price or both (:data:`OFF_RULE_KINDS`);
  :attr:`CallGenerator.off_rule_calls` says which.
- ``anomalies="2024-02"``: plant one anomaly of each kind the monthly report
  looks for in that month (:data:`PLANTED`): a cost-spike day, a new country,
  a DID whose cost jumps against the month before, a burst of short incoming
  calls from one number within an hour.
- ``language="zh"``: country and reason names as an account set to Chinese
  gets them (:mod:`.names`; also ``ja``, ``th``, ``vi``); the calls are the same.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from .names import check_language, localized
from .plant import OFF_RULE_KINDS, PLANTED, Line, billed, off_rule_bill, plan_anomalies

__all__ = ["OFF_RULE_KINDS", "PLANTED", "CallGenerator", "Line", "billed", "page_body", "record_json", "value_json"]

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


class CallGenerator:
    """Makes a date's records, the same every time for a seed.

    Args:
        seed: picks the account's DID lines and every call.
        rows_per_day: calls per date: an int, a function of the date, or
            ``None`` for a realistic load (~600-900 on weekdays, fewer at weekends).
        quirks: include the awkward cases (see the module docstring).
        canary: one call a day with a 16-significant-digit price per minute.
        off_rule: the share (0 to 1) of answered calls billed off the rules.
        anomalies: ``"YYYY-MM"``: the month to plant one anomaly of each kind in.
        language: the language of country and reason names (:data:`.names.LANGUAGES`).

    Attributes:
        off_rule_calls: record id -> kind (:data:`OFF_RULE_KINDS`) of every
            off-rule call generated so far (the simulator generates a date
            before it serves or reports it).
    """

    def __init__(
        self,
        seed: int = 0,
        rows_per_day: int | Callable[[dt.date], int] | None = None,
        quirks: bool = True,
        *,
        canary: bool = False,
        off_rule: float = 0.0,
        anomalies: str | None = None,
        language: str = "en",
    ) -> None:
        if not 0.0 <= off_rule <= 1.0:
            raise ValueError(f"off_rule must be a share from 0 to 1, not {off_rule!r}")
        self.seed = seed
        self.rows_per_day = rows_per_day
        self.quirks = quirks
        self.canary = canary
        self.off_rule = off_rule
        self.anomalies = _month(anomalies)
        self.language = check_language(language)
        self.off_rule_calls: dict[int, str] = {}
        rng = random.Random(f"lines-{seed}")
        self.lines = tuple(self._line(rng, index) for index in range(8))
        self._line_cum_weights = tuple(itertools.accumulate(line.weight for line in self.lines))

    def _line(self, rng: random.Random, index: int) -> Line:
        country, dial, price = COUNTRIES[rng.randrange(len(COUNTRIES))] if index else COUNTRIES[0]
        local = "".join(rng.choice("0123456789") for _ in range(8))
        chance = rng.random()
        # Lines 0 and 1 fix one of each fee type, so every seed bills both ways.
        fee_type = 0 if index == 0 else 1 if index == 1 else 0 if chance < 0.7 else 1
        return Line(
            did_number=f"{dial}{rng.randint(2, 9)}{local}",
            country=country,
            dial_code=dial,
            price_unit=Decimal(price),
            fee_type=fee_type,
            weight=rng.randint(1, 10),
        )

    def count(self, date: dt.date) -> int:
        """How many calls ``date`` has."""
        if callable(self.rows_per_day):
            count = int(self.rows_per_day(date))
        elif self.rows_per_day is not None:
            count = int(self.rows_per_day)
        else:
            rng = random.Random(f"count-{self.seed}-{date}")
            count = int((750 if date.weekday() < 5 else 300) * rng.uniform(0.8, 1.2))
        return count * PLANTED.spike_factor if self._spike_day(date) else count

    def _spike_day(self, date: dt.date) -> bool:
        return self._planted(date) and date.day == PLANTED.spike_day

    def _planted(self, date: dt.date) -> bool:
        return self.anomalies is not None and (date.year, date.month) == self.anomalies

    def _before_planted(self, date: dt.date) -> bool:
        if self.anomalies is None:
            return False
        year, month = self.anomalies
        return (date.year, date.month) == ((year, month - 1) if month > 1 else (year - 1, 12))

    def is_awkward(self, date: dt.date) -> bool:
        """Whether ``date`` is one of the days with awkward JSON."""
        return self.quirks and random.Random(f"awkward-{self.seed}-{date}").random() < 0.25

    def day(self, date: dt.date) -> list[dict[str, Any]]:
        """All records of ``date``, in id order (planted anomalies after the day's own calls)."""
        count = self.count(date)
        records = self.calls(date, 0, count)
        if self._planted(date) or self._before_planted(date):
            records += self._plant(date, count)
        return records

    def _plant(self, date: dt.date, first_index: int) -> list[dict[str, Any]]:
        """The planted calls of ``date`` as records, billed by the rules (:func:`.plant.plan_anomalies`)."""
        rng = random.Random(f"plant-{self.seed}-{date}")
        midnight = dt.datetime.combine(date, dt.time())
        records = []
        for offset, (line, duration, second, caller) in enumerate(
            plan_anomalies(rng, date, self._planted(date), self.lines[0])
        ):
            start = midnight + dt.timedelta(seconds=second)
            minutes, cost = billed(duration, line.fee_type, line.price_unit)
            record = self._record(
                rng, date, first_index + offset, start, line, 0, duration, line.fee_type, line.price_unit, minutes, cost
            )
            if caller is not None:
                record["callNumber"] = caller
            records.append(record)
        return records

    def calls(self, date: dt.date, first_index: int, count: int) -> list[dict[str, Any]]:
        """``count`` records of ``date`` starting at position ``first_index`` (for growing days too)."""
        rng = random.Random(f"calls-{self.seed}-{date}-{first_index}")
        starts = sorted(self._start_second(rng) for _ in range(count))
        awkward = self.is_awkward(date)
        midnight = dt.datetime.combine(date, dt.time())
        # One call a day with a 16-significant-digit price unit, so a float anywhere shows.
        long_price_at = rng.randrange(count) if self.canary and first_index == 0 and count >= 20 else -1
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
        if long_price:
            # A test route's rate: 16 significant digits on a call that was not answered (so cost 0).
            answered = False
            duration, fee_type, unit = 0, 0, _long_decimal(rng)
            minutes, price = billed(0, 0, unit)
        else:
            duration = min(7200, max(1, int(rng.lognormvariate(4.2, 1.0)))) if answered else 0
            fee_type, unit = line.fee_type, line.price_unit
            minutes, price = billed(duration, fee_type, unit)
            if self.off_rule and answered:
                # A separate stream, so turning off-rule billing on changes nothing else.
                chance = random.Random(f"off-{self.seed}-{date}-{index}")
                if chance.random() < self.off_rule:
                    kind = OFF_RULE_KINDS[chance.randrange(len(OFF_RULE_KINDS))]
                    minutes, price = off_rule_bill(kind, fee_type, minutes, price, unit)
                    self.off_rule_calls[(date - EPOCH).days * 1_000_000 + index + 1] = kind
        return self._record(
            rng, date, index, start, line, call_type, duration, fee_type, unit, minutes, price, answered
        )

    def _record(
        self,
        rng: random.Random,
        date: dt.date,
        index: int,
        start: dt.datetime,
        line: Line,
        call_type: int,
        duration: int,
        fee_type: int,
        unit: Decimal,
        minutes: Decimal,
        price: Decimal,
        answered: bool = True,
    ) -> dict[str, Any]:
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
            "countryName": localized(line.country, self.language),
            "callDuration": duration,
            "feeType": fee_type,
            "feeDurationMinute": minutes,
            "callPriceUnit": unit,
            "callPrice": price,
            "endDirection": end_direction,
            "endReason": end_reason,
            "endReasonName": localized(end_reason_name, self.language),
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


def _month(text: str | None) -> tuple[int, int] | None:
    """``"YYYY-MM"`` as (year, month); ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        year, month = (int(part) for part in text.split("-"))
        dt.date(year, month, 1)
    except (ValueError, TypeError):
        raise ValueError(f"anomalies must be a month 'YYYY-MM' such as '2024-02', not {text!r}") from None
    return year, month


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
