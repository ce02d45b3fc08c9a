"""The command line, as a user or a cron job runs it, talking to the simulator over HTTP.

Each test asserts the exit code and, for a failure, the one line on stderr.
``run`` calls ``nxframe.cli.main`` (what the console script calls) in this
process, with the environment and streams a shell would give it: a new
interpreter per command would only add its start-up time. ``run_process``
starts a real ``python -m nxframe`` where the process itself is under test
(its logging set-up, a closed pipe, a server in the foreground);
test_cli_flags.py runs the installed ``nxframe`` script.
Tests that only read share one simulator (``shared``) and one synced lake;
tests that change the simulator's data or faults take their own (``sim``).
Issue 15's points are named in the docstrings (``#15.1`` ...).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import Demo

import nxframe
from nxframe.cli import main
from nxframe.simulator import Simulator

DAY = "2024-03-05"
LAKE_START, LAKE_END = "2024-03-01", "2024-03-03"


def _env(sim: Simulator | None, secret: str | None) -> dict[str, str]:
    """The NXCLOUD_* variables a user pointed at ``sim`` has (none without one)."""
    if sim is None:
        return {}
    return sim.env() | ({} if secret is None else {"NXCLOUD_ACCESS_SECRET": secret})


def run(sim: Simulator | None, *args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    """``nxframe ARGS`` in this process: its exit code, stdout and stderr (``--help`` exits as argparse does)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        for name in ("NXCLOUD_ACCESS_KEY", "NXCLOUD_ACCESS_SECRET", "NXCLOUD_BASE_URL"):
            patch.delenv(name, raising=False)
        for name, value in _env(sim, secret).items():
            patch.setenv(name, value)
        try:
            code = main(list(args))
        except SystemExit as stopped:  # argparse's --help and --version
            code = stopped.code if isinstance(stopped.code, int) else 1
    return subprocess.CompletedProcess(["nxframe", *args], code, out.getvalue(), err.getvalue())


def run_process(sim: Simulator | None, *args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m nxframe ARGS`` in a process of its own, as a shell starts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | _env(sim, secret)
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *args], capture_output=True, text=True, env=env, timeout=120
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line a failure prints (no traceback, no second line)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def shared() -> Iterator[Simulator]:
    """One simulator for the tests that only read from it."""
    with Simulator(seed=7) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def lake(shared: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake of three dates, synced through the CLI; tests read it, never change it."""
    folder = tmp_path_factory.mktemp("cli") / "lake"
    result = run(shared, "sync", "--lake", str(folder), "--start", LAKE_START, "--end", LAKE_END)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("fetched") == 4  # three rows and the summary line
    return folder


def test_help_lists_every_subcommand() -> None:
    result = run(None, "--help")
    assert result.returncode == 0
    for command in ("fetch", "sync", "check", "audit", "report", "simulate", "demo"):
        assert command in result.stdout
    fetch_help = run(None, "fetch", "--help").stdout
    assert "call_price" in fetch_help and "decimal128(18, 6)" in fetch_help


def test_no_command_is_a_usage_error_on_stderr() -> None:
    """#15.6: one convention for bad invocations: usage error, one line on stderr, exit 2."""
    result = run(None)
    assert result.returncode == 2
    assert result.stdout == ""
    assert one_line(result).startswith("nxframe: error: a command is required: fetch, sync, check, audit")


def test_fetch_prints_exact_daily_totals(shared: Simulator) -> None:
    result = run(shared, "fetch", "2024-03-04", "2024-03-05")
    assert result.returncode == 0, result.stderr
    truth = shared.ground_truth("2024-03-04", "2024-03-05")
    for date, day in truth.groupby("date"):
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(f"{date:%Y-%m-%d}"))
        assert str(len(day)) in line.split()
        assert str(day["call_price"].sum()) in line.split()


