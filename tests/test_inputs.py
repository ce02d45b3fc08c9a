"""Bad input: a clear error before any request, and nothing persisted is touched.

``BAD_INPUTS`` is also the README's "Bad input" table: a test checks that the
README shows every row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nxframe
from nxframe.query import CdrQuery
from nxframe.simulator import Simulator

# (what the user got wrong, the arguments, the error class, words of the message, taken literally)
PAGE_SIZE = "page_size must be an integer from 1 to 999"
CALL_TYPE = "call_type must be None, 'incoming' (0) or 'outgoing' (1)"
BAD_INPUTS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("a month that does not exist", {"start": "2022-13-01"}, nxframe.InvalidInputError, "not a real calendar date"),
    ("a date without dashes", {"start": "20221001"}, nxframe.InvalidInputError, "YYYY-MM-DD"),
    ("no date", {"start": None}, nxframe.InvalidInputError, "'YYYY-MM-DD' string or a datetime.date"),
    ("a datetime with a time", {"start": "2022-10-01 10:00"}, nxframe.InvalidInputError, "YYYY-MM-DD"),
    ("end before start", {"start": "2022-10-02", "end": "2022-10-01"}, nxframe.InvalidInputError, "before start"),
    (
        "a range over 366 days",
        {"start": "2021-01-01", "end": "2022-12-31"},
        nxframe.InvalidInputError,
        "allow_long=True",
    ),
    ("page_size 0", {"start": "2022-10-01", "page_size": 0}, nxframe.InvalidInputError, PAGE_SIZE),
    ("page_size 1000", {"start": "2022-10-01", "page_size": 1000}, nxframe.InvalidInputError, PAGE_SIZE),
    ("page_size as text", {"start": "2022-10-01", "page_size": "100"}, nxframe.InvalidInputError, PAGE_SIZE),
    ("an unknown call_type", {"start": "2022-10-01", "call_type": "inbound"}, nxframe.InvalidInputError, CALL_TYPE),
    ("call_type 2", {"start": "2022-10-01", "call_type": 2}, nxframe.InvalidInputError, CALL_TYPE),
    (
        "a DID number with spaces",
        {"start": "2022-10-01", "did_number": "66 2123"},
        nxframe.InvalidInputError,
        "did_number must be digits with an optional leading '+'",
    ),
    (
        "a call number with letters",
        {"start": "2022-10-01", "call_number": "12ab"},
        nxframe.InvalidInputError,
        "call_number must be digits with an optional leading '+'",
    ),
    (
        "an unknown time zone",
        {"start": "2022-10-01", "tz": "Mars/Olympus"},
        nxframe.InvalidInputError,
        "tz must be an IANA zone name",
    ),
]


@pytest.fixture
def lake(tmp_path: Path, sim: Simulator, client: nxframe.Client) -> Path:
    """A lake that already holds a day, to prove bad input leaves it alone."""
    path = tmp_path / "lake"
    client.fetch_cdr("2024-03-05", lake=path, progress=False)
    sim.reset()
    return path


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(("what", "arguments", "error", "words"), BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_is_refused_before_any_request(
    sim: Simulator, client: nxframe.Client, lake: Path, what: str, arguments: dict[str, Any], error: type, words: str
) -> None:
    before = _fingerprint(lake)
    with pytest.raises(error, match=re.escape(words)):
        nxframe.fetch_cdr(**arguments, client=client, lake=lake, progress=False)
    assert sim.requests == []
    assert _fingerprint(lake) == before


def test_invalid_input_is_a_value_error() -> None:
    assert issubclass(nxframe.InvalidInputError, ValueError)
    with pytest.raises(ValueError, match=r"start must be written YYYY-MM-DD \(e\.g\. '2024-03-01'\), not 'yesterday'"):
        nxframe.fetch_cdr("yesterday")


def test_a_lake_path_that_is_a_file(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    file = tmp_path / "lake.parquet"
    file.write_bytes(b"not a folder")
    with pytest.raises(nxframe.InvalidInputError, match="is a file"):
        client.fetch_cdr("2024-03-05", lake=file, progress=False)
    assert sim.requests == []
    assert file.read_bytes() == b"not a folder"


def test_a_lake_holding_another_query(sim: Simulator, client: nxframe.Client, lake: Path) -> None:
    before = _fingerprint(lake)
    with pytest.raises(nxframe.LakeError, match=r"holds all calls \(no filters\).*asks for calls with did_number=66"):
        client.fetch_cdr("2024-03-06", did_number="66", lake=lake, progress=False)
    with pytest.raises(nxframe.LakeError, match="times in Asia/Shanghai"):
        client.fetch_cdr("2024-03-06", tz="Asia/Shanghai", lake=lake, progress=False)
    assert sim.requests == []
    assert _fingerprint(lake) == before


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("http://api2.nxcloud.com", "https://"),
        ("ftp://api2.nxcloud.com", "must look like"),
        ("api2.nxcloud.com", "must look like"),
    ],
)
def test_a_base_url_that_is_not_https(base_url: str, words: str) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=words):
        nxframe.Client("key", "secret", base_url=base_url)


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"])
def test_plain_http_is_fine_on_loopback(base_url: str) -> None:
    assert nxframe.Client("key", "secret", base_url=base_url).settings.base_url == base_url


def test_missing_credentials_name_the_environment_variables() -> None:
    with pytest.raises(nxframe.InvalidInputError, match="NXCLOUD_ACCESS_KEY and NXCLOUD_ACCESS_SECRET"):
        nxframe.fetch_cdr("2024-03-05")
    with pytest.raises(nxframe.InvalidInputError, match="NXCLOUD_ACCESS_SECRET") as caught:
        nxframe.Client("key-only")
    assert "NXCLOUD_ACCESS_KEY " not in str(caught.value)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("concurrency", 0),
        ("concurrency", 1000),
        ("timeout", 0),
        ("max_retries", -1),
        ("max_rps", 0),
        ("algorithm", "sha1"),
    ],
)
def test_client_settings_out_of_range(setting: str, value: Any) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=setting if setting != "algorithm" else "md5"):
        nxframe.Client("key", "secret", **{setting: value})


def test_the_readme_lists_every_bad_input() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    for what, _, error, words in BAD_INPUTS:
        assert what in section, f"README's bad input table lacks {what!r}"
        assert words in section, f"README's bad input table lacks the message for {what!r}"
        assert error.__name__ in section


@pytest.mark.parametrize(("what", "arguments", "error", "words"), BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_the_readme_shows_the_real_message(
    client: nxframe.Client, what: str, arguments: dict[str, Any], error: type, words: str
) -> None:
    """Word for word, so the table cannot drift from the code."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    row = next(line for line in readme.split("## Bad input", 1)[1].splitlines() if line.startswith(f"| {what} |"))
    with pytest.raises(error, match=re.escape(words)) as caught:
        nxframe.fetch_cdr(**arguments, client=client, progress=False)
    assert f"`{error.__name__}`: {caught.value}" in row


