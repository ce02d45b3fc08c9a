"""``nxframe demo``: the whole job in one command, offline on the simulator by default.

1. fetch the month's first week into a DataFrame and print its exact daily totals;
2. sync the month and the one before (the report compares them) into a
   Parquet lake (``data/lake``);
3. write the month's report (``data/reports``: HTML and Excel) and print its
   summary: totals, the billing check, the comparison, the anomalies;
4. sign the month off into ``data/signoff/<month>`` (replacing the demo's own
   previous package), verify it and count the calls restated since.

The simulator's month holds a few calls billed off the rules and one anomaly
of each kind on purpose, so every section of the report has something to show.

An edge module that uses nxframe as a user would, through its public API
only; the CLI imports it (lazily), never the other way round.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import time
from pathlib import Path

import nxframe
from nxframe.report import month_range, previous_month
from nxframe.report.tables import breakdown
from nxframe.simulator import Simulator

__all__ = ["DEMO_SEED", "last_month", "run_demo"]

#: The simulator's seed for the demo: README figures come from it (and the month).
DEMO_SEED = 2026


def last_month(today: dt.date | None = None) -> str:
    """``YYYY-MM`` of the month before ``today`` (default: the real today)."""
    today = today or dt.date.today()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def run_demo(
    *, month: str | None, data: Path, live: bool, today: dt.date | None = None, client: nxframe.Client | None = None
) -> int:
    """Run the demo; returns the exit code. ``client``: the live API's (it is closed at the end), default ``Client()``.

    Raises:
        InvalidInputError: ``month`` is not ``YYYY-MM`` or has not begun yet.
    """
    today = today or dt.date.today()
    month = month or last_month(today)
    first, last = month_range(month)
    before = month_range(previous_month(first))[0]
    if first > today:
        raise nxframe.InvalidInputError(
            f"--month {month} is in the future (today is {today}): the demo needs a month that has begun; "
            f"the default is last month, {last_month(today)}",
            parameter="month",
        )
    lake = data / "lake"
    reports = data / "reports"
    with contextlib.ExitStack() as stack:
        if live:
            client = stack.enter_context(nxframe.Client() if client is None else client)
            print(f"Using the NXCloud API at {client.settings.base_url} (credentials from the environment).")
        else:
            simulator = stack.enter_context(Simulator(seed=DEMO_SEED, showcase=month))
            client = stack.enter_context(simulator.client())
            print(
                f"Using the offline NXCloud simulator at {simulator.base_url} (seed {DEMO_SEED}; a few calls "
                "billed off the rules and one anomaly of each kind are planted, so every report section shows)."
            )

        week_end = min(first + dt.timedelta(days=6), last, today)
        print(f"\n1. fetch_cdr({first.isoformat()!r}, {week_end.isoformat()!r}): one DataFrame, exact decimals")
        started = time.perf_counter()
        week = client.fetch_cdr(first, week_end, progress=False)
        print(f"   {len(week):,} rows in {time.perf_counter() - started:.2f} s")
        per_day = breakdown(week, ["date"]).sort_values("date")
        per_day["date"] = per_day["date"].dt.strftime("%Y-%m-%d")
        print(_indent(per_day[["date", "calls", "answered", "billed_minutes", "cost"]].to_string(index=False)))
        print(f"   week total cost: {week['call_price'].sum()}")

        print(
            f"\n2. sync_lake({str(lake)!r}, {before.isoformat()!r}, {last.isoformat()!r}): the month and the one before"
        )
        started = time.perf_counter()
        synced = nxframe.sync_lake(lake, before, last, client=client, progress=False)
        counts = synced["action"].value_counts()
        print("   " + ", ".join(f"{n} {action}" for action, n in counts.items()), end="")
        print(f" in {time.perf_counter() - started:.2f} s")
        failed = synced[synced["action"] == "failed"]
        if len(failed):
            print(_indent(failed.to_string(index=False)))
            return 1
        rows = nxframe.read_lake(lake, first, last)
        print(f"   the lake holds {len(rows):,} rows for {month}: {lake.resolve()}")

        print(f"\n3. monthly_report({str(lake)!r}, {month!r})")
        report = nxframe.monthly_report(lake, month)
        html = report.to_html(reports / f"cdr-report-{month}.html")
        excel = report.to_excel(reports / f"cdr-report-{month}.xlsx")
        print(_indent(report.summary_text()))
        print(f"   HTML:  {Path(html).resolve()}")
        print(f"   Excel: {Path(excel).resolve()}")

        signoff = data / "signoff" / month
        print(f"\n4. report.signoff({str(signoff)!r}): the month signed off, as evidence")
        _remove_old_package(signoff)
        package = report.signoff(signoff)
        nxframe.verify_signoff(package)
        restated = nxframe.restatements(package)
        print(f"   Sign-off: {package.resolve()}")
        print(f"   verified (every file's SHA-256 as signed); {len(restated)} calls restated since")
    print(
        f"\nNext: nxframe audit --lake {lake} --month {month}   (the calls billed off the rules)\n"
        f"      nxframe report --lake {lake} --month {month} --out {reports}/report.html\n"
        f"      nxframe verify --signoff {signoff}   (exit 1 when a file of the package changed)\n"
        f"      nxframe restatements --signoff {signoff}   (calls added, removed or changed since)\n"
        "      open notebooks/01_quickstart.ipynb, or query the lake with DuckDB:\n"
        f"      SELECT sum(call_price) FROM read_parquet('{lake}/**/*.parquet', hive_partitioning=true)"
    )
    return 0


def _remove_old_package(folder: Path) -> None:
    """The demo replaces its own previous package; a sign-off never overwrites one, so it goes first.

    Only a folder holding a sign-off manifest is removed: anything else there
    is left for ``signoff`` to refuse.
    """
    if (folder / "manifest.json").is_file() and not folder.is_symlink():
        shutil.rmtree(folder)


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