def test_dates_without_calls_show_with_zero_and_an_empty_fetch_says_so(shared: Simulator) -> None:
    """#15.6: a zero-row date stays in the per-day summary; an empty result is one clear line."""
    tomorrow = dt.date.today() + dt.timedelta(days=1)  # the simulator has no calls after today
    today = dt.date.today()
    result = run(shared, "fetch", str(today), str(tomorrow))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith(str(tomorrow)))
    assert [Decimal(value) for value in line.split()[1:]] == [0, 0, 0, 0]  # calls, answered, minutes, cost

    empty = run(shared, "fetch", str(tomorrow))
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == f"no calls on {tomorrow} (1 date asked, 0 rows)"
    assert "Empty DataFrame" not in empty.stdout


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_fetch_out_writes_a_file_with_exact_decimals(shared: Simulator, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"calls{suffix}"
    result = run(shared, "fetch", DAY, "--type", "incoming", "--out", str(out))
    assert result.returncode == 0, result.stderr
    truth = shared.ground_truth(DAY, call_type="incoming")
    if suffix == ".parquet":
        table = pq.read_table(out)
        assert str(table.schema.field("call_price").type) == "decimal128(18, 6)"
        assert table.num_rows == len(truth)
        assert pd.Series(table.column("call_price").to_pylist()).sum() == truth["call_price"].sum()
    else:
        text = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert len(text) == len(truth)
        assert [Decimal(v) for v in text["call_price"]] == list(truth["call_price"])
        assert text["call_price"].iloc[0].count(".") == 1 and len(text["call_price"].iloc[0].split(".")[1]) == 6


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("fetch", "2024-13-01"), "not a real calendar date"),
        (("fetch", DAY, "--type", "sideways"), "invalid choice"),
        (("fetch", DAY, "--out", "calls.xlsx"), "--out must end in .parquet or .csv"),
        (("sync", "--lake", "x"), "required"),
        # #15.4: the CLI speaks in flags, never in Python parameter names
        (("fetch", DAY, "--page-size", "1000"), "--page-size must be an integer from 1 to 999"),
        (("fetch", "2021-01-01", "2022-12-31"), "more than 366; pass --allow-long if you mean it"),
        (("fetch", DAY, "--did", "66 12"), "--did must be digits"),
        (("fetch", DAY, "--call", "12ab"), "--call must be digits"),
        (("fetch", DAY, "--tz", "Mars/Olympus"), "--tz must be an IANA zone name"),
        (("sync", "--lake", "x", "--start", DAY, "--end", DAY, "--refresh-days", "-1"), "--refresh-days"),
        # #15.3: bad numbers for the simulator are usage errors, not tracebacks or silent failures
        (("simulate", "--port", "99999"), "must be a port from 0 to 65535"),
        (("simulate", "--latency", "-1"), "must be from 0 to 3600 seconds"),
        # #15.6: a month not begun yet is said so, not a lake message
        (("demo", "--month", "2030-01"), "--month 2030-01 is in the future"),
        (("report", "--lake", "x", "--month", "2030-01", "--out", "r.html"), "--month 2030-01 is in the future"),
        (("audit", "--lake", "x", "--month", "2030-01"), "--month 2030-01 is in the future"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_in_flags(shared: Simulator, args: tuple[str, ...], words: str) -> None:
    before = len(shared.requests)
    result = run(shared, *args)
    assert result.returncode == 2, result.stderr
    line = one_line(result)
    assert words in line
    for python_name in ("page_size", "allow_long", "did_number", "call_number", "refresh_days", "tz="):
        assert python_name not in line
    assert len(shared.requests) == before  # nothing was sent


def test_an_api_error_exits_1_with_one_line_and_no_secret(shared: Simulator) -> None:
    result = run(shared, "fetch", DAY, secret="wrong-secret-123")
    assert result.returncode == 1
    line = one_line(result)
    assert "AuthError" in line and "NXCLOUD_ACCESS_SECRET" in line
    assert "wrong-secret-123" not in result.stderr + result.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command_shows_the_traceback(shared: Simulator, where: str) -> None:
    """#15.5: ``--debug`` is accepted on either side of the subcommand."""
    args = ["--debug", "fetch", DAY] if where == "before" else ["fetch", DAY, "--debug"]
    result = run(shared, *args, secret="wrong-secret-123")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "wrong-secret-123" not in result.stderr + result.stdout


def test_missing_credentials_exit_2_naming_the_variables_and_the_offline_commands() -> None:
    """#15.4: the CLI's message names env vars and `nxframe demo`/`nxframe simulate`, not nxframe.Client."""
    result = run(None, "fetch", DAY)
    assert result.returncode == 2
    line = one_line(result)
    assert "NXCLOUD_ACCESS_KEY and NXCLOUD_ACCESS_SECRET" in line
    assert "nxframe demo" in line and "nxframe simulate" in line
    assert "nxframe.Client" not in line and "access_key=" not in line


def test_check_exits_1_on_missing_dates(shared: Simulator, lake: Path) -> None:
    """#15.1: a cron job can tell: a missing date is exit 1 with one line on stderr."""
    result = run(shared, "check", "--lake", str(lake), "--start", LAKE_START, "--end", "2024-03-04")
    assert result.returncode == 1
    statuses = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines() if line.startswith("2024")}
    assert statuses == {"2024-03-01": "match", "2024-03-02": "match", "2024-03-03": "match", "2024-03-04": "missing"}
    assert "missing" in one_line(result)