def test_a_progress_that_is_not_a_callable_is_refused(sim: Simulator, client: nxframe.Client) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="progress must be"):
        client.fetch_cdr("2024-03-05", progress="yes")  # type: ignore[arg-type]
    assert sim.requests == []


def test_a_base_url_with_a_password_is_refused() -> None:
    with pytest.raises(nxframe.InvalidInputError, match="user name or password"):
        nxframe.Client("key", "secret", base_url="https://user:pw@api2.nxcloud.com")


def test_tz_may_be_a_zoneinfo(sim: Simulator, client: nxframe.Client) -> None:
    import zoneinfo

    df = client.fetch_cdr("2024-03-05", tz=zoneinfo.ZoneInfo("Asia/Shanghai"), progress=False)
    assert str(df["start_time"].dtype) == "datetime64[s, Asia/Shanghai]"


# Dates as they come out of a DataFrame or a typo: refused before any request (not in the README table).
BAD_DATES: list[tuple[str, dict[str, Any], str]] = [
    ("NaT as start", {"start": pd.NaT}, "start is NaT"),
    ("NaT as end", {"start": "2024-03-05", "end": pd.NaT}, "end is NaT"),
    ("numpy NaT", {"start": np.datetime64("NaT")}, "start is NaT"),
    ("NaN as start", {"start": float("nan")}, "'YYYY-MM-DD' string or a datetime.date"),
    ("a float", {"start": 20240305.0}, "'YYYY-MM-DD' string or a datetime.date"),
    ("a bool", {"start": True}, "'YYYY-MM-DD' string or a datetime.date"),
    ("an int", {"start": 20240305}, "'YYYY-MM-DD' string or a datetime.date"),
    ("a Timestamp with a time", {"start": pd.Timestamp("2024-03-05 10:00")}, "with a time or zone"),
    ("a Timestamp a nanosecond past midnight", {"start": pd.Timestamp("2024-03-05") + pd.Timedelta(1)}, "a time"),
    ("an aware midnight", {"start": pd.Timestamp("2024-03-05", tz="UTC")}, "with a time or zone"),
    ("a datetime64 with a time", {"start": np.datetime64("2024-03-05T10:00")}, "whole day"),
    ("a datetime64 month", {"start": np.datetime64("2024-03")}, "whole day"),
    ("allow_long as text", {"start": "2024-03-05", "allow_long": "yes"}, "allow_long must be True or False"),
]


