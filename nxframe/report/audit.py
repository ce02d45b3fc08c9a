"""The billing check: every call recomputed by the documented fee rules, in exact decimals.

The rules (``docs/nxcloud-api.md``: feeType 0 is "60+60", 1 is "1+1"; the
README's "The monthly report"):

- 60+60 bills every started minute: expected minutes = ceil(call_duration / 60);
- 1+1 bills per second: expected minutes = call_duration / 60, 6 places half-up;
- expected cost = expected minutes x call_price_unit, 6 places half-up;
- a call of 0 seconds bills 0 minutes and costs 0 (it falls out of the above).

A call is flagged ``minutes`` when ``|fee_duration_minute - expected| >
minutes_tolerance``, ``price`` when ``|call_price - expected cost| >
price_tolerance + minutes_tolerance x call_price_unit``, both as
``minutes+price``; ``unknown_fee_type`` for a fee type the docs do not define;
``missing_values`` when a value the rules read is null.

Everything is vectorised Arrow on integers and ``decimal128``: minutes in
millionths as integer arithmetic (1+1: ``duration x 10^6 / 60 = duration x
50000 / 3``, whose remainder is never a tie), cost as an exact decimal product
(decimal128(37, 12)) rounded once with ``half_towards_infinity``, which is
Python's ROUND_HALF_UP (ties away from zero). No float on the way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError
from ..schema import DECIMAL, column
from .tables import arrow_columns, to_pandas

__all__ = ["AUDIT_COLUMNS", "AUDIT_NEEDS", "ISSUES", "audit_frame", "audit_table", "tolerance"]

#: The frame columns the check reads.
AUDIT_NEEDS = (
    "date",
    "id",
    "did_number",
    "fee_type",
    "call_duration",
    "fee_duration_minute",
    "call_price_unit",
    "call_price",
)
#: The columns of ``audit_billing``'s answer, in order.
AUDIT_COLUMNS = (
    "date",
    "id",
    "did_number",
    "fee_type",
    "call_duration",
    "fee_duration_minute",
    "expected_minutes",
    "call_price_unit",
    "call_price",
    "expected_price",
    "overcharge",
    "issue",
)
ISSUES = ("minutes", "price", "minutes+price", "unknown_fee_type", "missing_values")
_FEE_TYPES = column("fee_type").labels  # ("60+60", "1+1")
_MICRO = pa.scalar(Decimal("0.000001"), pa.decimal128(7, 6))
_LIMIT = Decimal("999999999999.999999")  # the largest decimal128(18, 6)
_HALF_UP = "half_towards_infinity"  # ties away from zero, as Decimal's ROUND_HALF_UP


def tolerance(value: Any, name: str) -> Decimal:
    """A tolerance as an exact, finite, non-negative Decimal.

    Raises:
        InvalidInputError: a float (binary, so never the decimal the user
            meant), a bool, text that is not a decimal, NaN, infinity or a negative.
    """
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        raise InvalidInputError(
            f"{name} must be a decimal string such as '0.005' or a Decimal, not {type(value).__name__} {value!r}"
        )
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidInputError(f"{name} must be a decimal string such as '0.005', not {value!r}") from None
    if not number.is_finite() or number < 0 or number > _LIMIT:
        raise InvalidInputError(f"{name} must be a finite decimal between 0 and {_LIMIT}, not {value!r}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -18:
        raise InvalidInputError(f"{name} has more than 18 decimal places: {value!r}")
    return number


def _scalar(value: Decimal) -> pa.Scalar:
    exponent = value.as_tuple().exponent
    scale = max(6, -exponent if isinstance(exponent, int) else 0)
    whole = max(1, value.adjusted() + 1)  # digits before the point; the narrowest type keeps products in 38
    return pa.scalar(value, pa.decimal128(whole + scale, scale))


def _expected_minutes(duration: pa.ChunkedArray, fee_type: pa.ChunkedArray) -> pa.ChunkedArray:
    """Expected billed minutes as decimal128(18, 6); null for an unknown fee type or a null input."""
    # 60+60: ceil(d / 60). Arrow's integer divide truncates towards zero, which is the ceiling for d < 0.
    positive = pc.greater_equal(duration, 0)
    started = pc.if_else(positive, pc.divide(pc.add(duration, 59), 60), pc.divide(duration, 60))
    per_minute = started.cast(pa.decimal128(19, 0))
    # 1+1: d x 10^6 / 60 millionths, half-up: (|d| x 100000 + 3) // 6 keeps the sign aside.
    magnitude = pc.divide(pc.add(pc.multiply(pc.abs(duration), 100_000), 3), 6)
    micro = pc.if_else(positive, magnitude, pc.negate(magnitude))
    per_second = pc.multiply(micro.cast(pa.decimal128(19, 0)), _MICRO)
    minutes = pc.if_else(
        pc.equal(fee_type, _FEE_TYPES[0]),
        per_minute.cast(pa.decimal128(26, 6)),
        pc.if_else(pc.equal(fee_type, _FEE_TYPES[1]), per_second.cast(pa.decimal128(26, 6)), None),
    )
    return _fit(minutes)


def _fit(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Values that fit decimal128(18, 6) as that type; a value that does not (absurd input) becomes null."""
    fits = pc.less_equal(pc.abs(values), pa.scalar(_LIMIT, pa.decimal128(18, 6)))
    return pc.if_else(fits, values, None).cast(DECIMAL)