def test_check_exits_0_when_everything_matches(shared: Simulator, lake: Path) -> None:
    result = run(shared, "check", "--lake", str(lake), "--start", LAKE_START, "--end", LAKE_END)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "3 match"


def test_check_exits_1_on_drift_and_deep_finds_damage(sim: Simulator, tmp_path: Path) -> None:
    """#15.1: drift (the API has more rows) and a damaged partition (``--deep``) are findings: exit 1."""
    lake = tmp_path / "lake"
    assert run(sim, "sync", "--lake", str(lake), "--start", LAKE_START, "--end", LAKE_END).returncode == 0
    sim.add_calls("2024-03-02", 3)
    part = lake / "date=2024-03-03" / "part-0.parquet"
    data = bytearray(part.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 64] = bytes(64)  # zeros inside the column data; the footer stays readable
    part.write_bytes(bytes(data))

    # a process of its own: the log lines naming the damaged file come from the CLI's logging set-up
    result = run_process(sim, "check", "--lake", str(lake), "--start", LAKE_START, "--end", LAKE_END, "--deep")
    assert result.returncode == 1
    statuses = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines() if line.startswith("2024")}
    assert statuses == {"2024-03-01": "match", "2024-03-02": "drift", "2024-03-03": "damaged"}
    *warnings, last = result.stderr.strip().splitlines()
    assert "drift and damaged" in last and "nxframe sync --verify" in last
    assert warnings, "the log names the damaged file"
    assert [line for line in warnings if "part-0.parquet is unreadable" not in line] == []


@pytest.mark.parametrize("command", ["check", "report", "audit"])
def test_reading_commands_refuse_a_lake_that_is_not_there_or_is_a_file(
    shared: Simulator, tmp_path: Path, command: str
) -> None:
    """#15.1/#15.4: a missing lake is bad input (exit 2, nothing sent); a file is not "created if missing"."""
    dates = ["--start", LAKE_START, "--end", LAKE_END] if command == "check" else ["--month", "2024-03"]
    out = ["--out", str(tmp_path / "r.html")] if command == "report" else []
    before = len(shared.requests)
    missing = run(shared, command, "--lake", str(tmp_path / "nowhere"), *dates, *out)
    assert missing.returncode == 2
    assert "does not exist" in one_line(missing)

    a_file = tmp_path / "calls.parquet"
    a_file.write_bytes(b"not a lake")
    refused = run(shared, command, "--lake", str(a_file), *dates, *out)
    assert refused.returncode == 2
    line = one_line(refused)
    assert "is a file, not a lake folder" in line and "created if missing" not in line
    assert len(shared.requests) == before


