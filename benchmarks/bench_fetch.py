"""How fast does a whole day arrive over HTTP, against the naive sequential client?

A 100 000-row day (101 pages of up to 999 rows) from the simulator with
20 ms of latency per request, documented shape (``quirks=False``). The
simulator runs in its own process, as a real API would. nxframe's
``fetch_cdr`` at concurrency 1, 4 and 8 against the naive client, which
signs every request too (``nxframe.signing.sign``) and fetches page after
page.

Then the untidy day of ``benchmarks/untidy.py`` (100 000 rows as a careless
server writes them: every record in its own key order, escaped non-ASCII
names, money as number text or strings, phone numbers as numbers,
undocumented fields, empty/null/missing end times) from a bare server in
its own process that only sends the bytes: no latency at concurrency 4, and
20 ms at concurrency 8, against the naive sequential client on the same
server; medians of five interleaved runs, with the lowest and highest of
the five ratios.

Before any figure: nxframe and the naive client return the same DataFrame,
and its money equals the JSON text the server sent, digit for digit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import statistics
import sys
from collections.abc import Callable

import pandas as pd
from common import (
    DOCUMENTED_DATE,
    SEED,
    Measure,
    check_exact,
    check_same,
    day_pages,
    interleaved,
    interleaved_times,
    rate,
    ratio_spread,
    render,
    simulator,
)
from mixed import serve
from naive import naive_fetch
from untidy import UNTIDY_DATE, untidy_pages, untidy_pages_path

import nxframe
from nxframe.simulator import Simulator

QUESTION = "fetch"
LATENCY = 0.02
CONCURRENCY = (1, 4, 8)
TARGET = 6.0  # at concurrency 8
#: (latency, concurrency, target) for the untidy day
UNTIDY_RUNS = ((0.0, 4, 3.0), (LATENCY, 8, 6.0))
#: Runs of each client, interleaved; the median is reported. One fetch on a shared 2-core machine varies by
#: about 10% from run to run (the server process shares the cores), so three were not enough to settle it.
REPEATS = 5


def fetch(base_url: str, concurrency: int, date: dt.date = DOCUMENTED_DATE) -> pd.DataFrame:
    with nxframe.Client(
        Simulator.DEFAULT_ACCESS_KEY, Simulator.DEFAULT_ACCESS_SECRET, base_url=base_url, concurrency=concurrency
    ) as client:
        return client.fetch_cdr(date, progress=False)


def run_untidy(quick: bool) -> list[Measure]:
    rows = 20_000 if quick else 100_000
    repeats = 1 if quick else REPEATS
    key, secret = Simulator.DEFAULT_ACCESS_KEY, Simulator.DEFAULT_ACCESS_SECRET
    path = untidy_pages_path(rows)
    measures = []
    for latency, concurrency, target in UNTIDY_RUNS:
        with serve(path, latency) as base_url:
            frame = fetch(base_url, concurrency, UNTIDY_DATE)
            naive, pages = naive_fetch(base_url, key, secret, UNTIDY_DATE)
            check_same(frame, naive, "fetch untidy shape")
            check_exact(frame, untidy_pages(rows), "fetch untidy shape")
            print(f"  fetch untidy shape: {len(frame)} rows in {pages} pages checked equal and exact", file=sys.stderr)
            times = interleaved_times(
                {
                    "naive": lambda: naive_fetch(base_url, key, secret, UNTIDY_DATE),
                    "nxframe": lambda: fetch(base_url, concurrency, UNTIDY_DATE),  # noqa: B023 - run in this loop
                },
                repeats,
            )
        ratio, low, high = ratio_spread(times["naive"], times["nxframe"])
        nx, base = statistics.median(times["nxframe"]), statistics.median(times["naive"])
        measures.append(
            Measure(
                QUESTION,
                f"untidy shape, {rows} rows, {pages} pages, {latency * 1000:g} ms latency; "
                f"concurrency {concurrency} vs naive sequential (ratio range {low:.2f}-{high:.2f}x)",
                f"{nx:.2f} s ({rate(rows, nx)})",
                f"{base:.2f} s ({rate(rows, base)})",
                ratio,
                f">= {target:g}x",
                ratio >= target,
            )
        )
    return measures


def run(quick: bool = False) -> list[Measure]:
    rows = 20_000 if quick else 100_000
    repeats = 1 if quick else REPEATS
    key, secret = Simulator.DEFAULT_ACCESS_KEY, Simulator.DEFAULT_ACCESS_SECRET
    with simulator(seed=SEED, rows_per_day=rows, quirks=False, latency=LATENCY) as base_url:
        frame = fetch(base_url, 8)  # also warms the server's page cache: generating the day is not timed
        naive, pages = naive_fetch(base_url, key, secret, DOCUMENTED_DATE)
        check_same(frame, naive, "fetch")
        check_exact(frame, day_pages(rows, quirks=False, date=DOCUMENTED_DATE, seed=SEED), "fetch")
        print(f"  fetch: {len(frame)} rows in {pages} pages checked equal and exact", file=sys.stderr)
        runs: dict[str, Callable[[], object]] = {"naive": lambda: naive_fetch(base_url, key, secret, DOCUMENTED_DATE)}
        runs.update({f"c{n}": functools.partial(fetch, base_url, n) for n in CONCURRENCY})
        seconds = interleaved(runs, repeats)
    baseline = f"{seconds['naive']:.2f} s ({rate(rows, seconds['naive'])})"
    measures = []
    for n in CONCURRENCY:
        ratio = seconds["naive"] / seconds[f"c{n}"]
        measures.append(
            Measure(
                QUESTION,
                f"{rows} rows, {pages} pages, {LATENCY * 1000:g} ms latency; concurrency {n} vs naive sequential",
                f"{seconds[f'c{n}']:.2f} s ({rate(rows, seconds[f'c{n}'])})",
                baseline,
                ratio,
                f">= {TARGET:g}x" if n == 8 else "",
                ratio >= TARGET if n == 8 else None,
            )
        )
    return measures + run_untidy(quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 000 rows, 1 repeat")
    parser.add_argument("--untidy", action="store_true", help="only the untidy day")
    args = parser.parse_args()
    print(render(run_untidy(args.quick) if args.untidy else run(args.quick)))


if __name__ == "__main__":
    main()
