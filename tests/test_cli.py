"""The command line, run as a user runs it: a subprocess talking to the simulator over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from nxframe.simulator import Simulator

DAY = "2024-03-05"


def run(
    sim: Simulator | None, *args: str, secret: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    if sim is not None:
        env.update(sim.env())
        if secret is not None:
            env["NXCLOUD_ACCESS_SECRET"] = secret
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *args], capture_output=True, text=True, env=env, timeout=120, cwd=cwd
    )


def test_help_lists_every_subcommand() -> None:
    result = run(None, "--help")
    assert result.returncode == 0
    for command in ("fetch", "sync", "check", "report", "simulate", "demo"):
        assert command in result.stdout
    fetch_help = run(None, "fetch", "--help").stdout
    assert "call_price" in fetch_help and "decimal128(18, 6)" in fetch_help


def test_fetch_prints_exact_daily_totals(sim: Simulator) -> None:
    result = run(sim, "fetch", "2024-03-04", "2024-03-05")
    assert result.returncode == 0, result.stderr
    truth = sim.ground_truth("2024-03-04", "2024-03-05")
    for date, day in truth.groupby("date"):
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(str(date)))
        assert str(len(day)) in line.split()
        assert str(day["call_price"].sum()) in line.split()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_fetch_out_writes_a_file_with_exact_decimals(sim: Simulator, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"calls{suffix}"
    result = run(sim, "fetch", DAY, "--type", "incoming", "--out", str(out))
    assert result.returncode == 0, result.stderr
    truth = sim.ground_truth(DAY, call_type="incoming")
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
        (("fetch", DAY, "--out", "calls.xlsx"), ".parquet or .csv"),
        (("sync", "--lake", "x"), "required"),
        (("fetch", DAY, "--page-size", "1000"), "from 1 to 999"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(sim: Simulator, args: tuple[str, ...], words: str) -> None:
    result = run(sim, *args)
    assert result.returncode == 2
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sim.requests == []


def test_an_api_error_exits_1_with_one_line_and_no_secret(sim: Simulator) -> None:
    result = run(sim, "fetch", DAY, secret="wrong-secret-123")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "AuthError" in result.stderr and "NXCLOUD_ACCESS_SECRET" in result.stderr
    assert "wrong-secret-123" not in result.stderr + result.stdout


def test_debug_shows_the_traceback(sim: Simulator) -> None:
    result = run(sim, "--debug", "fetch", DAY, secret="wrong-secret-123")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "wrong-secret-123" not in result.stderr + result.stdout


def test_missing_credentials_exit_2_naming_the_variables() -> None:
    result = run(None, "fetch", DAY)
    assert result.returncode == 2
    assert "NXCLOUD_ACCESS_KEY and NXCLOUD_ACCESS_SECRET" in result.stderr


def test_sync_and_check_print_their_tables(sim: Simulator, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = run(sim, "sync", "--lake", str(lake), "--start", "2024-03-01", "--end", "2024-03-03")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("fetched") == 4  # three rows and the summary
    sim.add_calls("2024-03-02", 3)
    checked = run(sim, "check", "--lake", str(lake), "--start", "2024-03-01", "--end", "2024-03-04")
    assert checked.returncode == 0, checked.stderr
    lines = {line.split()[0]: line.split() for line in checked.stdout.splitlines() if line.startswith("2024")}
    assert lines["2024-03-02"][-1] == "drift"
    assert lines["2024-03-01"][-1] == "match"
    assert lines["2024-03-04"][-1] == "missing"


def test_sync_exits_1_when_a_date_failed(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.add("code_1002", times=None, date="2024-03-02")
    result = run(sim, "sync", "--lake", str(tmp_path / "lake"), "--start", "2024-03-01", "--end", "2024-03-03")
    assert result.returncode == 1
    assert "failed" in result.stdout and "ParameterError" in result.stdout
    assert result.stdout.count("fetched") >= 2


def test_simulate_prints_the_port_it_bound() -> None:
    """`nxframe simulate --port 0` binds a free port first, then prints the environment that reaches it."""
    import nxframe

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
