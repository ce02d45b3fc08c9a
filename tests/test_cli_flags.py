"""Each command-line flag does what its help says, shown by its effect on the simulator, the lake or the output.

Most run ``nxframe.cli.main([...])`` in this process (fast: no interpreter start);
the console script ``nxframe`` and ``python -m nxframe`` are run for real once each,
as a user's shell or a cron job runs them.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import nxframe
from nxframe.cli import main
from nxframe.export import read_frame
from nxframe.lake import Lake
from nxframe.simulator import Simulator

DAY = "2024-03-05"
MARCH = ("2024-03-01", "2024-03-03")
#: The console script pip installed next to this interpreter (``.venv/bin/nxframe``).
CONSOLE_SCRIPT = Path(sys.executable).parent / "nxframe"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``nxframe ARGS`` run in this process."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _clean_env(sim: Simulator | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    return env | (sim.env() if sim is not None else {})


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A simulator of 20 calls a day that the environment points at, as after `nxframe simulate`'s exports."""
    with Simulator(seed=7, rows_per_day=20) as simulator:
        for name, value in simulator.env().items():
            monkeypatch.setenv(name, value)
        yield simulator


@pytest.fixture
def pointed(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """The conftest simulator (seed 7, a day of a few hundred calls), with the environment pointing at it."""
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    return sim


# -- nxframe itself -----------------------------------------------------------------------------


def test_version_prints_nxframes_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match=r"^0$"):  # argparse's version action exits 0 after printing
        main(["--version"])
    assert capsys.readouterr().out == f"nxframe {nxframe.__version__}\n"


def test_python_dash_m_nxframe_is_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nxframe", "--version"], capture_output=True, text=True, env=_clean_env(), timeout=120
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"nxframe {nxframe.__version__}\n", "")


def test_the_console_script_serves_a_simulator_and_fetches_from_it(tmp_path: Path) -> None:
    """``nxframe simulate --seed 5 --latency 0.3`` and ``nxframe fetch``, both the installed script, end to end.

    The seed decides the calls (seed 5's, not the default seed 0's); the
    latency holds every answer at least that long.
    """
    assert CONSOLE_SCRIPT.is_file(), f"{CONSOLE_SCRIPT} is missing: install nxframe (pip install -e .)"
    version = subprocess.run([CONSOLE_SCRIPT, "--version"], capture_output=True, text=True, timeout=120)
    assert (version.returncode, version.stdout) == (0, f"nxframe {nxframe.__version__}\n")

    latency = 0.3
    server = subprocess.Popen(
        [CONSOLE_SCRIPT, "simulate", "--port", "0", "--seed", "5", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(4)]
        env = dict(line.strip().removeprefix("export ").split("=", 1) for line in lines[1:4])
        out = tmp_path / "calls.parquet"
        fetched = subprocess.run(
            [CONSOLE_SCRIPT, "fetch", DAY, "--out", str(out)],
            capture_output=True,
            text=True,
            env=_clean_env() | env,
            timeout=120,
        )
        assert fetched.returncode == 0, fetched.stderr
        assert f"wrote {len(read_frame(out)):,} rows to {out}" in fetched.stdout

        with nxframe.Client(
            env["NXCLOUD_ACCESS_KEY"], env["NXCLOUD_ACCESS_SECRET"], base_url=env["NXCLOUD_BASE_URL"]
        ) as c:
            started = time.monotonic()
            c.fetch_cdr(DAY, progress=False)  # one page: one answer
            waited = time.monotonic() - started
            assert c.transport.requests_sent == 1
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    assert waited >= latency  # a lower bound only: the simulator slept before answering
    with Simulator(seed=5) as seed_5, Simulator(seed=0) as seed_0:
        truth = seed_5.ground_truth(DAY)
        assert not truth.equals(seed_0.ground_truth(DAY))  # the seed is what makes the calls differ
    pd.testing.assert_frame_equal(read_frame(out), truth)


# -- fetch ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "column", "field"), [("--did", "did_number", "didNumber"), ("--call", "call_number", "callNumber")]
)
def test_fetch_did_and_call_return_only_that_numbers_calls(
    pointed: Simulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, flag: str, column: str, field: str
) -> None:
    everything = pointed.ground_truth(DAY)
    number = everything[column].value_counts().index[0]  # the number with the most calls that day
    truth = pointed.ground_truth(DAY, **{column: number})
    assert 0 < len(truth) < len(everything)
    out = tmp_path / "calls.parquet"
    code, stdout, _ = cli(capsys, "fetch", DAY, flag, number, "--out", str(out))
    assert code == 0 and f"wrote {len(truth):,} rows" in stdout
    pd.testing.assert_frame_equal(read_frame(out), truth)
    assert {r.body[field] for r in pointed.requests if r.body} == {number}  # the server filtered, as asked


