"""What changed since the month before, and what looks wrong: exact, from Arrow tables.

The rules are the README's ("The monthly report"); the thresholds are named
constants here so the README, the tests and the text agree:

- ``cost_spike_day``: a date whose cost is more than :data:`SPIKE_FACTOR`
  times the median daily cost of the month's dates with data (a day with
  data but no calls counts as 0; the median of an even count is the mean of
  the middle two; the comparison is exact, ``2 x cost > 3 x (a + b)``);
- ``new_country``: a country with calls this month and none in the previous
  month (only when the previous month has data);
- ``did_cost_jump``: a DID whose previous cost is > 0 and whose cost rose by
  more than 100% and by more than :data:`JUMP_YUAN` yuan;
- ``short_call_burst``: a call_number with :data:`BURST_CALLS` or more
  incoming calls shorter than :data:`BURST_SECONDS` seconds starting within
  one clock hour of ``start_time`` (the wall clock the API reports), the
  pattern of "wangiri" call-back fraud.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .tables import SUM, UNKNOWN, label_nulls, to_pandas

__all__ = [
    "ANOMALY_COLUMNS",
    "BURST_CALLS",
    "BURST_SECONDS",
    "CHANGE_COLUMNS",
    "JUMP_YUAN",
    "KINDS",
    "SPIKE_FACTOR",
    "anomalies",
    "changes",
    "cost_jumps",
    "cost_spikes",
    "empty_anomalies",
    "empty_changes",
    "new_countries",
    "short_call_bursts",
]

SPIKE_FACTOR = 3
JUMP_YUAN = Decimal(100)
BURST_CALLS = 20
BURST_SECONDS = 10
KINDS = ("cost_spike_day", "did_cost_jump", "new_country", "short_call_burst")
CHANGE_COLUMNS = (
    "dimension",
    "key",
    "calls",
    "cost",
    "previous_calls",
    "previous_cost",
    "cost_change",
    "cost_change_pct",
)
ANOMALY_COLUMNS = ("kind", "key", "value", "baseline", "detail")
_SIX = Decimal("0.000001")
_ZERO = Decimal("0.000000")


def _per_key(table: pa.Table, key: str) -> dict[Any, tuple[int, Decimal]]:
    """key -> (calls, exact cost)."""
    grouped = label_nulls(table.select([key, "call_price"]), [key]).group_by(key, use_threads=False)
    summed = grouped.aggregate([([], "count_all"), ("call_price", "sum", pc.ScalarAggregateOptions(min_count=0))])
    return {
        k: (int(n), Decimal(c))
        for k, n, c in zip(
            summed[key].to_pylist(), summed["count_all"].to_pylist(), summed["call_price_sum"].to_pylist(), strict=True
        )
    }


def _percent(change: Decimal, previous: Decimal) -> float:
    return float(change / previous * 100) if previous else float("nan")


def changes(this: pa.Table, previous: pa.Table) -> pd.DataFrame:
    """One row per DID number, then per country, seen in either month; a side without calls has 0.

    Sorted by dimension (``did_number`` first), then the largest cost change
    first, then key.
    """
    rows: list[tuple[str, str, int, Decimal, int, Decimal, Decimal, float]] = []
    for dimension in ("did_number", "country_name"):
        now, before = _per_key(this, dimension), _per_key(previous, dimension)
        block = []
        for key in set(now) | set(before):
            calls, cost = now.get(key, (0, _ZERO))
            previous_calls, previous_cost = before.get(key, (0, _ZERO))
            change = cost - previous_cost
            block.append(
                (dimension, key, calls, cost, previous_calls, previous_cost, change, _percent(change, previous_cost))
            )
        rows += sorted(block, key=lambda row: (-row[6], row[1]))
    return _changes_frame(rows)


def _changes_frame(rows: list[tuple[str, str, int, Decimal, int, Decimal, Decimal, float]]) -> pd.DataFrame:
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in CHANGE_COLUMNS]
    types = (pa.string(), pa.string(), pa.int64(), SUM, pa.int64(), SUM, SUM)
    frame = to_pandas(pa.table({n: pa.array(v, t) for n, v, t in zip(CHANGE_COLUMNS, columns, types, strict=False)}))
    frame["cost_change_pct"] = np.array(columns[7], dtype="float64")
    return frame


def empty_changes() -> pd.DataFrame:
    """The columns of :func:`changes`, no rows (the previous month has no data)."""
    return _changes_frame([])


def _text(value: Decimal) -> str:
    return f"{value.quantize(_SIX, ROUND_HALF_UP):,.6f}"


Row = tuple[str, str, Decimal | None, Decimal | None, str]


def _daily(table: pa.Table, present: Iterable[dt.date]) -> dict[dt.date, Decimal]:
    """Cost of each date with data; a date with data and no calls costs 0."""
    found = _per_key(table.select(["date", "call_price"]), "date") if table.num_rows else {}
    return {day: found.get(day, (0, _ZERO))[1] for day in sorted(present)}


def cost_spikes(table: pa.Table, present: Iterable[dt.date]) -> list[Row]:
    """Dates whose cost exceeds 3x the median daily cost of the dates with data."""
    daily = _daily(table, present)
    costs = sorted(daily.values())
    if not costs:
        return []
    middle = len(costs) // 2
    twice_median = costs[middle] * 2 if len(costs) % 2 else costs[middle - 1] + costs[middle]
    median = twice_median / 2
    rows: list[Row] = []
    for day, cost in daily.items():
        if cost * 2 > twice_median * SPIKE_FACTOR:
            times = f"{cost / median:.1f}x" if median else "more than 3x"
            detail = f"cost {_text(cost)} CNY is {times} the median daily cost {_text(median)} CNY"
            rows.append(("cost_spike_day", day.isoformat(), cost, median.quantize(_SIX, ROUND_HALF_UP), detail))
    return rows


def new_countries(this: pa.Table, previous: pa.Table, previous_month: str) -> list[Row]:
    """Countries with calls this month and none in the previous month."""
    before = _per_key(previous, "country_name")
    rows: list[Row] = []
    for country, (calls, cost) in _per_key(this, "country_name").items():
        if country not in before and country != UNKNOWN:
            detail = f"{calls:,} calls costing {_text(cost)} CNY; no calls in {previous_month}"
            rows.append(("new_country", country, cost, _ZERO, detail))
    return rows


def cost_jumps(this: pa.Table, previous: pa.Table) -> list[Row]:
    """DIDs whose cost more than doubled and rose by more than 100 yuan."""
    before = _per_key(previous, "did_number")
    rows: list[Row] = []
    for did, (_calls, cost) in _per_key(this, "did_number").items():
        previous_cost = before.get(did, (0, _ZERO))[1]
        if previous_cost > 0 and cost > previous_cost * 2 and cost - previous_cost > JUMP_YUAN:
            change = cost - previous_cost
            detail = (
                f"cost rose from {_text(previous_cost)} to {_text(cost)} CNY "
                f"(+{_text(change)}, {_percent(change, previous_cost):+.1f}%)"
            )
            rows.append(("did_cost_jump", did, cost, previous_cost, detail))
    return rows


def short_call_bursts(table: pa.Table) -> list[Row]:
    """(call_number, clock hour) with 20 or more incoming calls under 10 seconds."""
    short = pc.and_(pc.equal(table["call_type"], "incoming"), pc.less(table["call_duration"], BURST_SECONDS))
    short = pc.and_(short, pc.and_(pc.is_valid(table["call_number"]), pc.is_valid(table["start_time"])))
    candidates = table.filter(pc.fill_null(short, False)).select(["call_number", "start_time"])
    if candidates.num_rows < BURST_CALLS:
        return []
    hours = pc.strftime(pc.floor_temporal(candidates["start_time"], unit="hour"), format="%Y-%m-%d %H:00")
    counted = (
        pa.table({"call_number": candidates["call_number"], "hour": hours})
        .group_by(["call_number", "hour"], use_threads=False)
        .aggregate([([], "count_all")])
    )
    counted = counted.filter(pc.greater_equal(counted["count_all"], BURST_CALLS))
    return [
        ("short_call_burst", number, Decimal(count), None, hour)
        for number, hour, count in zip(
            counted["call_number"].to_pylist(),
            counted["hour"].to_pylist(),
            counted["count_all"].to_pylist(),
            strict=True,
        )
    ]


def anomalies(
    this: pa.Table, present: Iterable[dt.date], previous: pa.Table | None = None, previous_month: str = ""
) -> pd.DataFrame:
    """Every anomaly, sorted by kind then key (then detail); ``previous=None``: no month before to compare."""
    rows = cost_spikes(this, present) + short_call_bursts(this)
    if previous is not None:
        rows += new_countries(this, previous, previous_month) + cost_jumps(this, previous)
    return _anomaly_frame(sorted(rows, key=lambda row: (row[0], row[1], row[4])))


def _anomaly_frame(rows: list[Row]) -> pd.DataFrame:
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in ANOMALY_COLUMNS]
    types = (pa.string(), pa.string(), SUM, SUM, pa.string())
    return to_pandas(pa.table({n: pa.array(v, t) for n, v, t in zip(ANOMALY_COLUMNS, columns, types, strict=True)}))


def empty_anomalies() -> pd.DataFrame:
    """The columns of :func:`anomalies`, no rows."""
    return _anomaly_frame([])
