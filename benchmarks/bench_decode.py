"""How fast do page bytes become the typed DataFrame, against the naive exact client?

Input: 100 pages of 999 rows; a day of the documented shape, as the
simulator serves it (``CallGenerator(seed, quirks=False)``); a mixed-shape
day written by ``benchmarks/mixed.py`` (every page carries every deviation:
numbers as strings, phone numbers as numbers, undocumented and nested
fields, codes as strings, any key order, 16-digit money; every tenth page
pretty-printed); and an untidy day written by ``benchmarks/untidy.py``
(every record in its own key order, escaped Chinese/Japanese/Thai/Vietnamese
names, money as 2-6 place number text or strings, phone numbers as numbers,
undocumented fields, empty/null/missing end times).

Paths measured:
- single page: ``decode_page`` on each page with one ``ShapeMemory`` (what a
  client's fetch workers do), then ``to_frame``;
- exact reference (mixed day only): ``nxframe.decode.exact.decode_page`` on each page, for scale;
- on the untidy day, ``decode_page`` alone against ``json.loads(raw,
  parse_float=Decimal)`` alone on the same pages: the standard library
  merely parsing them, a second baseline.

Before any figure: every path returns the same DataFrame as the naive
client, and every money cell equals its JSON text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from decimal import Decimal

import pandas as pd
from common import (
    DOCUMENTED_DATE,
    PAGE_SIZE,
    Measure,
    check_exact,
    check_same,
    day_pages,
    interleaved,
    interleaved_times,
    nxframe_frame,
    rate,
    ratio_spread,
    render,
)
from mixed import MIXED_DATE, mixed_pages
from naive import naive_frame
from untidy import UNTIDY_DATE, escaped_share, untidy_pages

from nxframe.decode import ShapeMemory, decode_page, exact

QUESTION = "decode"
SINGLE_TARGET = 3.0
#: decode_page alone against json.loads(raw, parse_float=Decimal) alone, on the untidy day (issue #24).
PARSE_TARGET = 2.0


def documented_rows(quick: bool) -> int:
    """The documented-shape day the decode and memory benchmarks share (1M rows; 100k when quick)."""
    return 100_000 if quick else 1_000_000


def paths(date: dt.date, bodies: list[bytes], *, reference: bool) -> dict[str, Callable[[], pd.DataFrame]]:
    memory = ShapeMemory()  # one client's: what it learns of the server on the first page serves the others
    runs: dict[str, Callable[[], pd.DataFrame]] = {
        "naive": lambda: naive_frame(bodies, date),
        "single": lambda: nxframe_frame(
            date, [decode_page(b, page_number=i + 1, memory=memory) for i, b in enumerate(bodies)]
        ),
    }
    if reference:
        runs["exact"] = lambda: nxframe_frame(
            date, [exact.decode_page(b, page_number=i + 1) for i, b in enumerate(bodies)]
        )
    return runs


#: (path, label, target for the documented shape)
LINES = (
    ("single", "single page: decode_page each, to_frame", SINGLE_TARGET),
    ("exact", "exact reference decoder, page by page", None),
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
        "untidy shape": (UNTIDY_DATE, untidy_pages(pages * PAGE_SIZE)),
    }
    measures = []
    for day, (date, bodies) in days.items():
        runs = paths(date, bodies, reference=day == "mixed shape")
        frames = {name: run() for name, run in runs.items()}
        for name in runs:
            if name != "naive":
                check_same(frames[name], frames["naive"], f"decode {day}, {name} path")
        long_values = check_exact(frames["single"], bodies, f"decode {day}")
        if day == "mixed shape" and not long_values:
            raise SystemExit("the mixed day has no 16-digit money value; the exactness check proves too little")
        rows = len(frames["naive"])
        print(
            f"  decode {day}: {rows} rows checked equal and exact ({long_values} values of 16+ digits)", file=sys.stderr
        )
        seconds = interleaved(runs, repeats)
        naive = rate(rows, seconds["naive"])
        for name, label, documented_target in LINES:
            if name not in seconds:
                continue
            target = documented_target if day == "documented shape" else None
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
        if day == "untidy shape":
            measures.append(parse_baseline(bodies, repeats))
    return measures


def parse_baseline(bodies: list[bytes], repeats: int) -> Measure:
    """``decode_page`` alone (one client's memory, warm) against ``json.loads(parse_float=Decimal)`` alone."""
    memory = ShapeMemory()
    for number, body in enumerate(bodies, 1):
        decode_page(body, page_number=number, memory=memory)
    times = interleaved_times(
        {
            "json": lambda: [json.loads(body, parse_float=Decimal) for body in bodies],
            "decode": lambda: [decode_page(b, page_number=n, memory=memory) for n, b in enumerate(bodies, 1)],
        },
        repeats * 2,  # cheap: twice the runs for a steadier median
    )
    ratio, low, high = ratio_spread(times["json"], times["decode"])
    rows = len(bodies) * PAGE_SIZE
    print(f"  decode untidy shape: {escaped_share(bodies):.0%} of its string values hold a \\u escape", file=sys.stderr)
    return Measure(
        QUESTION,
        f"untidy shape, {len(bodies)} x {PAGE_SIZE} rows; decode_page alone vs json.loads(parse_float=Decimal) alone "
        f"(ratio range {low:.2f}-{high:.2f}x)",
        rate(rows, sorted(times["decode"])[len(times["decode"]) // 2]),
        rate(rows, sorted(times["json"])[len(times["json"]) // 2]),
        ratio,
        f">= {PARSE_TARGET:g}x",
        ratio >= PARSE_TARGET,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pages, 2 repeats")
    print(render(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
