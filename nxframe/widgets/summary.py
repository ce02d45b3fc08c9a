"""The headline numbers of a call-record frame, from the one totals kernel (``nxframe.report.tables``).

Why not sum here: "answered" and the totals are computed in one place for
the report, the CLI's daily summary, the ``df.cdr`` accessor and this
summary, so the four can never disagree on a null rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from ..errors import InvalidInputError
from ..report.tables import totals
from ..schema import COLUMNS

__all__ = ["NEEDED_COLUMNS", "Summary", "check_frame", "summarize"]

#: Columns :func:`summarize` and the chart read; every frame from fetch_cdr/read_lake has them.
NEEDED_COLUMNS = tuple(
    c.name
    for c in COLUMNS
    if c.name
    in ("date", "id", "call_type", "country_name", "start_time", "call_duration", "fee_duration_minute", "call_price")
)
_MONEY = tuple(c.name for c in COLUMNS if c.kind == "decimal" and c.name in NEEDED_COLUMNS)


@dataclass(frozen=True)
class Summary:
    """The headline numbers of a call-record DataFrame, money exact.

    Attributes:
        rows: rows in the frame.
        calls: distinct calls, by ``(date, id)``; equals ``rows`` for a frame
            from fetch_cdr or read_lake, less if frames were concatenated twice.
        answered: calls that lasted at least a second (``call_duration > 0``;
            NA counts as not answered), as ``nxframe.report.tables.totals`` says.
        billed_minutes: sum of ``fee_duration_minute``, an exact ``Decimal``.
        total_cost: sum of ``call_price``, an exact ``Decimal``.
        first_date, last_date: the dates covered, ``None`` when there are no rows.
        dates: distinct dates with rows.
        did_numbers: distinct DID numbers.
    """

    rows: int
    calls: int
    answered: int
    billed_minutes: Decimal
    total_cost: Decimal
    first_date: dt.date | None
    last_date: dt.date | None
    dates: int
    did_numbers: int

    def __repr__(self) -> str:
        span = "no rows" if self.first_date is None else f"{self.first_date}..{self.last_date}"
        return (
            f"Summary(rows={self.rows}, calls={self.calls}, answered={self.answered}, "
            f"billed_minutes=Decimal('{self.billed_minutes}'), total_cost=Decimal('{self.total_cost}'), dates={span})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per figure, as text: every decimal digit shows, counts and money both with thousands separators."""
        if self.first_date is None:
            span = "none"
        elif self.first_date == self.last_date:
            span = str(self.first_date)
        else:
            span = f"{self.first_date} … {self.last_date} ({self.dates} with calls)"
        share = f" ({self.answered / self.calls:.1%})" if self.calls else ""
        values = {
            "dates": span,
            "rows": f"{self.rows:,}",
            "calls": f"{self.calls:,}",
            "answered": f"{self.answered:,}{share}",
            "DID numbers": f"{self.did_numbers:,}",
            "billed minutes": f"{self.billed_minutes:,}",
            "total cost": f"{self.total_cost:,}",
        }
        return pd.DataFrame({"value": list(values.values())}, index=pd.Index(list(values), name="summary"))

    def text(self) -> str:
        """The summary as plain lines, for a terminal or a log."""
        frame = self.to_frame()
        width = max(len(str(name)) for name in frame.index)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in zip(frame.index, frame["value"], strict=True))


def summarize(df: pd.DataFrame) -> Summary:
    """The :class:`Summary` of a DataFrame from ``fetch_cdr`` or ``read_lake``; sums are exact decimals.

    Raises:
        InvalidInputError: a needed column is missing, or money is not a decimal
            column (a float sum would not be exact).
    """
    check_frame(df)
    kernel = totals(df).iloc[0]
    dates = pd.to_datetime(df["date"].dropna())
    return Summary(
        rows=len(df),
        calls=len(df[["date", "id"]].drop_duplicates()),
        answered=int(kernel["answered"]),
        billed_minutes=_decimal(kernel["billed_minutes"]),
        total_cost=_decimal(kernel["cost"]),
        first_date=dates.min().date() if len(dates) else None,
        last_date=dates.max().date() if len(dates) else None,
        dates=int(dates.nunique()),
        did_numbers=int(df["did_number"].nunique()) if "did_number" in df.columns else 0,
    )


def check_frame(df: Any) -> None:
    """Refuse what is not a call-record frame before anything is drawn.

    Raises:
        InvalidInputError: not a DataFrame, a needed column missing, or money as floats.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"expected a DataFrame from nxframe.fetch_cdr or read_lake, not {type(df).__name__}")
    missing = [name for name in NEEDED_COLUMNS if name not in df.columns]
    if missing:
        raise InvalidInputError(
            f"the DataFrame lacks {', '.join(missing)}; pass a frame from nxframe.fetch_cdr or read_lake "
            "(all columns, or at least these)"
        )
    for name in _MONEY:
        dtype = df[name].dtype
        if not (isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype)):
            raise InvalidInputError(
                f"{name} is {dtype}, not an exact decimal: totals would be rounded. Keep the column as "
                "fetch_cdr returns it (decimal128) and convert to float only for a chart"
            )


def _decimal(value: Any) -> Decimal:
    """A kernel total as a ``Decimal`` (0 for an empty frame's NA)."""
    if value is None or value is pd.NA:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))
