"""The billing check and the anomalies as public functions: ``audit_billing`` and ``check_lines``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow.compute as pc

from .anomalies import anomalies
from .audit import AUDIT_NEEDS, audit_table, to_audit_frame, tolerance
from .build import DEFAULT_MINUTES, DEFAULT_PRICE, overcharge_total
from .model import anomaly_lines
from .sources import Source, dates_of, read_span
from .words import billing_text

__all__ = ["audit_billing", "check_lines"]


def audit_billing(
    source: Source,
    start: Any = None,
    end: Any = None,
    *,
    minutes_tolerance: str | Decimal = "0.005",
    price_tolerance: str | Decimal = "0.000001",
    storage_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """The calls billed against the documented fee rules (``docs/nxcloud-api.md``), one row per flagged call.

    Rules: 60+60 bills ``ceil(call_duration / 60)`` minutes; 1+1 bills
    ``call_duration / 60`` minutes to 6 places half-up; the cost is minutes x
    ``call_price_unit`` to 6 places half-up; a 0-second call bills 0 and costs 0.

    Args:
        source: a DataFrame from ``fetch_cdr``/``read_lake``, or a lake path / URL / ``Lake``.
        start, end: the dates to check, inclusive (``None``: all of the source's dates).
        minutes_tolerance: ``|fee_duration_minute - expected| >`` this flags ``minutes``
            (the default forgives a server that rounds 1+1 minutes to 2-6 places).
        price_tolerance: ``|call_price - expected| > price_tolerance + minutes_tolerance x
            call_price_unit`` flags ``price``.
        storage_options: for a lake source, passed to fsspec as given; default: the environment.

    Returns:
        Columns ``date, id, did_number, fee_type, call_duration,
        fee_duration_minute, expected_minutes, call_price_unit, call_price,
        expected_price, overcharge, issue`` (money and minutes
        ``decimal128(18, 6)[pyarrow]``; ``overcharge = call_price -
        expected_price``, negative when undercharged; ``issue`` is ``minutes``,
        ``price``, ``minutes+price``, ``unknown_fee_type`` or
        ``missing_values``), in date, id order; no rows when every call follows the rules.

    Raises:
        InvalidInputError: a tolerance that is a float or not a non-negative
            decimal, bad dates, a source that is neither a frame nor an existing lake.
        LakeError: a partition in the span is unreadable.
    """
    minutes = tolerance(minutes_tolerance, "minutes_tolerance")
    price = tolerance(price_tolerance, "price_tolerance")
    first, last = dates_of(start, end)
    span = read_span(source, first, last, AUDIT_NEEDS, storage_options=storage_options)
    return to_audit_frame(audit_table(span.table, minutes, price))


def check_lines(frame: pd.DataFrame) -> list[str]:
    """The billing-check line, then one line per anomaly within the frame's own dates (for widgets).

    Only the anomalies a set of dates shows on its own: cost spike days (the
    median over the frame's dates) and short-call bursts; a comparison needs
    the month before, which the monthly report reads.

    Raises:
        InvalidInputError: ``frame`` lacks the needed columns or holds money as floats.
    """
    span = read_span(frame, None, None)
    audit = to_audit_frame(audit_table(span.table, DEFAULT_MINUTES, DEFAULT_PRICE))
    lines = [billing_text(span.table.num_rows, len(audit), overcharge_total(audit))]
    dates = set(pc.unique(span.table["date"]).drop_null().to_pylist())
    return lines + anomaly_lines(anomalies(span.table, dates))
