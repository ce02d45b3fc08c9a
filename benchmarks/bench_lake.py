"""Does a month read from a ten-year lake as fast as from a lake of one month?

Two lakes hold the same month (March 2024, 31 dates x 1 000 rows): one holds
only that month, the other ten years around it (3,650 dates). ``read_lake``
of the month from each, interleaved; the ratio is long / short, and the
target is that the nine other years cost next to nothing (the lake is listed
once, by the month's prefix, and only the month's files are opened). Then the
same on S3: both lakes on a SeaweedFS server (``weed mini``, the one the
tests use) on 127.0.0.1.

Before any figure: the two reads give equal frames.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
from common import CACHE, ROOT, Measure, interleaved, render, source_key

import nxframe
from nxframe.lake import Lake
from nxframe.lake.footer import encode_partition
from nxframe.query import CdrQuery
from nxframe.simulator import Simulator

QUESTION = "lake"
MONTH = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
ROWS = 1_000
TARGET_RATIO = 1.5


def _day() -> pa.Table:
    with Simulator(seed=1, rows_per_day=ROWS) as sim:
        return sim.client().fetch_arrow(MONTH[0], progress=False)


def _dates(years: int) -> list[dt.date]:
    """``years`` x 365 dates with March 2024 in the middle, or (``years=0``) just the month."""
    if years == 0:
        return [MONTH[0] + dt.timedelta(days=n) for n in range((MONTH[1] - MONTH[0]).days + 1)]
    first = MONTH[0] - dt.timedelta(days=years * 365 // 2)
    return [first + dt.timedelta(days=n) for n in range(years * 365)]


def _write(lake: Lake, dates: list[dt.date], table: pa.Table) -> None:
    """Every date's partition holds the same rows (its own date in the footer), written 8 at a time."""
    query = CdrQuery.build(MONTH[0], MONTH[0]).filters()
    lake.storage.write("_nxframe_lake.json", json.dumps({"format": "nxframe-lake/1", "query": query}).encode())

    def one(date: dt.date) -> None:
        lake.storage.write(f"date={date}/part-0.parquet", encode_partition(date, table, query, None))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, dates))


def local_lakes(years: int, table: pa.Table) -> tuple[Path, Path]:
    """The one-month lake and the long one, built once and then reused (keyed on the lake's code)."""
    key = source_key("lake", "schema.py")
    made = []
    for span in (0, years):
        lake = CACHE / f"lake-{span}y-{ROWS}-{key}"
        if not (lake / "_complete").exists():
            shutil.rmtree(lake, ignore_errors=True)
            started = time.perf_counter()
            _write(Lake(lake), _dates(span), table)
            (lake / "_complete").touch()
            print(f"  lake: wrote {len(_dates(span))} dates in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        made.append(lake)
    return made[0], made[1]


def _compare(
    short: str, long: str, *, dates: int, repeats: int, where: str, options: dict[str, object] | None
) -> Measure:
    def month(lake: str) -> pd.DataFrame:
        return nxframe.read_lake(lake, *MONTH, storage_options=options)

    pd.testing.assert_frame_equal(month(short), month(long))
    seconds = interleaved({"long": lambda: month(long), "short": lambda: month(short)}, repeats)
    ratio = seconds["long"] / seconds["short"]
    return Measure(
        QUESTION,
        f"{where}: read_lake of a month, {dates:,}-date lake / 31-date lake",
        f"{seconds['long'] * 1000:.0f} ms",
        f"{seconds['short'] * 1000:.0f} ms",
        ratio,
        f"<= {TARGET_RATIO:g}x",
        ratio <= TARGET_RATIO,
    )


def on_s3(years: int, table: pa.Table, repeats: int) -> Measure:
    sys.path.insert(0, str(ROOT / "tests"))
    from s3server import BUCKET, Weed

    server = Weed().start()
    try:
        options = server.options() | {"client_kwargs": {"region_name": "us-east-1"}}
        lakes = [f"s3://{BUCKET}/bench-{span}y" for span in (0, years)]
        for lake, span in zip(lakes, (0, years), strict=True):
            started = time.perf_counter()
            _write(Lake(lake, storage_options=options), _dates(span), table)
            took = time.perf_counter() - started
            print(f"  lake: put {len(_dates(span))} dates on S3 in {took:.1f} s", file=sys.stderr)
        where = "S3 (SeaweedFS)"
        return _compare(lakes[0], lakes[1], dates=years * 365, repeats=repeats, where=where, options=options)
    finally:
        server.stop()


def run(quick: bool = False) -> list[Measure]:
    years = 2 if quick else 10
    repeats = 3 if quick else 7
    table = _day()
    short, long = local_lakes(years, table)
    local = _compare(str(short), str(long), dates=years * 365, repeats=repeats, where="local disk", options=None)
    measures = [local]
    measures.append(on_s3(years, table, repeats))
    return measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a two-year lake")
    print(render(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
