"""How fast do page bytes become the typed DataFrame, against the naive exact client?

Input: 100 pages of 999 rows from the simulator's generator, as the bytes the
simulator serves; once for a day of the documented shape
(``CallGenerator(seed, quirks=False)``) and once for an awkward day
(``quirks=True`` on a day where ``is_awkward(date)``: some decimals sent as
JSON strings, phone numbers as JSON numbers, undocumented fields), which
nxframe's fast reader refuses and its exact fallback decodes.

Paths measured:
- single page: ``decode_page`` on each page (what the fetch workers do), then ``to_frame``;
- batched: ``decode_pages`` on all pages in one ``pyarrow.json`` call, one thread / several threads.

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
    AWKWARD_DATE,
    DOCUMENTED_DATE,
    PAGE_SIZE,
    SEED,
    Measure,
    check_exact,
    check_same,
    day_pages,
    interleaved,
    nxframe_frame,
    rate,
    render,
)
from naive import naive_frame

from nxframe.decode import decode_page, decode_pages
from nxframe.simulator import CallGenerator

QUESTION = "decode"
SINGLE_TARGET = 3.0
BATCHED_TARGET = 4.0


def documented_rows(quick: bool) -> int:
    """The documented-shape day the decode and memory benchmarks share (1M rows; 100k when quick)."""
    return 100_000 if quick else 1_000_000


def paths(date: dt.date, bodies: list[bytes]) -> dict[str, Callable[[], pd.DataFrame]]:
    return {
        "naive": lambda: naive_frame(bodies, date),
        "single": lambda: nxframe_frame(date, [decode_page(b, page_number=i + 1) for i, b in enumerate(bodies)]),
        "batched": lambda: nxframe_frame(date, decode_pages(bodies, use_threads=False)),
        "threaded": lambda: nxframe_frame(date, decode_pages(bodies, use_threads=True)),
    }


def run(quick: bool = False) -> list[Measure]:
    pages = 20 if quick else 100
    repeats = 2 if quick else 5
    if not CallGenerator(SEED).is_awkward(AWKWARD_DATE):
        raise SystemExit(f"{AWKWARD_DATE} is not an awkward day for seed {SEED}; pick another")
    days = {
        "documented shape": (
            DOCUMENTED_DATE,
            day_pages(documented_rows(quick), quirks=False, date=DOCUMENTED_DATE)[:pages],
        ),
        "awkward day": (AWKWARD_DATE, day_pages(pages * PAGE_SIZE, quirks=True, date=AWKWARD_DATE)),
    }
    measures = []
    for day, (date, bodies) in days.items():
        runs = paths(date, bodies)
        frames = {name: run() for name, run in runs.items()}
        for name in ("single", "batched", "threaded"):
            check_same(frames[name], frames["naive"], f"decode {day}, {name} path")
        long_values = check_exact(frames["single"], bodies, f"decode {day}")
        if day == "awkward day" and not long_values:
            raise SystemExit("the awkward day has no 16-digit money value; the exactness check proves too little")
        rows = len(frames["naive"])
        print(
            f"  decode {day}: {rows} rows checked equal and exact ({long_values} values of 16+ digits)", file=sys.stderr
        )
        seconds = interleaved(runs, repeats)
        naive = rate(rows, seconds["naive"])
        size = f"{len(bodies)} x {PAGE_SIZE} rows"
        for name, label, target in (
            ("single", "single page: decode_page each, to_frame", SINGLE_TARGET),
            ("batched", "batched: decode_pages, 1 thread", None),
            ("threaded", "batched: decode_pages, threads", BATCHED_TARGET),
        ):
            ratio = seconds["naive"] / seconds[name]
            measures.append(
                Measure(
                    QUESTION,
                    f"{day}, {size}; {label}" if day == "documented shape" else f"{day} (exact fallback); {label}",
                    rate(rows, seconds[name]),
                    naive,
                    ratio,
                    "" if target is None or day != "documented shape" else f">= {target:g}x",
                    None if target is None or day != "documented shape" else ratio >= target,
                )
            )
    return measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pages, 2 repeats")
    print(render(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
