"""``nxframe``: fetch, sync, check, report, simulate, demo.

Exit codes: 0 ok, 1 an API or data error, 2 bad arguments. Errors print one
line on stderr (``--debug`` adds the traceback); progress bars go to stderr,
results to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ._version import __version__
from .config import ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_BASE_URL
from .errors import InvalidInputError, NxframeError
from .schema import COLUMNS

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """Bad command-line arguments (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse prints usage and exits 2 itself; keep one line
        raise _UsageError(message)


def _columns_help() -> str:
    return "columns of the result:\n" + "\n".join(f"  {c.name:<20} {c.type_label()}" for c in COLUMNS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nxframe",
        description="NXCloud DID call records as typed, exact tables; a Parquet lake; monthly reports.",
        epilog=f"Credentials come from {ENV_ACCESS_KEY} and {ENV_ACCESS_SECRET} ({ENV_BASE_URL} optional). "
        "Exit codes: 0 ok, 1 API or data error, 2 bad arguments.",
    )
    parser.add_argument("--version", action="version", version=f"nxframe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    fetch = commands.add_parser(
        "fetch",
        help="fetch a day or a date range",
        description="Fetch call records; print a per-day summary, or write them to --out.",
        epilog=_columns_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fetch.add_argument("start", help="first date, YYYY-MM-DD")
    fetch.add_argument("end", nargs="?", help="last date, inclusive (default: start)")
    _add_filters(fetch)
    fetch.add_argument("--page-size", type=int, default=999, help="rows per request, 1..999 (default 999)")
    fetch.add_argument("--tz", help="zone of the API's times, e.g. Asia/Shanghai (default: naive)")
    fetch.add_argument("--out", type=Path, help="write FILE.parquet or FILE.csv")
    fetch.add_argument("--lake", help="also persist each date into this lake folder or URL")
    fetch.add_argument("--allow-long", action="store_true", help="allow a range over 366 days")

    sync = commands.add_parser("sync", help="bring a Parquet lake up to date")
    _add_lake_range(sync)
    sync.add_argument("--refresh-days", type=int, default=2, help="re-fetch this many days before today (default 2)")
    sync.add_argument("--verify", action="store_true", help="also re-fetch older dates whose row count drifted")

    check = commands.add_parser("check", help="compare a lake's row counts with the API's")
    _add_lake_range(check)

    report = commands.add_parser("report", help="the monthly report of a lake")
    report.add_argument("--lake", required=True, help="lake folder or fsspec URL")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--out", required=True, type=Path, help="FILE.xlsx, FILE.html, or a folder for CSVs")
    report.add_argument("--sync", action="store_true", help="sync the month into the lake first")

    simulate = commands.add_parser("simulate", help="run the local NXCloud simulator in the foreground")
    simulate.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765, 0 = any)")
    simulate.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    simulate.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")

    demo = commands.add_parser("demo", help="the whole job offline: simulator -> lake -> report")
    demo.add_argument("--offline", action="store_true", help="use the simulator even if credentials are set")
    demo.add_argument("--month", help="YYYY-MM (default: last month)")
    demo.add_argument("--data", type=Path, default=Path("data"), help="where lake/ and reports/ go (default data/)")
    return parser


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--did", dest="did_number", help="only this DID number")
    parser.add_argument("--call", dest="call_number", help="only this calling/called number")
    parser.add_argument("--type", dest="call_type", choices=["incoming", "outgoing"], help="only this direction")


def _add_lake_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", required=True, help="lake folder or fsspec URL")
    parser.add_argument("--start", required=True, help="first date, YYYY-MM-DD")
    parser.add_argument("--end", required=True, help="last date, YYYY-MM-DD")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        logging.basicConfig(
            level=logging.DEBUG if args.debug else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        handler: Callable[[argparse.Namespace], int] = _COMMANDS[args.command]
        return handler(args)
    except _UsageError as exc:
        print(f"nxframe: error: {exc} (see nxframe --help)", file=sys.stderr)
        return EXIT_USAGE
    except InvalidInputError as exc:
        _report(exc, debug)
        return EXIT_USAGE
    except NxframeError as exc:
        _report(exc, debug)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("nxframe: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file or folder the user named could not be written
        _report(exc, debug)
        return EXIT_FAILED


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"nxframe: error: {type(exc).__name__}: {exc}", file=sys.stderr)


# -- commands --------------------------------------------------------------------------


def _fetch(args: argparse.Namespace) -> int:
    from .client import fetch_cdr

    out: Path | None = args.out
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidInputError(f"--out must end in .parquet or .csv, not {out.name!r}")
    frame = fetch_cdr(
        args.start,
        args.end,
        did_number=args.did_number,
        call_number=args.call_number,
        call_type=args.call_type,
        page_size=args.page_size,
        tz=args.tz,
        lake=args.lake,
        allow_long=args.allow_long,
    )
    if out is not None:
        write_frame(frame, out)
        print(f"wrote {len(frame)} rows to {out}")
    print(daily_summary(frame).to_string(index=False))
    return EXIT_OK


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    """Write a fetched frame to Parquet (same schema as the lake) or CSV (decimals as exact text)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out, compression="zstd")
    else:
        frame.to_csv(out, index=False)


def daily_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows, answered calls, billed minutes and exact cost per date."""
    answered = frame["call_duration"] > 0
    summary = (
        frame.assign(answered=answered)
        .groupby("date", sort=True, observed=True)
        .agg(
            rows=("id", "size"),
            answered=("answered", "sum"),
            billed_minutes=("fee_duration_minute", "sum"),
            cost=("call_price", "sum"),
        )
        .reset_index()
    )
    return summary


def _sync(args: argparse.Namespace) -> int:
    from .lake import sync_lake

    result = sync_lake(args.lake, args.start, args.end, refresh_days=args.refresh_days, verify=args.verify)
    print(result.fillna({"error": ""}).to_string(index=False))
    counts = result["action"].value_counts()
    print(", ".join(f"{n} {action}" for action, n in counts.items()) + f" -> {args.lake}")
    return EXIT_FAILED if "failed" in counts else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from .lake import check_lake

    result = check_lake(args.lake, args.start, args.end)
    print(result.to_string(index=False))
    counts = result["status"].value_counts()
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return EXIT_OK


def _report_command(args: argparse.Namespace) -> int:
    from .report import month_range, monthly_report, output_kind

    output_kind(args.out)  # a bad --out fails before any work
    if args.sync:
        from .lake import sync_lake

        first, last = month_range(args.month)
        synced = sync_lake(args.lake, first, last)
        failed = synced[synced["action"] == "failed"]
        if len(failed):
            print(failed.to_string(index=False), file=sys.stderr)
    report = monthly_report(args.lake, args.month)
    path = report.write(args.out)
    print(report.summary_text())
    print(f"wrote {path}")
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    from .simulator import Simulator

    with Simulator(seed=args.seed, port=args.port, latency=args.latency) as simulator:  # bound before printing
        print("NXCloud simulator (fake credentials, offline). Point nxframe at it with:", flush=True)
        for name, value in simulator.env().items():
            print(f"  export {name}={value}", flush=True)
        print("Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    live = not args.offline and bool(os.environ.get(ENV_ACCESS_KEY)) and bool(os.environ.get(ENV_ACCESS_SECRET))
    return run_demo(month=args.month, data=args.data, live=live)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fetch": _fetch,
    "sync": _sync,
    "check": _check,
    "report": _report_command,
    "simulate": _simulate,
    "demo": _demo,
}


def _money(value: Decimal) -> str:
    return f"{value:,.6f}"


def last_month(today: dt.date | None = None) -> str:
    """``YYYY-MM`` of the month before ``today``."""
    today = today or dt.date.today()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