def test_sync_calls_future_dates_future_and_does_not_write_them(shared: Simulator, tmp_path: Path) -> None:
    """#15.6: a date after today is ``future``, not ``skipped`` (the word for dates already there)."""
    today = dt.date.today()
    lake = tmp_path / "lake"
    result = run(shared, "sync", "--lake", str(lake), "--start", str(today), "--end", str(today + dt.timedelta(days=2)))
    assert result.returncode == 0, result.stderr
    actions = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.startswith("20")}
    assert actions[str(today + dt.timedelta(days=1))] == "future"
    assert actions[str(today + dt.timedelta(days=2))] == "future"
    assert not (lake / f"date={today + dt.timedelta(days=1)}").exists()


def test_sync_exits_1_when_a_date_failed(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.add("code_1002", times=None, date="2024-03-02")
    result = run(sim, "sync", "--lake", str(tmp_path / "lake"), "--start", LAKE_START, "--end", LAKE_END)
    assert result.returncode == 1
    assert "failed" in result.stdout and "ParameterError" in result.stdout
    assert result.stdout.count("fetched") >= 2


def test_report_over_a_month_without_data_exits_1_and_writes_nothing(shared: Simulator, lake: Path) -> None:
    """#15.2: a month the lake has no date of is said loudly, not a report of zeros."""
    out = lake.parent / "empty-month.html"
    result = run(shared, "report", "--lake", str(lake), "--month", "2024-02", "--out", str(out))
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("nxframe: error: no data for 2024-02 in ")
    assert "nxframe sync --lake" in line and "--start 2024-02-01 --end 2024-02-29" in line
    assert not out.exists()


def test_report_of_a_partial_month_writes_the_file(shared: Simulator, lake: Path) -> None:
    out = lake.parent / "reports" / "march.html"
    result = run(shared, "report", "--lake", str(lake), "--month", "2024-03", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_file() and "wrote" in result.stdout


def test_audit_of_a_clean_month_exits_0(shared: Simulator, lake: Path) -> None:
    result = run(shared, "audit", "--lake", str(lake), "--month", "2024-03")
    assert result.returncode == 0, result.stderr
    rows = len(shared.ground_truth(LAKE_START, LAKE_END))
    assert result.stdout.splitlines()[0] == f"{rows:,} calls checked, 0 off the rules, overcharge 0.000000 CNY"


def test_audit_finds_exactly_the_calls_billed_off_the_rules_and_exits_1(tmp_path: Path) -> None:
    """Issue 14 item 4: a cron job is alerted (exit 1); --out holds the flagged calls as exact decimal text."""
    lake, out = tmp_path / "lake", tmp_path / "flagged" / "audit.csv"
    with Simulator(seed=7, off_rule=0.01) as sim:
        assert run(sim, "sync", "--lake", str(lake), "--start", LAKE_START, "--end", LAKE_END).returncode == 0
        result = run(sim, "audit", "--lake", str(lake), "--month", "2024-03", "--out", str(out))
        planted = sim.off_rule_calls(LAKE_START, LAKE_END)
        truth = sim.ground_truth(LAKE_START, LAKE_END).set_index("id")
    assert result.returncode == 1, result.stderr
    assert len(planted) >= 3
    assert result.stdout.splitlines()[0].startswith(f"{len(truth):,} calls checked, {len(planted)} off the rules")
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert sorted(int(i) for i in written["id"]) == sorted(planted)
    for row in written.itertuples():
        assert row.call_price == str(truth.loc[int(row.id), "call_price"])  # every digit, as the API sent it
        assert Decimal(row.overcharge) == Decimal(row.call_price) - Decimal(row.expected_price)
    assert f"wrote {len(planted)} flagged calls to {out}" in result.stdout


def test_audit_bad_month_is_exit_2(shared: Simulator, lake: Path) -> None:
    result = run(shared, "audit", "--lake", str(lake), "--month", "2024-13")
    assert result.returncode == 2
    assert "2024-13" in one_line(result)


def test_out_pointing_at_a_folder_is_bad_input(shared: Simulator, lake: Path, tmp_path: Path) -> None:
    """#15.3: ``--out`` naming an existing folder is exit 2 before any work, not an OSError exit 1."""
    folder = tmp_path / "calls.csv"
    folder.mkdir()
    html_folder = tmp_path / "report.html"
    html_folder.mkdir()
    for args in (
        ("fetch", DAY, "--out", str(folder)),
        ("report", "--lake", str(lake), "--month", "2024-03", "--out", str(html_folder)),
        ("audit", "--lake", str(lake), "--month", "2024-03", "--out", str(folder)),
    ):
        result = run(shared, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "is a folder" in one_line(result)


def test_demo_shows_the_billing_check_and_one_anomaly_of_each_kind(demo: Demo) -> None:
    """Issue 14: `make demo` prints the billing-check line and every anomaly kind; the HTML has every section."""
    from nxframe.report import KINDS

    result, data = demo.result, demo.data  # the session's `make demo DATA=...` (conftest.py)
    lines = result.stdout.splitlines()
    check = next(line for line in lines if "Billing check:" in line)
    assert " calls checked, " in check and " 0 off the rules" not in check
    assert any("Compared with " in line and "cost" in line for line in lines)
    for kind in KINDS:
        assert any(f"Anomaly {kind}:" in line for line in lines), kind
    (html,) = (data / "reports").glob("cdr-report-*.html")
    text = html.read_text(encoding="utf-8")
    assert "Billing check" in text and "Compared with" in text and "Anomalies" in text
    assert "nxframe audit --lake" in result.stdout  # the next commands, with the demo's month filled in


def test_demo_data_pointing_at_a_file_is_bad_input(tmp_path: Path) -> None:
    """#15.3: one line, exit 2; before the fix it printed raw NotADirectoryError rows and exited 1."""
    a_file = tmp_path / "data"
    a_file.write_text("x")
    result = run(None, "demo", "--offline", "--data", str(a_file))
    assert result.returncode == 2
    assert "--data" in one_line(result) and "is a file" in one_line(result)
    assert result.stdout == ""


def test_a_closed_pipe_ends_quietly_with_141(shared: Simulator) -> None:
    """#15.3: ``nxframe ... | head`` whose reader went away: no message, exit 141 (128 + SIGPIPE), as Unix tools."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}, **shared.env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "nxframe", "fetch", LAKE_START, LAKE_END],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before a byte is written: every write hits EPIPE
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=120) == 141
    assert stderr == b""


def test_simulate_on_a_port_in_use_is_bad_input(shared: Simulator) -> None:
    """#15.3: exit 2 and a line that says what to do, not an OSError."""
    port = int(shared.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # the port is really taken
    result = run(None, "simulate", "--port", str(port))
    assert result.returncode == 2
    assert f"--port {port}" in one_line(result) and "--port 0" in one_line(result)


def test_simulate_prints_the_port_it_bound() -> None:
    """`nxframe simulate --port 0` binds a free port first, then prints the environment that reaches it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nxframe", "simulate", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        env = dict(line.strip().removeprefix("export ").split("=", 1) for line in lines[1:4])
        assert not env["NXCLOUD_BASE_URL"].endswith(":0")
        with nxframe.Client(
            env["NXCLOUD_ACCESS_KEY"], env["NXCLOUD_ACCESS_SECRET"], base_url=env["NXCLOUD_BASE_URL"]
        ) as c:
            assert len(c.fetch_cdr(DAY, progress=False)) > 0
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
