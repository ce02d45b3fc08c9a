"""How much memory does a million-row frame take, against the naive frame of Decimal objects?

The documented-shape day of 1 000 000 rows (the decode benchmark's day),
decoded in a fresh process per client so one run's memory cannot pollute
the other's: nxframe (``decode_pages`` 100 pages at a time, ``to_frame``)
against the naive exact client (``json.loads`` -> ``pd.DataFrame(rows)`` ->
``Decimal`` objects for money, ``pd.to_datetime`` for times). Both read the
same page bodies streamed from the cache. Reported: the frame's
``memory_usage(deep=True)`` and the process's peak RSS (Python, pandas and
pyarrow themselves take about 100-150 MiB of it).

The same for a mixed-shape day of 1 000 000 rows (``benchmarks/mixed.py``):
nxframe's peak RSS decoding it against its own peak on the documented shape
(target: at most 1.5x; undocumented fields make an ``extra`` column the
documented day does not have).

Before any figure: both frames hold the same number of rows, the same ids
and the same exact money sums.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench_decode import documented_rows
from common import DOCUMENTED_DATE, MONEY, Measure, current_rss, mib, page_cache_path, peak_rss, read_pages, render

QUESTION = "memory"
TARGET = 0.45
MIXED_TARGET = 1.5
BATCH = 100


def child(kind: str, path: Path, date: dt.date) -> dict[str, Any]:
    """Build one client's frame in this process; report its size and this process's peak RSS."""
    import pandas as pd
    from common import nxframe_frame
    from naive import naive_decimal_frame, naive_rows

    from nxframe.decode import Reply, decode_pages

    gc.collect()
    before = current_rss()
    frame: pd.DataFrame
    if kind in ("nxframe", "nxframe-mixed"):
        replies: list[Reply] = []
        batch: list[bytes] = []
        for body in read_pages(path):
            batch.append(body)
            if len(batch) == BATCH:
                replies.extend(decode_pages(batch, page_numbers=range(len(replies) + 1, len(replies) + BATCH + 1)))
                batch = []
        if batch:
            replies.extend(decode_pages(batch, page_numbers=range(len(replies) + 1, len(replies) + len(batch) + 1)))
        frame = nxframe_frame(date, replies)
        del replies, batch
        fields = {c.name: c.name for c in MONEY} | {"id": "id"}
    else:
        frame = naive_decimal_frame(naive_rows(read_pages(path)))
        fields = {c.name: c.api_field or c.name for c in MONEY} | {"id": "id"}
    gc.collect()
    peak = peak_rss()  # before the checks below allocate anything
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    sums = {name: str(frame[column].sum()) for name, column in fields.items()}  # exact: Decimal or decimal128
    return {"rows": len(frame), "frame_bytes": frame_bytes, "peak_rss": peak, "rss_before": before, "sums": sums}


def measure(kind: str, path: Path, date: dt.date = DOCUMENTED_DATE) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--pages", str(path), "--date", date.isoformat()],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"memory: the {kind} process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(quick: bool = False) -> list[Measure]:
    rows = documented_rows(quick)
    path = page_cache_path(rows, quirks=False, date=DOCUMENTED_DATE)
    ours, naive = measure("nxframe", path), measure("naive", path)
    same_sums = {k: Decimal(v) for k, v in ours["sums"].items()} == {k: Decimal(v) for k, v in naive["sums"].items()}
    if ours["rows"] != rows or naive["rows"] != rows or not same_sums:
        raise SystemExit(f"memory: the two frames differ: {ours} vs {naive}")
    print(f"  memory: {rows} rows in both frames, same ids and exact money sums", file=sys.stderr)
    ratio = ours["frame_bytes"] / naive["frame_bytes"]
    label = f"{rows} rows"
    return [
        Measure(
            QUESTION,
            f"{label}: frame memory_usage(deep=True) vs naive frame with Decimal objects",
            mib(ours["frame_bytes"]),
            mib(naive["frame_bytes"]),
            ratio,
            f"<= {TARGET:.0%}",
            ratio <= TARGET,
        ),
        Measure(
            QUESTION,
            f"{label}: peak RSS of a process decoding the pages into the frame",
            mib(ours["peak_rss"]),
            mib(naive["peak_rss"]),
            ours["peak_rss"] / naive["peak_rss"],
        ),
        mixed_measure(rows, ours),
    ]


def mixed_measure(rows: int, documented: dict[str, Any]) -> Measure:
    """nxframe's peak RSS on the mixed-shape day against its own on the documented one."""
    from mixed import MIXED_DATE, mixed_pages_path

    mixed = measure("nxframe-mixed", mixed_pages_path(rows), MIXED_DATE)
    if mixed["rows"] != rows:
        raise SystemExit(f"memory: the mixed-shape frame has {mixed['rows']} rows, not {rows}")
    ratio = mixed["peak_rss"] / documented["peak_rss"]
    return Measure(
        QUESTION,
        f"{rows} rows, mixed shape: peak RSS decoding vs nxframe on the documented shape",
        mib(mixed["peak_rss"]),
        mib(documented["peak_rss"]),
        ratio,
        f"<= {MIXED_TARGET:g}x",
        ratio <= MIXED_TARGET,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 000 rows")
    parser.add_argument("--child", choices=["nxframe", "nxframe-mixed", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--pages", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--date", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.pages, args.date)))
        return
    print(render(run(args.quick)))


if __name__ == "__main__":
    main()
