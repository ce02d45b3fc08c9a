"""``nxframe``: fetch, sync, check, audit, report, verify, restatements, simulate, demo.

Exit codes: 0 ok, 1 an API or data error or a finding (``check``: drift,
missing or damaged dates; ``audit``: calls off the billing rules; ``report``:
a month with no data; ``verify``: a sign-off package that changed;
``restatements``: calls changed since the sign-off), 2 bad arguments. Errors print one line on stderr
(``--debug``, before or after the command, adds the traceback); progress bars
go to stderr, results to stdout. Output cut short by a closed pipe
(``nxframe check ... | head``) ends quietly with 141, as a Unix tool killed by
SIGPIPE does.

The library's messages name Python parameters (``page_size``); here
:func:`flag_message` turns them into this command line's flags
(``--page-size``), in one place. The commands themselves are in
:mod:`nxframe.cli_commands`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .config import ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_BASE_URL
from .errors import InvalidInputError, LakeError, NxframeError
from .query import FILTERS
from .schema import COLUMNS

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_PIPE", "EXIT_USAGE", "build_parser", "flag_message", "main", "synopsis"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: 128 + SIGPIPE: what a shell reports for a tool whose reader went away (``| head``).
EXIT_PIPE = 141

#: Python parameter -> the flag that sets it here. Messages are rewritten with it, nothing else is.
FLAGS = {
    "allow_long": "--allow-long",
    "page_size": "--page-size",
    "refresh_days": "--refresh-days",
    **{rule.name: rule.flag for rule in FILTERS},
    "tz": "--tz",
    "lock_timeout": "--lock-timeout",
    "storage_options": "--storage-option",
    "proxy": "--proxy",
}
#: Settings that messages of any error name as Python calls: here they are the flags that set them.
#: (Client's ``verify`` is named only this way: ``verify`` alone is also sync's ``--verify`` and a command.)
_SETTINGS = {"Client(proxy=...)": "--proxy", "Client(verify=...)": "--ca-bundle"}
_CREDENTIALS = ("access_key", "access_secret")
COMMANDS = ("fetch", "sync", "check", "audit", "report", "verify", "restatements", "unlock", "simulate", "demo")


class UsageError(Exception):
    """Bad command-line arguments (exit 2), raised instead of argparse's own exit."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse prints usage and exits 2 itself; keep one line
        raise UsageError(message)


