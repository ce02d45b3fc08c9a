"""How fast does a 3.1-million-row month answer "what changed since the sign-off?", against a pandas merge?

A month of 31 dates x 100 000 calls (the decode benchmark's documented-shape
day, one copy per date of March 2024) is written into a lake, reported and
signed off; then 0.1% of its calls are removed, 0.1% added, 0.1% re-priced
and 0.05% given another country, and the lake is written again. Measured:

- ``nxframe.restatements(package)`` end to end (verify the package's hashes,
  read its signed rows and the lake, compare) against the same job in plain
  pandas: ``pd.read_parquet`` of the signed rows, ``read_lake``, an outer
  ``merge`` on (date, id) with an indicator, a ``!=`` per column and the
  changed column names joined per changed row;
- the comparison alone, on the same rows in memory: ``restate.compare`` (one
  Arrow hash join of the keys, one vectorised comparison per column) against
  that merge.

The lake and the package are cached between runs (their key covers the
report, lake and schema code). Before any figure: both ways find the same
calls, with the same changes, fields and exact cost changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from common import CACHE, DOCUMENTED_DATE, Measure, day_pages, interleaved, rate, render, source_key

import nxframe
from nxframe.decode import decode_pages
from nxframe.export import read_frame
from nxframe.lake import Lake
from nxframe.query import CdrQuery
from nxframe.report.restate import COMPARED, compare, to_frame
from nxframe.report.signoff import ALL_COLUMNS
from nxframe.report.sources import read_span
from nxframe.schema import arrow_schema

QUESTION = "sign-off"
MONTH, FIRST, LAST, DAYS = "2024-03", dt.date(2024, 3, 1), dt.date(2024, 3, 31), 31
#: Shares of the month's calls restated after the sign-off.
REMOVED, ADDED, REPRICED, MOVED = 0.001, 0.001, 0.001, 0.0005
#: Ratios against the pandas merge (the absolute time moves with the shared machine's load; the ratio less).
TARGET_WHOLE, TARGET_COMPARE = 1.5, 3.0


def month_table(rows_per_day: int) -> pa.Table:
    """The documented-shape day, once per date of the month, in the lake's Arrow types."""
    replies = decode_pages(day_pages(rows_per_day, quirks=False, date=DOCUMENTED_DATE))
    day = pa.concat_tables([reply.page.table for reply in replies if reply.page is not None])
    dates = [FIRST + dt.timedelta(days=n) for n in range(DAYS)]
    tables = [day.add_column(0, "date", pa.repeat(pa.scalar(d, pa.date32()), day.num_rows)) for d in dates]
    return pa.concat_tables(tables).select(arrow_schema().names).cast(arrow_schema()).combine_chunks()


def restated(signed: pa.Table) -> pa.Table:
    """The month as NXCloud restated it: calls removed, added (new ids), re-priced, moved to another country."""
    rng = np.random.default_rng(22)
    rows = signed.num_rows
    keep = np.ones(rows, bool)
    keep[rng.choice(rows, int(rows * REMOVED), replace=False)] = False
    current = signed.filter(pa.array(keep))
    count = current.num_rows
    repriced = np.zeros(count, bool)
    repriced[rng.choice(count, int(rows * REPRICED), replace=False)] = True
    moved = np.zeros(count, bool)
    moved[rng.choice(count, int(rows * MOVED), replace=False)] = True
    price, country = current["call_price"], current["country_name"]
    bump = pa.scalar(Decimal("0.010000"), price.type)
    current = current.set_column(
        current.schema.get_field_index("call_price"),
        "call_price",
        pc.if_else(pa.array(repriced), pc.add(price, bump).cast(price.type), price),
    )
    current = current.set_column(
        current.schema.get_field_index("country_name"),
        "country_name",
        pc.if_else(pa.array(moved), pa.scalar("Atlantis"), country),
    )
    late = signed.take(pa.array(rng.choice(rows, int(rows * ADDED), replace=False)))
    late = late.set_column(1, "id", pc.add(late["id"], 10**12))
    return pa.concat_tables([current, late]).sort_by([("date", "ascending"), ("id", "ascending")])


def write_lake(lake: Path, table: pa.Table) -> None:
    store = Lake(lake)
    for n in range(DAYS):
        date = FIRST + dt.timedelta(days=n)
        rows = table.filter(pc.equal(table["date"], pa.scalar(date, pa.date32())))
        store.write_date(date, rows, CdrQuery.build(date))


