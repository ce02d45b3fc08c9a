"""What a monthly report holds and says: its tables, its checks, its words.

:class:`ReportData` is the data and the text; :class:`nxframe.Report`
(``document.py``) adds the files. The renderers read a ``ReportData``, so
they never import the class that calls them.

Definitions (also written into every rendered report):

- ``calls``: call records of the month (rows whose ``date`` is in the month).
- ``answered``: calls with ``call_duration > 0``.
- ``duration_seconds``: the sum of ``call_duration``.
- ``billed_minutes``: the exact sum of ``fee_duration_minute``.
- ``cost``: the exact sum of ``call_price``, in yuan (``docs/nxcloud-api.md``).
- ``avg_cost_per_minute``: ``cost / billed_minutes`` rounded to 6 decimal
  places, ROUND_HALF_UP (the only rounded figure); null when
  ``billed_minutes`` is 0.

Completeness: a report lists ``missing_dates`` and is ``complete`` only when
there are none. For a lake a date is missing when it has no partition; for a
DataFrame when it has no rows (see ``sources.py``). Dates after ``today`` are
missing too, but no sync can fill them yet, and the words say so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from .._version import __version__
from .anomalies import BURST_SECONDS
from .tables import AVERAGE_PLACES
from .words import CURRENCY, billing_text, date_ranges, decimal_text, timestamp

__all__ = ["SECTIONS", "TABLES", "ReportData"]

#: The report's tables, in the order every renderer writes them: name -> (title, key columns).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "totals": ("Totals", ()),
    "by_did": ("By DID number", ("did_number",)),
    "by_country": ("By country", ("country_name",)),
    "by_day": ("By day", ("date", "missing")),
    "by_call_type": ("By direction", ("call_type",)),
    "by_end_reason": ("By hang-up reason", ("end_reason", "end_reason_name")),
}
#: The checks, after the tables: name -> title (``changes``' title names the month before).
SECTIONS = {"audit": "Billing check", "changes": "Compared with", "anomalies": "Anomalies"}


@dataclass(frozen=True, eq=False, repr=False)
class ReportData:
    """A month's exact totals, breakdowns, billing check, comparison and anomalies.

    Every table is a DataFrame of ``pd.ArrowDtype`` columns (dates are
    ``datetime64[s]``, as in the frame). Breakdowns are sorted by cost,
    highest first (ties by key); ``by_day`` lists every day of the month,
    zeros for days without calls, and a ``missing`` flag. The parts of every
    breakdown sum exactly to ``totals``.

    Attributes:
        month, first, last: ``"YYYY-MM"`` and its first and last day.
        source: where the rows came from, for the reader ("lake data/lake").
        rows: call records in the month (= ``totals.calls`` = calls checked by the audit).
        ignored_rows: rows of a DataFrame source outside the month (or undated); 0 for a lake.
        missing_dates: dates of the month without data; ``missing_reason`` says what that means.
        audit: ``audit_billing`` of the month with the default tolerances.
        overcharge_total: the sum of the positive ``overcharge`` values of ``audit``.
        previous: the month before, ``"YYYY-MM"``; ``previous_available``: one of its dates has data.
        previous_dates, previous_days: its dates with data, and its length in days.
        previous_calls, previous_cost: its totals (0 when not available).
        changes: per DID and per country, this month against the previous one (empty when not available).
        anomalies: ``kind, key, value, baseline, detail``, sorted by kind then key.
        today: the date the report took as today (missing dates after it are the future).
        generated_at: when the report was computed (UTC).
    """

    month: str
    first: dt.date
    last: dt.date
    source: str
    rows: int
    ignored_rows: int
    totals: pd.DataFrame
    by_did: pd.DataFrame
    by_country: pd.DataFrame
    by_day: pd.DataFrame
    by_call_type: pd.DataFrame
    by_end_reason: pd.DataFrame
    audit: pd.DataFrame
    overcharge_total: Decimal
    previous: str
    previous_available: bool
    previous_dates: int
    previous_days: int
    previous_calls: int
    previous_cost: Decimal
    changes: pd.DataFrame
    anomalies: pd.DataFrame
    missing_dates: list[dt.date] = field(default_factory=list)
    missing_reason: str = ""
    is_lake: bool = False
    today: dt.date = field(default_factory=dt.date.today)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def complete(self) -> bool:
        """True when every date of the month has data; a partial month must never pass for a whole one."""
        return not self.missing_dates

    @property
    def empty(self) -> bool:
        """True when no date of the month has data at all: the figures are not zeros, they are absent."""
        return len(self.missing_dates) == (self.last - self.first).days + 1

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def total_cost(self) -> Decimal:
        """The month's exact cost."""
        value: Decimal = self.totals["cost"].iloc[0]
        return value

    @property
    def flagged(self) -> int:
        """Calls the billing check flagged."""
        return len(self.audit)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name (``totals``, ``by_did``, ...), in the order the renderers write them."""
        return {name: getattr(self, name) for name in TABLES}

    def section_title(self, name: str) -> str:
        """``Billing check``, ``Compared with 2024-01``, ``Anomalies``."""
        return f"Compared with {self.previous}" if name == "changes" else SECTIONS[name]

    def __repr__(self) -> str:
        state = "no data" if self.empty else "complete" if self.complete else f"{len(self.missing_dates)} dates missing"
        return (
            f"Report(month={self.month!r}, rows={self.rows}, cost={self.total_cost}, {state}, "
            f"flagged={self.flagged}, anomalies={len(self.anomalies)})"
        )

    # -- words -----------------------------------------------------------------------

    def future_dates(self) -> list[dt.date]:
        """Missing dates after ``today``: nobody can sync them yet."""
        return [day for day in self.missing_dates if day > self.today]

    def missing_text(self) -> str:
        """One sentence naming the missing dates and what to do, or ``""`` for a complete month."""
        if self.complete:
            return ""
        future = self.future_dates()
        past = [day for day in self.missing_dates if day <= self.today]
        if self.empty and len(future) == self.days:
            return f"NO DATA: {self.month} is in the future (today is {self.today}); there are no calls to report yet."
        advice = "sync them (nxframe sync)" if self.is_lake else "fetch them"
        parts = []
        if past:
            parts.append(f"{len(past)} have {self.missing_reason}: {date_ranges(past)}; {advice}")
        if future:
            parts.append(f"{len(future)} are after today ({self.today}) and have no calls yet: {date_ranges(future)}")
        head = (
            f"NO DATA: no date of {self.month} has data in {self.source}; the figures below are not zeros, "
            "they are absent."
            if self.empty
            else f"INCOMPLETE MONTH: {len(self.missing_dates)} of {self.days} dates have no data."
        )
        tail = "" if self.empty else " The figures cover the other dates only."
        return f"{head} Of those dates, " + "; ".join(parts) + "." + tail

    def billing_line(self) -> str:
        """``31,245 calls checked, 12 off the rules, overcharge 3.210000 CNY``."""
        return billing_text(self.rows, self.flagged, self.overcharge_total)

    def comparison_line(self) -> str:
        """This month against the previous one, in one line (or ``no data for <previous>``)."""
        if not self.previous_available:
            return f"Compared with {self.previous}: no data for {self.previous}."
        change = self.total_cost - self.previous_cost
        pct = f" ({change / self.previous_cost * 100:+.1f}%)" if self.previous_cost else ""
        partial = (
            ""
            if self.previous_dates == self.previous_days
            else f"; only {self.previous_dates} of {self.previous_days} dates of {self.previous} had data"
        )
        return (
            f"Compared with {self.previous}: cost {decimal_text(self.previous_cost)} -> "
            f"{decimal_text(self.total_cost)} {CURRENCY}{pct}, calls {self.previous_calls:,} -> {self.rows:,}{partial}."
        )

    def anomaly_lines(self) -> list[str]:
        """One line per anomaly (``Anomalies: none found.`` when there are none)."""
        if self.anomalies.empty:
            return ["Anomalies: none found."]
        return anomaly_lines(self.anomalies)

    def summary_text(self) -> str:
        """A few lines for a terminal or a log: the figures, completeness, the checks, each anomaly."""
        totals = self.totals.iloc[0]
        calls, answered = int(totals["calls"]), int(totals["answered"])
        share = f" ({answered / calls:.1%})" if calls else ""
        ignored = f" ({self.ignored_rows:,} rows outside the month ignored)" if self.ignored_rows else ""
        lines = [f"Monthly DID call report {self.month} ({self.first} to {self.last}), from {self.source}"]
        if self.empty:
            lines.append(self.missing_text())
        lines += [
            f"Rows: {self.rows:,}{ignored}",
            f"Calls: {calls:,}, answered: {answered:,}{share}, duration: {int(totals['duration_seconds']):,} s",
            f"Billed minutes: {decimal_text(totals['billed_minutes'])}",
            f"Total cost: {decimal_text(totals['cost'])} {CURRENCY} (exact)",
        ]
        if not self.empty:
            lines.append(f"WARNING: {self.missing_text()}" if not self.complete else "Complete: every date has data.")
        lines += [f"Billing check: {self.billing_line()}", self.comparison_line(), *self.anomaly_lines()]
        return "\n".join(lines)

    def notes(self) -> list[tuple[str, str]]:
        """What a reader must know besides the numbers: period, source, completeness, definitions, rules."""
        notes = [
            ("month", self.month),
            ("period", f"{self.first} to {self.last} ({self.days} days)"),
            ("source", self.source),
            ("generated_at", timestamp(self.generated_at)),
            ("generated_by", f"nxframe {__version__}"),
            ("rows", str(self.rows)),
            ("rows_ignored_outside_month", str(self.ignored_rows)),
            ("complete", "yes" if self.complete else "NO"),
            ("missing_dates_count", str(len(self.missing_dates))),
        ]
        if not self.complete:
            notes.append(("warning", self.missing_text()))
        notes += [("missing_date", d.isoformat()) for d in self.missing_dates]
        notes += [
            ("currency", f"{CURRENCY} (the API's callPrice is in yuan)"),
            ("answered", "calls with call_duration > 0"),
            ("billed_minutes", "exact sum of fee_duration_minute"),
            ("cost", "exact sum of call_price"),
            (
                "avg_cost_per_minute",
                f"cost / billed_minutes, rounded to {AVERAGE_PLACES} places ROUND_HALF_UP; "
                "empty when there are no billed minutes",
            ),
            ("billing_check", self.billing_line()),
            (
                "billing_rules",
                "60+60: ceil(duration / 60) minutes; 1+1: duration / 60 minutes to 6 places half-up; "
                "cost: minutes x price per minute to 6 places half-up; tolerances 0.005 minutes and "
                "0.000001 + 0.005 x price per minute",
            ),
            ("comparison", self.comparison_line()),
            ("anomalies", str(len(self.anomalies))),
        ]
        return notes


def anomaly_lines(anomalies: pd.DataFrame) -> list[str]:
    """One line per row of an anomalies table."""
    lines = []
    for kind, key, value, _baseline, detail in anomalies.itertuples(index=False, name=None):
        if kind == "short_call_burst":
            lines.append(
                f"Anomaly short_call_burst: {key} made {int(value):,} incoming calls under {BURST_SECONDS} s "
                f"in the hour {detail} (wangiri pattern)"
            )
        else:
            lines.append(f"Anomaly {kind}: {key}: {detail}")
    return lines
