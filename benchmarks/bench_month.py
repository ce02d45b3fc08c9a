"""How fast does a month come back out of the lake, against bare pyarrow?

31 days x 30 000 rows (930 000 rows) synced from the simulator (no latency,
documented shape) into a lake with ``sync_lake``, then ``read_lake`` (the
DataFrame schema: categoricals, ``date`` first, timestamps in seconds)
against ``pyarrow.dataset(lake).to_table().to_pandas(types_mapper=pd.ArrowDtype)``,
the least a reader can do. The synced lake is cached between runs (the
generator needs about 20 s for the month); its key covers the simulator,
schema and lake code, so a change to them rebuilds it.

Before any figure: both reads hold the same rows, ids and exact money sums.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pa_ds
from common import CACHE, SEED, Measure, interleaved, rate, render, simulator, source_key

import nxframe
from nxframe.simulator import Simulator

QUESTION = "month"
START = dt.date(2024, 3, 1)
DAYS = 31
TARGET_RATE = 3_000_000
TARGET_RATIO = 1.5


def month_lake(rows_per_day: int) -> Path:
    """The month's lake, synced once and then reused."""
    key = source_key("simulator/data.py", "schema.py", "lake")
    lake = CACHE / f"lake-s{SEED}-{DAYS}x{rows_per_day}-{key}"
    if (lake / "_complete").exists():
        return lake
    shutil.rmtree(lake, ignore_errors=True)
    end = START + dt.timedelta(days=DAYS - 1)
    started = time.perf_counter()
    with simulator(seed=SEED, rows_per_day=rows_per_day, quirks=False) as base_url:
        client = nxframe.Client(
            Simulator.DEFAULT_ACCESS_KEY, Simulator.DEFAULT_ACCESS_SECRET, base_url=base_url, concurrency=8
        )
        with client:
            report = nxframe.sync_lake(lake, START, end, client=client, progress=False)
    failed = report[report["action"] == "failed"]
    if len(failed):
        raise SystemExit(f"month: sync_lake failed for {len(failed)} dates:\n{failed}")
    print(f"  month: synced {DAYS} x {rows_per_day} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    (lake / "_complete").touch()  # readers skip names starting with "_"
    return lake


def bare(lake: Path) -> pd.DataFrame:
    return pa_ds.dataset(lake, format="parquet", partitioning="hive").to_table().to_pandas(types_mapper=pd.ArrowDtype)


def check(ours: pd.DataFrame, theirs: pd.DataFrame, rows: int) -> None:
    if len(ours) != rows or len(theirs) != rows:
        raise SystemExit(f"month: read_lake gave {len(ours)} rows, pyarrow {len(theirs)}, expected {rows}")
    theirs = theirs.sort_values(["date", "id"], kind="stable", ignore_index=True)
    ours_sorted = ours.sort_values(["date", "id"], kind="stable", ignore_index=True)
    if not ours_sorted["id"].equals(theirs["id"]) or not ours["id"].is_unique:
        raise SystemExit("month: read_lake and pyarrow disagree on the ids")
    for name in ("fee_duration_minute", "call_price_unit", "call_price"):
        if ours[name].sum() != theirs[name].sum():
            raise SystemExit(f"month: the exact sums of {name} differ")
        if not ours_sorted[name].equals(theirs[name]):
            raise SystemExit(f"month: {name} differs between read_lake and pyarrow")


def run(quick: bool = False) -> list[Measure]:
    rows_per_day = 3_000 if quick else 30_000
    repeats = 3 if quick else 7
    lake = month_lake(rows_per_day)
    rows = DAYS * rows_per_day
    check(nxframe.read_lake(lake), bare(lake), rows)
    print(f"  month: {rows} rows read back, same ids and exact sums in both readers", file=sys.stderr)
    seconds = interleaved({"read_lake": lambda: nxframe.read_lake(lake), "bare": lambda: bare(lake)}, repeats)
    ours, theirs = seconds["read_lake"], seconds["bare"]
    label = f"{DAYS} days x {rows_per_day} rows from the lake"
    return [
        Measure(
            QUESTION,
            f"{label}: read_lake rows/s",
            rate(rows, ours),
            rate(rows, theirs),
            None,
            f">= {TARGET_RATE / 1e6:g}M rows/s",
            rows / ours >= TARGET_RATE,
        ),
        Measure(
            QUESTION,
            f"{label}: read_lake time / pyarrow.dataset->to_pandas time",
            f"{ours * 1000:.0f} ms",
            f"{theirs * 1000:.0f} ms",
            ours / theirs,
            f"<= {TARGET_RATIO:g}x",
            ours / theirs <= TARGET_RATIO,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="31 x 3 000 rows")
    print(render(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