def _port(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535 (0 = any free one), not {text}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not 0 <= value <= 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be from 0 to 3600 seconds, not {text}")
    return value


def _columns_help() -> str:
    return "columns of the result:\n" + "\n".join(f"  {c.name:<20} {c.type_label()}" for c in COLUMNS)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; the README's synopsis is generated from it (:func:`synopsis`)."""
    debug = _Parser(add_help=False)
    # SUPPRESS: a subcommand's --debug sets it, but its absence does not undo a --debug given before.
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks and debug logs")
    parser = _Parser(
        prog="nxframe",
        description="NXCloud DID call records as typed, exact tables; a Parquet lake; monthly reports.",
        epilog=f"Credentials come from {ENV_ACCESS_KEY} and {ENV_ACCESS_SECRET} ({ENV_BASE_URL} optional); "
        "without them, try `nxframe demo`. Exit codes: 0 ok, 1 API or data error or a finding, 2 bad arguments.",
    )
    parser.add_argument("--version", action="version", version=f"nxframe {__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help="tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, text: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=text, description=kwargs.pop("description", text), parents=[debug], **kwargs
        )

    fetch = command(
        "fetch",
        "fetch a day or a date range",
        description="Fetch call records; print a per-day summary, or write them to --out.",
        epilog=_columns_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fetch.add_argument("start", metavar="START", help="first date, YYYY-MM-DD")
    fetch.add_argument("end", metavar="END", nargs="?", help="last date, inclusive (default: START)")
    for rule in FILTERS:
        choices = list(rule.codes) or None  # named values; free text otherwise
        fetch.add_argument(rule.flag, dest=rule.name, metavar=rule.metavar, help=rule.help, choices=choices)
    fetch.add_argument("--out", type=Path, metavar="FILE.parquet|.csv", help="write the rows to this file")
    fetch.add_argument("--lake", metavar="DIR", help="also persist each date into this lake folder or URL")
    fetch.add_argument("--tz", metavar="ZONE", help="zone of the API's times, e.g. Asia/Shanghai (default: naive)")
    fetch.add_argument("--page-size", type=_integer, default=999, metavar="N", help="rows per request, 1..999")
    fetch.add_argument("--allow-long", action="store_true", help="allow a range over 366 days")
    _storage(fetch)
    _network(fetch)

    sync = command("sync", "bring a Parquet lake up to date")
    _lake_range(sync)
    sync.add_argument("--refresh-days", type=_integer, default=2, metavar="N", help="re-fetch the last N days (2)")
    sync.add_argument("--verify", action="store_true", help="read every partition; re-fetch damaged or drifted ones")
    sync.add_argument(
        "--lock-timeout", type=_seconds, default=60.0, metavar="S", help="wait S seconds for another writer (60)"
    )
    _storage(sync)
    _network(sync)

    check = command("check", "compare a lake with the API; exit 1 on drift, missing or damaged dates")
    _lake_range(check)
    check.add_argument("--deep", action="store_true", help="also read every partition in full (finds damage)")
    _storage(check)
    _network(check)

    audit = command("audit", "check a month's calls against the fee rules; exit 1 when any is off")
    audit.add_argument("--lake", required=True, metavar="DIR", help="lake folder or fsspec URL")
    audit.add_argument("--month", required=True, metavar="YYYY-MM", help="the month to check")
    audit.add_argument("--out", type=Path, metavar="FILE.csv", help="write the flagged calls (exact decimals)")
    _storage(audit)

    report = command("report", "the monthly report of a lake; exit 1 for a month with no data")
    report.add_argument("--lake", required=True, metavar="DIR", help="lake folder or fsspec URL")
    report.add_argument("--month", required=True, metavar="YYYY-MM", help="the month to report")
    report.add_argument("--out", required=True, type=Path, metavar="FILE.xlsx|FILE.html|DIR", help="where to write")
    report.add_argument("--sync", action="store_true", help="sync the month into the lake first")
    report.add_argument("--signoff", type=Path, metavar="DIR", help="also sign the month off into this new folder")
    _storage(report)
    _network(report)

    verify = command("verify", "check a sign-off package; exit 1 when a file of it changed")
    verify.add_argument("--signoff", required=True, type=Path, metavar="DIR", help="the package's folder")

    restate = command("restatements", "calls added, removed or changed since a sign-off; exit 1 when any")
    restate.add_argument("--signoff", required=True, type=Path, metavar="DIR", help="the package's folder")
    restate.add_argument("--lake", metavar="URL", help="compare with this lake (default: the one signed from)")
    restate.add_argument("--out", type=Path, metavar="FILE.csv", help="write the restated calls (exact decimals)")
    _storage(restate)

    unlock = command("unlock", "break a lake's lock left by a writer that died; prints whose it was")
    unlock.add_argument("--lake", required=True, metavar="URL", help="lake folder or fsspec URL")
    _storage(unlock)

    simulate = command("simulate", "run the local NXCloud simulator in the foreground")
    simulate.add_argument("--port", type=_port, default=8765, metavar="P", help="port on 127.0.0.1 (8765; 0 = any)")
    simulate.add_argument("--seed", type=_integer, default=0, metavar="S", help="data seed (default 0)")
    simulate.add_argument("--latency", type=_seconds, default=0.0, metavar="SECONDS", help="delay before each answer")
    simulate.add_argument(
        "--language",
        choices=["en", "zh"],
        default="en",
        metavar="en|zh",
        help="country and reason names in English (en) or Chinese (zh), as an account set to it gets them",
    )

    demo = command("demo", "the whole job offline: simulator -> lake -> report -> sign-off")
    demo.add_argument("--offline", action="store_true", help="use the simulator even if credentials are set")
    demo.add_argument("--month", metavar="YYYY-MM", help="the month (default: last month)")
    demo.add_argument(
        "--data", type=Path, default=Path("data"), metavar="DIR", help="where lake/, reports/ and signoff/ go"
    )
    _network(demo)
    return parser


def _network(parser: argparse.ArgumentParser) -> None:
    """The flags of every command that talks to the API; the environment (HTTPS_PROXY, ...) applies without them."""
    parser.add_argument("--proxy", metavar="URL", help="proxy for the API (default: HTTPS_PROXY, ALL_PROXY, NO_PROXY)")
    parser.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="CA bundle to trust (default: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, or the system store)",
    )


def _storage_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``: VALUE as JSON when it parses (``true``, ``30``, ``{...}``), else as text (never echoed)."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError("must be KEY=VALUE, e.g. endpoint_url=http://127.0.0.1:9000")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def _storage(parser: argparse.ArgumentParser) -> None:
    """``--storage-option KEY=VALUE`` (repeatable): fsspec options for a lake on object storage."""
    parser.add_argument(
        "--storage-option",
        dest="storage_options",
        action="append",
        type=_storage_option,
        metavar="KEY=VALUE",
        help="an fsspec option for the lake, e.g. endpoint_url=URL (repeatable; default: AWS_* variables)",
    )


def _lake_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", required=True, metavar="DIR", help="lake folder or fsspec URL")
    parser.add_argument("--start", required=True, metavar="D", help="first date, YYYY-MM-DD")
    parser.add_argument("--end", required=True, metavar="D", help="last date, YYYY-MM-DD")


def synopsis() -> str:
    """One usage line per command, from the parser itself: the README's "Command line" block."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = []
    for name in COMMANDS:
        usage = action.choices[name].format_usage().strip().removeprefix("usage: ")
        lines.append(" ".join(usage.replace("[-h] ", "").replace("[--debug] ", "").split()))
    return "\n".join(lines)


def flag_message(error: BaseException) -> str:
    """An error's message in this command line's words: flags for parameters, env vars for credentials.

    The terminal is not a canvas: the server's text in it is cut to 300
    characters and every control or escape character shows as ``\\x1b``.
    """
    from .outputs import error_text

    text = error_text(error)
    if isinstance(error, InvalidInputError) and error.parameter in _CREDENTIALS:
        return (
            f"no NXCloud credentials: set {ENV_ACCESS_KEY} and {ENV_ACCESS_SECRET} in the environment "
            f"({ENV_BASE_URL} optional). To try nxframe offline: `nxframe demo`, or run `nxframe simulate` "
            "and export the variables it prints"
        )
    if isinstance(error, LakeError):  # a writer that waited too long, a store's settings: the parameters it names
        text = text.replace("(lock_timeout)", "(--lock-timeout)")
        text = re.sub(r"(?<![\w/.'\"-])storage_options(?![\w/.'\"-])", "--storage-option", text)  # not in a path
    for setting, flag in _SETTINGS.items():  # ProxyError, TLSError and refused settings say where they came from
        text = text.replace(setting, flag)
    if isinstance(error, InvalidInputError):
        for name, flag in FLAGS.items():
            text = re.sub(rf"(?<![\w-]){name}=True\b", flag, text)
            text = re.sub(rf"(?<![\w-]){name}(?![\w-])", flag, text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    for stream in (sys.stdout, sys.stderr):  # a name a terminal's encoding lacks shows as \u6cf0, never a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return _run(arguments)
    except UsageError as exc:
        print(f"nxframe: error: {exc} (see nxframe --help)", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return _quiet_pipe()
    except InvalidInputError as exc:
        _report(exc, debug)
        return EXIT_USAGE
    except NxframeError as exc:
        _report(exc, debug)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("nxframe: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file the user named could not be written (disk full, permissions)
        _report(exc, debug)
        return EXIT_FAILED


def _run(arguments: list[str]) -> int:
    args = build_parser().parse_args(arguments)
    if args.command is None:
        raise UsageError(f"a command is required: {', '.join(COMMANDS)}")
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.debug:  # their debug logs print signed request headers (access key id, session token): not ours to show
        for chatty in ("botocore", "aiobotocore", "s3fs"):
            logging.getLogger(chatty).setLevel(logging.INFO)
    from .cli_commands import HANDLERS

    code = HANDLERS[args.command](args)
    sys.stdout.flush()  # a closed pipe shows here, inside the handler of BrokenPipeError
    return code


def _quiet_pipe() -> int:
    """The reader of stdout went away: stop without a word, and keep Python's exit flush from complaining."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"nxframe: error: {type(exc).__name__}: {flag_message(exc)}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