@pytest.mark.parametrize(("what", "arguments", "words"), BAD_DATES, ids=[row[0] for row in BAD_DATES])
def test_odd_dates_are_refused_before_any_request(
    sim: Simulator, client: nxframe.Client, what: str, arguments: dict[str, Any], words: str
) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=words):
        nxframe.fetch_cdr(**arguments, client=client, progress=False)
    assert sim.requests == []


@pytest.mark.parametrize(
    ("what", "arguments", "error", "words"),
    [*((what, arguments, nxframe.InvalidInputError, words) for what, arguments, words in BAD_DATES), *BAD_INPUTS],
    ids=[row[0] for row in BAD_DATES] + [row[0] for row in BAD_INPUTS],
)
def test_every_refusal_names_its_parameter(
    client: nxframe.Client, what: str, arguments: dict[str, Any], error: type, words: str
) -> None:
    """``parameter`` is what the CLI turns into its flag; the message names the same Python parameter."""
    with pytest.raises(nxframe.InvalidInputError, match=re.escape(words)) as caught:
        nxframe.fetch_cdr(**arguments, client=client, progress=False)
    parameter = caught.value.parameter
    assert parameter is not None
    assert parameter in inspect.signature(nxframe.fetch_cdr).parameters
    assert parameter in str(caught.value)


@pytest.mark.parametrize("not_a_client", ["http://127.0.0.1:9", object(), 42])
def test_a_client_that_is_not_a_client_is_refused(sim: Simulator, not_a_client: Any) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=r"client must be an nxframe\.Client") as caught:
        nxframe.fetch_cdr("2024-03-05", client=not_a_client, progress=False)
    assert caught.value.parameter == "client"
    assert sim.requests == []


def test_a_query_that_is_not_a_cdr_query_is_refused(sim: Simulator, client: nxframe.Client) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="CdrQuery") as caught:
        client.fetch_query({"start": "2024-03-05"}, progress=False)  # type: ignore[arg-type]
    assert caught.value.parameter == "query"
    assert sim.requests == []


@pytest.mark.parametrize(
    "start",
    [
        pd.Timestamp("2024-03-05"),
        np.datetime64("2024-03-05"),
        np.datetime64("2024-03-05T00:00:00", "s"),
        dt.datetime(2024, 3, 5),
        dt.date(2024, 3, 5),
        " 2024-03-05 ",
    ],
    ids=["Timestamp", "datetime64[D]", "datetime64[s]", "datetime", "date", "text"],
)
def test_a_midnight_from_a_frame_is_a_date(sim: Simulator, client: nxframe.Client, start: Any) -> None:
    df = nxframe.fetch_cdr(start, client=client, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth("2024-03-05"))


def test_a_frames_own_dates_fetch_it_again(sim: Simulator, client: nxframe.Client) -> None:
    """What an analyst types: ``fetch_cdr(df.date.min(), df.date.max())``."""
    week = client.fetch_cdr("2024-03-04", "2024-03-06", progress=False)
    again = client.fetch_cdr(week["date"].min(), week["date"].max(), progress=False)
    pd.testing.assert_frame_equal(again, week)
    assert again["date"].min() == pd.Timestamp("2024-03-04")


def test_a_built_query_fetches_what_fetch_cdr_fetches(sim: Simulator, client: nxframe.Client) -> None:
    query = CdrQuery.build("2024-03-05", did_number=sim.records("2024-03-05")[0]["number"], call_type="incoming")
    by_query = client.fetch_query(query, progress=False)
    by_keywords = client.fetch_cdr(
        "2024-03-05", did_number=query.value("did_number"), call_type="incoming", progress=False
    )
    pd.testing.assert_frame_equal(by_query, by_keywords)
    pd.testing.assert_frame_equal(
        by_query, sim.ground_truth("2024-03-05", did_number=query.value("did_number"), call_type="incoming")
    )
