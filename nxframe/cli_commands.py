"""What each ``nxframe`` command does, once :mod:`nxframe.cli` has parsed its arguments.

Every handler returns the exit code; bad arguments raise ``InvalidInputError``
(exit 2) before any request is sent, and findings a cron job must notice
(drift, damage, calls off the rules, a month with no data) return 1.
Totals come from the one kernel, ``nxframe.report.tables``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .config import ENV_ACCESS_KEY, ENV_ACCESS_SECRET
from .errors import InvalidInputError
from .outputs import terminal_lines, terminal_table

if TYPE_CHECKING:
    from .client import Client

__all__ = ["HANDLERS", "daily_summary"]

EXIT_OK, EXIT_FAILED = 0, 1
#: check statuses a cron job must hear about.
_CHECK_FINDINGS = ("drift", "missing", "damaged")
#: Flagged calls listed on screen by ``nxframe audit`` (all of them go to --out).
AUDIT_SHOWN = 10


def daily_summary(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per date from ``start`` to ``end``, a date without calls included with zeros.

    The measures are ``nxframe.report.tables.breakdown``'s, so they equal the report's.
    """
    from .report.tables import breakdown

    days = pd.DataFrame({"date": pd.date_range(start, end, freq="D").astype("datetime64[s]")})
    per_day = breakdown(frame, ["date"])
    table = days.merge(per_day, on="date", how="left")
    counts = ["calls", "answered", "duration_seconds"]
    for name in counts:
        table[name] = table[name].fillna(0).astype("int64")
    for name in ("billed_minutes", "cost"):
        table[name] = table[name].fillna(0)
    table["date"] = table["date"].dt.strftime("%Y-%m-%d")
    return table[["date", "calls", "answered", "billed_minutes", "cost"]]


def _client(args: argparse.Namespace) -> Client:
    """A client from the environment, with ``--proxy`` and ``--ca-bundle`` when given."""
    from .client import Client

    return Client(proxy=args.proxy, verify=True if args.ca_bundle is None else args.ca_bundle)