def signed_month(rows_per_day: int) -> tuple[Path, Path]:
    """The lake as restated and the package signed before, made once and then reused."""
    key = source_key("report", "lake", "schema.py", "export.py")
    folder = CACHE / f"signoff-{DAYS}x{rows_per_day}-{key}"
    lake, package = folder / "lake", folder / "package"
    if (folder / "_complete").exists():
        return lake, package
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    signed = month_table(rows_per_day)
    write_lake(lake, signed)
    nxframe.monthly_report(lake, MONTH).signoff(package)
    write_lake(lake, restated(signed))
    print(
        f"  sign-off: lake and package of {signed.num_rows} rows in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    (folder / "_complete").touch()
    return lake, package


def naive(signed: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The pandas way: an outer merge with an indicator, ``!=`` per column, names joined per changed row."""
    month = signed[(signed["date"] >= "2024-03-01") & (signed["date"] <= "2024-03-31")]
    merged = month.merge(current, on=["date", "id"], how="outer", suffixes=("_s", "_c"), indicator=True)
    differs = pd.DataFrame(index=merged.index)
    for name in COMPARED:
        ours, theirs = merged[f"{name}_s"], merged[f"{name}_c"]
        if isinstance(ours.dtype, pd.CategoricalDtype):  # categoricals of other categories do not compare
            ours, theirs = ours.astype("string[pyarrow]"), theirs.astype("string[pyarrow]")
        both_missing = ours.isna() & theirs.isna()
        differs[name] = (ours != theirs).fillna(True).astype(bool) & ~both_missing
    both = merged["_merge"] == "both"
    kept = merged[~both | differs.any(axis=1)]
    change = kept["_merge"].map({"right_only": "added", "left_only": "removed", "both": "changed"}).astype(str)
    fields = differs.loc[kept.index].apply(lambda row: ",".join(row.index[row]), axis=1)
    signed_price = kept["call_price_s"].reset_index(drop=True)
    current_price = kept["call_price_c"].reset_index(drop=True)
    money = signed_price.dtype
    result = pd.DataFrame(
        {
            "date": kept["date"].reset_index(drop=True),
            "id": kept["id"].reset_index(drop=True),
            "change": change.reset_index(drop=True),
            "fields": fields.where(change == "changed", None).reset_index(drop=True),
            "signed_call_price": signed_price,
            "current_call_price": current_price,
            "cost_delta": (current_price.fillna(Decimal(0)) - signed_price.fillna(Decimal(0))).astype(money),
        }
    )
    return result.sort_values(["date", "id"], ignore_index=True)


def naive_end_to_end(package: Path, lake: Path) -> pd.DataFrame:
    """Read the signed rows and the lake as frames, then :func:`naive` (the hashes are not checked)."""
    return naive(read_frame(package / "rows.parquet"), nxframe.read_lake(lake))


def check(ours: pd.DataFrame, theirs: pd.DataFrame, rows: int) -> None:
    expected = {"added": int(rows * ADDED), "removed": int(rows * REMOVED)}
    counts = ours["change"].value_counts().to_dict()
    if {k: counts.get(k) for k in expected} != expected or not counts.get("changed"):
        raise SystemExit(f"sign-off: restatements found {counts}, planted {expected} and re-priced calls; no figures")
    if _rows(ours) != _rows(theirs):
        raise SystemExit("sign-off: restatements and the pandas merge disagree; no figures")


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    columns = ["date", "id", "change", "fields", "signed_call_price", "current_call_price", "cost_delta"]
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]


def run(quick: bool = False) -> list[Measure]:
    rows_per_day = 10_000 if quick else 100_000
    repeats = 1 if quick else 3
    lake, package = signed_month(rows_per_day)
    rows = DAYS * rows_per_day
    found = nxframe.restatements(package)
    check(found, naive_end_to_end(package, lake), rows)
    # The comparison alone: the same rows in memory, as Arrow for nxframe and as frames for pandas.
    signed_rows = read_span(package, FIRST, LAST, ALL_COLUMNS).table
    current_rows = read_span(lake, FIRST, LAST, ALL_COLUMNS).table
    signed_frame, current_frame = read_frame(package / "rows.parquet"), nxframe.read_lake(lake)
    check(to_frame(compare(signed_rows, current_rows)), naive(signed_frame, current_frame), rows)
    print(f"  sign-off: {rows} rows, {len(found)} restated calls found alike both ways", file=sys.stderr)
    whole = interleaved(
        {"nxframe": lambda: nxframe.restatements(package), "naive": lambda: naive_end_to_end(package, lake)}, repeats
    )
    alone = interleaved(
        {
            "nxframe": lambda: compare(signed_rows, current_rows),
            "naive": lambda: naive(signed_frame, current_frame),
        },
        repeats,
    )
    label = f"{DAYS} days x {rows_per_day} calls"
    return [
        Measure(
            QUESTION,
            f"{label}: restatements(package) end to end vs read_parquet + read_lake + pandas merge",
            f"{whole['nxframe']:.2f} s",
            f"{whole['naive']:.2f} s",
            whole["naive"] / whole["nxframe"],
            f">= {TARGET_WHOLE:g}x",
            whole["naive"] / whole["nxframe"] >= TARGET_WHOLE,
        ),
        Measure(
            QUESTION,
            f"{label}: the comparison alone (Arrow join) vs pandas merge, rows/s",
            rate(rows, alone["nxframe"]),
            rate(rows, alone["naive"]),
            alone["naive"] / alone["nxframe"],
            f">= {TARGET_COMPARE:g}x",
            alone["naive"] / alone["nxframe"] >= TARGET_COMPARE,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="31 x 10 000 calls")
    print(render(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