def test_fetch_page_size_sets_the_rows_per_request(pointed: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    rows = len(pointed.records(DAY))
    code, stdout, _ = cli(capsys, "fetch", DAY, "--page-size", "100")
    assert code == 0
    sizes = [r.body["pageSize"] for r in pointed.requests if r.body]
    assert sizes == [100] * -(-rows // 100)
    assert f" {rows} " in stdout  # the day's line counts every call


def test_fetch_tz_and_lake_persist_a_lake_in_that_zone(
    small: Simulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    code, stdout, _ = cli(capsys, "fetch", *MARCH, "--tz", "Asia/Shanghai", "--lake", str(lake))
    assert code == 0 and stdout.count("\n2024-03-0") == 3  # the per-day summary, one line per date
    assert Lake(lake).recorded_query() == {
        "did_number": None,
        "call_number": None,
        "call_type": None,
        "tz": "Asia/Shanghai",
    }
    stored = nxframe.read_lake(lake)
    assert str(stored["start_time"].dtype) == "datetime64[s, Asia/Shanghai]"
    pd.testing.assert_frame_equal(stored, small.ground_truth(*MARCH, tz="Asia/Shanghai"))


def test_fetch_allow_long_lets_a_range_over_366_days_reach_the_api(
    small: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the flag nothing is sent; with it the dates are asked (every one refused here, so it stops quickly)."""
    first, last = dt.date(2023, 1, 1), dt.date(2024, 1, 2)  # 367 dates
    code, _, stderr = cli(capsys, "fetch", str(first), str(last))
    assert code == 2 and "pass --allow-long if you mean it" in stderr
    assert small.requests == []

    small.faults.add("code_1002", times=None)
    code, _, stderr = cli(capsys, "fetch", str(first), str(last), "--allow-long")
    assert code == 1 and "ParameterError" in stderr
    asked = {dt.date.fromisoformat(r.body["date"]) for r in small.requests if r.body}
    assert first in asked and all(first <= date <= last for date in asked)


# -- sync, report, unlock -------------------------------------------------------------------------------


def test_sync_verify_fetches_drifted_and_damaged_dates_a_plain_sync_skips(
    small: Simulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lake = str(tmp_path / "lake")
    assert cli(capsys, "sync", "--lake", lake, "--start", MARCH[0], "--end", MARCH[1])[0] == 0
    small.add_calls("2024-03-02", 3)  # drift: the API has more calls than the lake
    part = tmp_path / "lake" / "date=2024-03-03" / "part-0.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 64] = bytes(64)  # damage inside the column data; the footer still reads
    part.write_bytes(bytes(data))

    def actions(stdout: str) -> dict[str, str]:
        return {line.split()[0]: line.split()[1] for line in stdout.splitlines() if line.startswith("2024-")}

    code, stdout, _ = cli(capsys, "sync", "--lake", lake, "--start", MARCH[0], "--end", MARCH[1])
    assert code == 0 and actions(stdout) == dict.fromkeys(["2024-03-01", "2024-03-02", "2024-03-03"], "skipped")

    code, stdout, _ = cli(capsys, "sync", "--lake", lake, "--start", MARCH[0], "--end", MARCH[1], "--verify")
    assert code == 0
    assert actions(stdout) == {"2024-03-01": "skipped", "2024-03-02": "refreshed", "2024-03-03": "refreshed"}
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), small.ground_truth(*MARCH))


def test_report_sync_syncs_the_month_first(
    small: Simulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lake, out = str(tmp_path / "lake"), tmp_path / "report.html"
    code, _, stderr = cli(capsys, "report", "--lake", lake, "--month", "2024-02", "--out", str(out))
    assert code == 2 and "does not exist" in stderr and small.requests == []  # without --sync: no lake, no report

    code, stdout, _ = cli(capsys, "report", "--lake", lake, "--month", "2024-02", "--out", str(out), "--sync")
    assert code == 0 and f"wrote {out}" in stdout
    assert Lake(lake).dates() == [dt.date(2024, 2, day) for day in range(1, 30)]
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), small.ground_truth("2024-02-01", "2024-02-29"))
    assert out.is_file() and "Complete" in stdout


def test_unlock_of_a_lake_nobody_writes_says_so_and_keeps_it(
    small: Simulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    assert cli(capsys, "sync", "--lake", str(lake), "--start", MARCH[0], "--end", MARCH[0])[0] == 0
    code, stdout, _ = cli(capsys, "unlock", "--lake", str(lake))
    assert (code, stdout) == (0, f"no lock on {lake}: nothing to break\n")
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), small.ground_truth(MARCH[0]))
