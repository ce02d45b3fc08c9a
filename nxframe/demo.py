"""``nxframe demo``: the whole job in one command, offline on the simulator by default.

1. fetch a week into a DataFrame and print its exact daily totals;
2. sync the month into a Parquet lake (``data/lake``);
3. write the month's report (``data/reports``: HTML and Excel) and print its total.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from pathlib import Path

from .client import Client
from .lake import read_lake, sync_lake

__all__ = ["DEMO_SEED", "run_demo"]

DEMO_SEED = 2026


def run_demo(*, month: str | None, data: Path, live: bool) -> int:
    """Run the demo; returns the exit code."""
    from .cli import daily_summary, last_month
    from .report import month_range, monthly_report
    from .simulator import Simulator

    month = month or last_month()
    first, last = month_range(month)
    lake = data / "lake"
    reports = data / "reports"
    with contextlib.ExitStack() as stack:
        if live:
            client = stack.enter_context(Client())
            print(f"Using the NXCloud API at {client.settings.base_url} (credentials from the environment).")
        else:
            simulator = stack.enter_context(Simulator(seed=DEMO_SEED))
            client = stack.enter_context(simulator.client())
            print(f"Using the offline NXCloud simulator at {simulator.base_url} (seed {DEMO_SEED}).")

        week_end = min(first + dt.timedelta(days=6), last)
        print(f"\n1. fetch_cdr({first.isoformat()!r}, {week_end.isoformat()!r}): one DataFrame, exact decimals")
        started = time.perf_counter()
        week = client.fetch_cdr(first, week_end, progress=False)
        print(f"   {len(week):,} rows in {time.perf_counter() - started:.2f} s")
        print(_indent(daily_summary(week).to_string(index=False)))
        print(f"   week total cost: {week['call_price'].sum()}")

        print(f"\n2. sync_lake({str(lake)!r}, {first.isoformat()!r}, {last.isoformat()!r})")
        started = time.perf_counter()
        synced = sync_lake(lake, first, last, client=client, progress=False)
        counts = synced["action"].value_counts()
        print("   " + ", ".join(f"{n} {action}" for action, n in counts.items()), end="")
        print(f" in {time.perf_counter() - started:.2f} s")
        failed = synced[synced["action"] == "failed"]
        if len(failed):
            print(_indent(failed.to_string(index=False)))
            return 1
        rows = read_lake(lake, first, last)
        print(f"   the lake holds {len(rows):,} rows for {month}: {lake.resolve()}")

        print(f"\n3. monthly_report({str(lake)!r}, {month!r})")
        report = monthly_report(lake, month)
        html = report.to_html(reports / f"cdr-report-{month}.html")
        excel = report.to_excel(reports / f"cdr-report-{month}.xlsx")
        print(_indent(report.summary_text()))
        print(f"   HTML:  {Path(html).resolve()}")
        print(f"   Excel: {Path(excel).resolve()}")
    print(
        "\nNext: open notebooks/01_quickstart.ipynb, or query the lake with DuckDB:\n"
        f"   SELECT sum(call_price) FROM read_parquet('{lake}/**/*.parquet', hive_partitioning=true)"
    )
    return 0


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