def _fetch(args: argparse.Namespace) -> int:
    from .query import FILTERS, CdrQuery

    out: Path | None = args.out
    if out is not None:
        _file_out(out, (".parquet", ".csv"), "--out")
    filters = {rule.name: getattr(args, rule.name) for rule in FILTERS}
    query = CdrQuery.build(
        args.start, args.end, **filters, page_size=args.page_size, tz=args.tz, allow_long=args.allow_long
    )
    with _client(args) as client:
        frame = client.fetch_query(query, lake=args.lake, storage_options=_storage_options(args))
    if out is not None:
        from .export import write_frame

        out.parent.mkdir(parents=True, exist_ok=True)
        write_frame(frame, out)
        print(f"wrote {len(frame):,} rows to {out}")
    span = str(query.start) if query.start == query.end else f"from {query.start} to {query.end}"
    if len(frame) == 0:
        days = (query.end - query.start).days + 1
        print(f"no calls {'on ' if days == 1 else ''}{span} ({days} date{'s' * (days != 1)} asked, 0 rows)")
        return EXIT_OK
    print(terminal_table(daily_summary(frame, query.start, query.end), index=False))
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    from .lake.faults import display_url
    from .sync import sync_lake

    with _client(args) as client:
        result = sync_lake(
            args.lake,
            args.start,
            args.end,
            refresh_days=args.refresh_days,
            verify=args.verify,
            lock_timeout=args.lock_timeout,
            client=client,
            storage_options=_storage_options(args),
        )
    print(terminal_table(result.fillna({"error": ""}), index=False))  # an error quotes the server
    counts = result["action"].value_counts()
    print(", ".join(f"{n} {action}" for action, n in counts.items()) + f" -> {display_url(args.lake)}")
    if "future" in counts:
        print(f"{counts['future']} date(s) after today: not written (a day is synced once it has happened)")
    return EXIT_FAILED if "failed" in counts else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from .sync import check_lake

    _existing_lake(args.lake)
    with _client(args) as client:
        result = check_lake(
            args.lake, args.start, args.end, deep=args.deep, client=client, storage_options=_storage_options(args)
        )
    print(terminal_table(result, index=False))
    counts = result["status"].value_counts()
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    found = [status for status in _CHECK_FINDINGS if status in counts]
    if found:
        print(
            f"nxframe: {' and '.join(found)} dates in {args.lake}: `nxframe sync --verify` fetches them again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    from .export import write_frame
    from .lake import read_lake
    from .report import audit_billing, check_lines

    first, last = _past_month(args.month)
    out: Path | None = args.out
    if out is not None:
        _file_out(out, (".csv",), "--out")
    _existing_lake(args.lake)
    frame = read_lake(args.lake, first, last, storage_options=_storage_options(args))
    if len(frame) == 0:
        return _no_data(f"no calls in {args.lake} for {args.month}: {_sync_hint(args.lake, first, last)}")
    flagged = audit_billing(frame)
    print(check_lines(frame)[0])
    if len(flagged):
        issues = flagged["issue"].value_counts()
        print("by issue: " + ", ".join(f"{issue} {n:,}" for issue, n in issues.items()))
        shown = flagged.sort_values("overcharge", ascending=False, na_position="last").head(AUDIT_SHOWN)
        shown = shown.assign(date=pd.to_datetime(shown["date"]).dt.strftime("%Y-%m-%d"))
        print(f"largest overcharges (of {len(flagged):,} flagged):")
        columns = ["date", "id", "did_number", "fee_type", "call_duration", "fee_duration_minute"]
        columns += ["expected_minutes", "call_price", "expected_price", "overcharge", "issue"]
        print(terminal_table(shown[columns], index=False))  # DID numbers are the server's text
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_frame(flagged, out)
        print(f"wrote {len(flagged):,} flagged calls to {out}")
    return EXIT_FAILED if len(flagged) else EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from .report import monthly_report, output_kind

    first, last = _past_month(args.month)
    if output_kind(args.out) != "csv":  # a bad --out fails before any work
        _file_out(args.out, (args.out.suffix.lower(),), "--out")
    elif args.out.is_file():
        raise InvalidInputError(f"--out {str(args.out)!r} is a file; CSV reports go into a folder (one CSV per table)")
    if args.signoff is not None:  # an existing package is refused before any work, and never overwritten
        from .report.signoff import refuse_existing

        refuse_existing(args.signoff)
    if args.sync:
        from .sync import sync_lake

        with _client(args) as client:
            synced = sync_lake(args.lake, first, last, client=client, storage_options=_storage_options(args))
        failed = synced[synced["action"] == "failed"]
        if len(failed):
            print(terminal_table(failed, index=False), file=sys.stderr)
    else:
        _existing_lake(args.lake)
    report = monthly_report(args.lake, args.month, storage_options=_storage_options(args))
    if report.empty:
        return _no_data(f"no data for {args.month} in {args.lake}: {_sync_hint(args.lake, first, last)}")
    path = report.write(args.out)
    print(terminal_lines(report.summary_text()))  # anomaly keys are the server's text
    print(f"wrote {path}")
    if args.signoff is not None:
        print(f"signed {args.month} off into {report.signoff(args.signoff)}")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from .report.package import open_package

    package = open_package(args.signoff)  # SignoffError (exit 1) names the first file missing, added or changed
    files = len(package.manifest["files"])
    print(f"intact: {args.signoff} signs {package.month} off ({files} files, signed {package.created_at})")
    return EXIT_OK


def _restatements(args: argparse.Namespace) -> int:
    from .export import write_frame
    from .report.package import open_package
    from .report.restate import restate, summary

    out: Path | None = args.out
    if out is not None:
        _file_out(out, (".csv",), "--out")
    package = open_package(args.signoff)
    if args.lake is None and not package.from_lake:
        raise InvalidInputError(f"{args.signoff} was signed from a DataFrame: name a lake to compare with (--lake URL)")
    if args.lake is not None:
        _existing_lake(args.lake)
    found = restate(package, args.lake, storage_options=_storage_options(args))
    print(summary(found, package.created_at))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_frame(found, out)
        print(f"wrote {len(found):,} restated calls to {out}", file=sys.stderr)
    return EXIT_FAILED if len(found) else EXIT_OK


def _unlock(args: argparse.Namespace) -> int:
    from .lake import unlock_lake
    from .lake.faults import display_url

    removed = unlock_lake(args.lake, storage_options=_storage_options(args))
    if removed is None:
        print(f"no lock on {display_url(args.lake)}: nothing to break")
        return EXIT_OK
    holder = f"pid {removed['pid']} on host {removed['host']} since {removed['since']}"
    print(f"broke the lock of {holder} (its lease would have expired at {removed['expires']})")
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    from .simulator import Simulator

    try:
        simulator = Simulator(seed=args.seed, port=args.port, latency=args.latency, language=args.language).start()
    except OSError as exc:  # the port is taken (or not ours to bind): the user's choice, so exit 2
        raise InvalidInputError(
            f"--port {args.port}: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc}); "
            "pick another port, or --port 0 for any free one"
        ) from exc
    with simulator:
        print("NXCloud simulator (fake credentials, offline). Point nxframe at it with:", flush=True)
        for name, value in simulator.env().items():
            print(f"  export {name}={value}", flush=True)
        print("Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    data: Path = args.data
    if data.exists() and not data.is_dir():
        raise InvalidInputError(f"--data {str(data)!r} is a file; pass a folder (lake/ and reports/ go into it)")
    live = not args.offline and bool(os.environ.get(ENV_ACCESS_KEY)) and bool(os.environ.get(ENV_ACCESS_SECRET))
    # --proxy and --ca-bundle are for the API; the offline simulator is on this machine
    return run_demo(month=args.month, data=data, live=live, client=_client(args) if live else None)


# -- checks shared by the commands ------------------------------------------------------


def _storage_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--storage-option KEY=VALUE`` pairs as fsspec options; a key given twice is refused."""
    pairs: list[tuple[str, Any]] | None = getattr(args, "storage_options", None)
    if not pairs:
        return None
    options = dict(pairs)
    if len(options) < len(pairs):
        twice = sorted({key for key, _ in pairs if [k for k, _ in pairs].count(key) > 1})
        raise InvalidInputError(f"--storage-option {', '.join(twice)} given more than once; give each key once")
    return options


def _no_data(message: str) -> int:
    """A month with no data is a finding, not a bad argument: one line, exit 1, no file written."""
    print(f"nxframe: error: {message}", file=sys.stderr)
    return EXIT_FAILED


def _past_month(month: str) -> tuple[dt.date, dt.date]:
    """The first and last date of ``--month``; a month that has not begun is bad input, not an empty report."""
    from .report import month_range

    first, last = month_range(month)
    today = dt.date.today()
    if first > today:
        raise InvalidInputError(f"--month {month} is in the future (today is {today}): there is nothing to report yet")
    return first, last


def _file_out(out: Path, suffixes: tuple[str, ...], flag: str) -> None:
    """``--out`` must name a file of a known kind, not a folder: refused before any request."""
    if out.suffix.lower() not in suffixes:
        kinds = " or ".join(suffixes)
        raise InvalidInputError(f"{flag} must end in {kinds}, not {out.name!r}")
    if out.is_dir():
        example = out / ("calls" + out.suffix)
        raise InvalidInputError(f"{flag} {str(out)!r} is a folder; name a file inside it, e.g. {example}")


def _existing_lake(lake: str) -> None:
    """Reading commands need a lake that is there; a local path that is missing or a file is bad input."""
    if "://" in lake:
        return  # fsspec URLs: the lake itself says what is wrong
    path = Path(lake)
    if path.is_file():
        raise InvalidInputError(f"--lake {lake!r} is a file, not a lake folder; pass the folder `nxframe sync` wrote")
    if not path.exists():
        raise InvalidInputError(f"--lake {lake!r} does not exist; create it with `nxframe sync --lake {lake} ...`")


def _sync_hint(lake: str, first: dt.date, last: dt.date) -> str:
    return f"sync it first: nxframe sync --lake {lake} --start {first} --end {last}"


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fetch": _fetch,
    "sync": _sync,
    "check": _check,
    "audit": _audit,
    "report": _report,
    "verify": _verify,
    "restatements": _restatements,
    "unlock": _unlock,
    "simulate": _simulate,
    "demo": _demo,
}
