"""Does streaming dates keep memory bounded by the concurrency, not by the range?

``client.iter_dates`` over 60 dates of 100 000 rows each (101 pages a day,
documented shape), each date's table dropped as soon as it is counted, as a
loader would; against the same loop over one date. Each runs in a fresh
process and reports its peak RSS (``VmHWM``). The pages come from a bare
server in another process that answers page N of any date with body N of the
cached documented-shape day, so 60 dates cost no generation.

Target: the 60-date peak at most 2x the one-date peak (the stream holds at
most ``concurrency`` dates ahead of the one the loop holds).

Before any figure: every date had all its rows, and the money summed over
the range is the one-date sum times the number of dates, exactly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from typing import Any

from common import DOCUMENTED_DATE, Measure, mib, page_cache_path, peak_rss, render
from mixed import serve

QUESTION = "stream"
DAYS = 60
TARGET = 2.0
CONCURRENCY = 4


def child(base_url: str, days: int) -> dict[str, Any]:
    """Stream ``days`` dates through ``iter_dates`` in this process; report rows, money and peak RSS."""
    import pyarrow.compute as pc

    import nxframe
    from nxframe.simulator import Simulator

    rows = 0
    money = Decimal(0)
    dates = []
    key, secret = Simulator.DEFAULT_ACCESS_KEY, Simulator.DEFAULT_ACCESS_SECRET
    with nxframe.Client(key, secret, base_url=base_url, concurrency=CONCURRENCY) as client:
        end = DOCUMENTED_DATE + dt.timedelta(days=days - 1)
        for date, table in client.iter_dates(DOCUMENTED_DATE, end):
            dates.append(date.isoformat())
            rows += table.num_rows
            money += pc.sum(table.column("call_price")).as_py()
            del table  # a loader hands the date on and lets it go
    return {"dates": dates, "rows": rows, "money": str(money), "peak_rss": peak_rss()}


def measure(base_url: str, days: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(days), "--url", base_url], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"stream: the {days}-date process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(quick: bool = False) -> list[Measure]:
    rows, days = (20_000, 12) if quick else (100_000, DAYS)
    with serve(page_cache_path(rows, quirks=False, date=DOCUMENTED_DATE)) as base_url:
        one = measure(base_url, 1)
        many = measure(base_url, days)
    expected_dates = [(DOCUMENTED_DATE + dt.timedelta(days=n)).isoformat() for n in range(days)]
    if (one["rows"], many["rows"], many["dates"]) != (rows, rows * days, expected_dates) or Decimal(
        many["money"]
    ) != Decimal(one["money"]) * days:
        raise SystemExit(f"stream: the dates did not all arrive whole and in order: {one} vs {many}")
    print(f"  stream: {days} dates x {rows} rows in date order, money exact", file=sys.stderr)
    ratio = many["peak_rss"] / one["peak_rss"]
    return [
        Measure(
            QUESTION,
            f"iter_dates, {days} dates x {rows} rows, concurrency {CONCURRENCY}: peak RSS vs one date",
            mib(many["peak_rss"]),
            mib(one["peak_rss"]),
            ratio,
            f"<= {TARGET:g}x",
            ratio <= TARGET,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 dates x 20 000 rows")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.url, args.child)))
        return
    print(render(run(args.quick)))


if __name__ == "__main__":
    main()
