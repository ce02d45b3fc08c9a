"""How fast do page bytes become the typed DataFrame, against the naive exact client?

Input: 100 pages of 999 rows; once a day of the documented shape, as the
simulator serves it (``CallGenerator(seed, quirks=False)``), and once a
mixed-shape day written by ``benchmarks/mixed.py`` (every page carries every
deviation: numbers as strings, phone numbers as numbers, undocumented and
nested fields, codes as strings, any key order, 16-digit money; every tenth
page pretty-printed).

Paths measured:
- single page: ``decode_page`` on each page (what the fetch workers do), then ``to_frame``;
- batched: ``decode_pages`` on all pages in one ``pyarrow.json`` call, one thread / several threads;
- exact reference (mixed day only): ``nxframe.decode.exact.decode_page`` on each page, for scale.

Before any figure: every path returns the same DataFrame as the naive
client, and every money cell equals its JSON text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

import pandas as pd
from common import (
    DOCUMENTED_DATE,
    PAGE_SIZE,
    Measure,
    check_exact,
    check_same,
    day_pages,
    interleaved,
    nxframe_frame,
    rate,
    render,
)
from mixed import MIXED_DATE, mixed_pages
from naive import naive_frame

from nxframe.decode import decode_page, decode_pages, exact

QUESTION = "decode"
SINGLE_TARGET = 3.0
BATCHED_TARGET = 4.0
#: The documented shape before the mixed-shape work (same machine, median of 5): single 5.05x, threads 10.09x.
MIXED_TARGET = 4.0


def documented_rows(quick: bool) -> int:
    """The documented-shape day the decode and memory benchmarks share (1M rows; 100k when quick)."""
    return 100_000 if quick else 1_000_000


def paths(date: dt.date, bodies: list[bytes], *, reference: bool) -> dict[str, Callable[[], pd.DataFrame]]:
    runs: dict[str, Callable[[], pd.DataFrame]] = {
        "naive": lambda: naive_frame(bodies, date),
        "single": lambda: nxframe_frame(date, [decode_page(b, page_number=i + 1) for i, b in enumerate(bodies)]),
        "batched": lambda: nxframe_frame(date, decode_pages(bodies, use_threads=False)),
        "threaded": lambda: nxframe_frame(date, decode_pages(bodies, use_threads=True)),
    }
    if reference:
        runs["exact"] = lambda: nxframe_frame(
            date, [exact.decode_page(b, page_number=i + 1) for i, b in enumerate(bodies)]
        )
    return runs


#: (path, label, target for the documented shape, target for the mixed shape)
LINES = (
    ("single", "single page: decode_page each, to_frame", SINGLE_TARGET, None),
    ("batched", "batched: decode_pages, 1 thread", None, None),
    ("threaded", "batched: decode_pages, threads", BATCHED_TARGET, MIXED_TARGET),
    ("exact", "exact reference decoder, page by page", None, None),
)


def run(quick: bool = False) -> list[Measure]:
    pages = 20 if quick else 100
    repeats = 2 if quick else 5
    days = {
        "documented shape": (
            DOCUMENTED_DATE,
            day_pages(documented_rows(quick), quirks=False, date=DOCUMENTED_DATE)[:pages],
        ),
        "mixed shape": (MIXED_DATE, mixed_pages(pages * PAGE_SIZE)),
    }
    measures = []
    for day, (date, bodies) in days.items():
        mixed = day == "mixed shape"
        runs = paths(date, bodies, reference=mixed)
        frames = {name: run() for name, run in runs.items()}
        for name in runs:
            if name != "naive":
                check_same(frames[name], frames["naive"], f"decode {day}, {name} path")
        long_values = check_exact(frames["single"], bodies, f"decode {day}")
        if mixed and not long_values:
            raise SystemExit("the mixed day has no 16-digit money value; the exactness check proves too little")
        rows = len(frames["naive"])
        print(
            f"  decode {day}: {rows} rows checked equal and exact ({long_values} values of 16+ digits)", file=sys.stderr
        )
        seconds = interleaved(runs, repeats)
        naive = rate(rows, seconds["naive"])
        for name, label, documented_target, mixed_target in LINES:
            if name not in seconds:
                continue
            target = mixed_target if mixed else documented_target
            ratio = seconds["naive"] / seconds[name]
            measures.append(
                Measure(
                    QUESTION,
                    f"{day}, {len(bodies)} x {PAGE_SIZE} rows; {label}",
                    rate(rows, seconds[name]),
                    naive,
                    ratio,
                    "" if target is None else f">= {target:g}x",
                    None if target is None else ratio >= target,
                )
            )
    return measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pages, 2 repeats")
    print(render(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
