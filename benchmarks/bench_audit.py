"""How fast is the billing audit of a million calls, against a straightforward exact Python loop?

The documented-shape day of 1 000 000 rows (the decode benchmark's day) as
nxframe's DataFrame, with the price of every 97th call raised by 0.01 so
that there is something to find. ``nxframe.audit_billing(frame)`` against
a loop over the rows with ``Decimal`` that applies the same documented
rules (60+60: whole started minutes; 1+1: seconds / 60 to 6 places
half-up; cost = minutes x unit price to 6 places half-up).

Before any figure: both flag the same call ids.
"""

from __future__ import annotations

import argparse
import math
import sys
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from bench_decode import documented_rows
from common import DOCUMENTED_DATE, Measure, day_pages, interleaved, nxframe_frame, rate, render

import nxframe
from nxframe.decode import decode_pages

QUESTION = "audit"
SIX = Decimal("0.000001")
MINUTES_TOLERANCE = Decimal("0.005")
PRICE_TOLERANCE = Decimal("0.000001")


def month_frame(rows: int) -> pd.DataFrame:
    """The day's frame with every 97th price raised by 0.01."""
    bodies = day_pages(rows, quirks=False, date=DOCUMENTED_DATE)
    frame = nxframe_frame(DOCUMENTED_DATE, decode_pages(bodies))
    price = pa.array(frame["call_price"].array)
    bump = pa.array([i % 97 == 0 for i in range(len(frame))])
    raised = pc.if_else(bump, pc.add_checked(price, pa.scalar(Decimal("0.01"), price.type)), price)
    frame["call_price"] = pd.Series(raised.cast(price.type), dtype=frame["call_price"].dtype, index=frame.index)
    return frame


def naive_audit(frame: pd.DataFrame) -> set[int]:
    """The ids a plain Decimal loop finds off the rules."""
    flagged = set()
    columns = zip(
        frame["id"].tolist(),
        frame["fee_type"].tolist(),
        frame["call_duration"].tolist(),
        frame["fee_duration_minute"].tolist(),
        frame["call_price_unit"].tolist(),
        frame["call_price"].tolist(),
        strict=True,
    )
    for call_id, fee_type, duration, minutes, unit, price in columns:
        if fee_type == "60+60":
            expected = Decimal(math.ceil(duration / 60))
        else:
            expected = (Decimal(duration) / 60).quantize(SIX, ROUND_HALF_UP)
        expected_price = (expected * unit).quantize(SIX, ROUND_HALF_UP)
        if abs(minutes - expected) > MINUTES_TOLERANCE or abs(price - expected_price) > (
            PRICE_TOLERANCE + MINUTES_TOLERANCE * unit
        ):
            flagged.add(call_id)
    return flagged


def run(quick: bool = False) -> list[Measure]:
    rows = documented_rows(quick)
    frame = month_frame(rows)
    ours = set(nxframe.audit_billing(frame)["id"].tolist())
    theirs = naive_audit(frame)
    if ours != theirs or not ours:
        raise SystemExit(f"audit: audit_billing flags {len(ours)} calls, the Decimal loop {len(theirs)}; no figures")
    print(f"  audit: {rows} calls, both flag the same {len(ours)} ids", file=sys.stderr)
    seconds = interleaved(
        {"nxframe": lambda: nxframe.audit_billing(frame), "naive": lambda: naive_audit(frame)}, 1 if quick else 3
    )
    return [
        Measure(
            QUESTION,
            f"{rows} calls: audit_billing vs a Decimal loop over the rows",
            rate(rows, seconds["nxframe"]),
            rate(rows, seconds["naive"]),
            seconds["naive"] / seconds["nxframe"],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 000 calls")
    print(render(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