def audit_table(table: pa.Table, minutes_tolerance: Decimal, price_tolerance: Decimal) -> pa.Table:
    """The flagged rows of ``table`` (the :data:`AUDIT_NEEDS` columns), :data:`AUDIT_COLUMNS`, date/id order."""
    duration, fee_type = table["call_duration"], table["fee_type"]
    billed, unit, price = table["fee_duration_minute"], table["call_price_unit"], table["call_price"]
    expected_minutes = _expected_minutes(duration, fee_type)
    cost = pc.round(pc.multiply(expected_minutes, unit), 6, round_mode=_HALF_UP)
    expected_price = _fit(cost)
    overcharge = _fit(pc.subtract(price, expected_price))

    missing = pc.is_null(duration)
    for values in (fee_type, billed, unit, price):
        missing = pc.or_(missing, pc.is_null(values))
    unknown = pc.and_(pc.invert(missing), pc.invert(pc.is_in(fee_type, pa.array(_FEE_TYPES))))
    minute_tol, price_tol = _scalar(minutes_tolerance), _scalar(price_tolerance)
    minutes_off = pc.fill_null(pc.greater(pc.abs(pc.subtract(billed, expected_minutes)), minute_tol), False)
    allowed = pc.add(price_tol, pc.multiply(minute_tol, pc.abs(unit)))
    price_off = pc.fill_null(pc.greater(pc.abs(pc.subtract(price, expected_price)), allowed), False)
    # An unfittable expected value (null) on a known fee type with every input present: flag it, it is not billable.
    absurd = pc.and_(
        pc.invert(pc.or_(missing, unknown)), pc.or_(pc.is_null(expected_minutes), pc.is_null(expected_price))
    )
    price_off = pc.or_(price_off, absurd)

    issue = pc.case_when(
        pc.make_struct(missing, unknown, pc.and_(minutes_off, price_off), minutes_off, price_off),
        "missing_values",
        "unknown_fee_type",
        "minutes+price",
        "minutes",
        "price",
    )
    result = pa.table(
        {
            "date": table["date"],
            "id": table["id"],
            "did_number": table["did_number"],
            "fee_type": fee_type,
            "call_duration": duration,
            "fee_duration_minute": billed,
            "expected_minutes": expected_minutes,
            "call_price_unit": unit,
            "call_price": price,
            "expected_price": expected_price,
            "overcharge": overcharge,
            "issue": issue,
        }
    )
    flagged = result.filter(pc.is_valid(issue))
    return flagged.sort_by([("date", "ascending"), ("id", "ascending")])


def audit_frame(frame: pd.DataFrame, minutes_tolerance: Decimal, price_tolerance: Decimal) -> pd.DataFrame:
    """``audit_table`` of a frame, as the DataFrame ``audit_billing`` returns (see :data:`AUDIT_COLUMNS`)."""
    table = arrow_columns(frame, AUDIT_NEEDS)
    return to_audit_frame(audit_table(table, minutes_tolerance, price_tolerance))


def to_audit_frame(flagged: pa.Table) -> pd.DataFrame:
    """The flagged rows with the frame's dtypes: ``datetime64[s]`` date, categorical fee type, Arrow decimals."""
    dates = flagged["date"]
    if pa.types.is_date(dates.type):
        flagged = flagged.set_column(0, "date", dates.cast(pa.timestamp("s")))
    result = to_pandas(flagged)
    labels = list(_FEE_TYPES)
    others = sorted({v for v in flagged["fee_type"].to_pylist() if v is not None and v not in labels})
    result["fee_type"] = pd.Categorical(flagged["fee_type"].to_pylist(), categories=labels + others)
    return result
