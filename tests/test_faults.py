"""Faults injected by the simulator over real HTTP: transient ones are survived, persistent ones named."""

from __future__ import annotations

import socket
import time

import pandas as pd
import pytest

import nxframe
from nxframe.decode import decode_page
from nxframe.simulator import Simulator
from nxframe.transport import ClockSkew, Context, Fail, Ok, Retry, classify

DAY = "2024-03-05"


def _signs(sim: Simulator) -> list[tuple[str, str]]:
    return [(r.headers["ts"], r.headers["sign"]) for r in sim.requests]


@pytest.mark.parametrize(
    "kind",
    ["http_500", "http_502", "http_503", "http_504", "http_429", "code_-1", "drop", "truncate"],
)
def test_a_transient_fault_is_retried_and_the_result_is_exact(
    sim: Simulator, client: nxframe.Client, kind: str
) -> None:
    sim.faults.add(kind, times=2, page=1, retry_after=0)
    df = client.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
    assert sim.faults.injected[kind] == 2
    assert sum(client.retries.values()) == 2
    signs = _signs(sim)
    assert len(set(signs)) == len(signs), "every retry is signed afresh"


def test_429_without_retry_after_backs_off_and_succeeds(sim: Simulator, client: nxframe.Client) -> None:
    sim.faults.add("http_429", times=3, retry_after=None)
    df = client.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
    assert client.retries["HTTP 429"] == 3
    assert [r.status for r in sim.requests] == [429, 429, 429, 200]


def test_429_honours_retry_after(sim: Simulator, client: nxframe.Client) -> None:
    sim.faults.add("http_429", times=1, retry_after=1)
    started = time.monotonic()
    df = client.fetch_cdr(DAY, progress=False)
    assert time.monotonic() - started >= 1.0
    assert len(df) == len(sim.ground_truth(DAY))
    first, second = sim.requests[0], sim.requests[1]
    assert int(second.headers["ts"]) - int(first.headers["ts"]) >= 1000


def test_a_read_timeout_is_retried(sim: Simulator) -> None:
    sim.faults.add("timeout", times=1, seconds=1.5)
    with sim.client(timeout=0.5, retry_backoff=0.01) as c:
        df = c.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
    assert c.retries["timeout"] == 1


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("http_503", nxframe.ServerError, "HTTP 503"),
        ("code_-1", nxframe.ServerError, "code -1"),
        ("http_429", nxframe.RateLimitError, "max_rps"),
        ("drop", nxframe.ServerError, "connection to NXCloud failed"),
        ("truncate", nxframe.ServerError, "cut short"),
    ],
)
def test_a_persistent_fault_ends_in_its_error_after_bounded_retries(
    sim: Simulator, kind: str, error: type[Exception], words: str
) -> None:
    sim.faults.add(kind, times=None, retry_after=0)
    with sim.client(max_retries=3, retry_backoff=0.01) as c, pytest.raises(error, match=words) as caught:
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 4  # one try and three retries
    assert "gave up after 3 retries" in str(caught.value)
    assert caught.value.date is not None and caught.value.page == 1  # type: ignore[attr-defined]


def test_a_refused_connection_is_a_connection_failure_not_a_timeout() -> None:
    """urllib3's NewConnectionError subclasses ConnectTimeoutError; the message must still name the cause."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    client = nxframe.Client("key", "secret", base_url=f"http://127.0.0.1:{port}", max_retries=1, retry_backoff=0.01)
    with client, pytest.raises(nxframe.ServerError, match="connection to NXCloud failed") as caught:
        client.fetch_cdr(DAY, progress=False)
    assert "timed out" not in str(caught.value)
    assert client.retries == {"connection failed": 1}


def test_a_final_error_does_not_chain_the_signed_request(sim: Simulator) -> None:
    """A requests exception in __context__ would carry the request's headers, sign included."""
    sim.faults.add("drop", times=None)
    with (
        sim.client(max_retries=1, retry_backoff=0.01) as c,
        pytest.raises(nxframe.ServerError, match=r"connection to NXCloud failed .* try again later") as caught,
    ):
        c.fetch_cdr(DAY, progress=False)
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_retry_after_as_an_http_date_is_honoured(sim: Simulator, client: nxframe.Client) -> None:
    sim.faults.add("http_503", times=1, retry_after="Wed, 21 Oct 2015 07:28:00 -0000")  # in the past: no wait
    df = client.fetch_cdr(DAY, progress=False)
    assert len(df) == len(sim.ground_truth(DAY))


def test_retries_are_bounded_in_total_time(sim: Simulator) -> None:
    """Retry-After 2 s, 3 s of waiting allowed: one retry (2 s), the next would pass the budget."""
    sim.faults.add("http_503", times=None, retry_after=2)
    with (
        sim.client(max_retries=10, retry_max_wait=3.0) as c,
        pytest.raises(nxframe.ServerError, match="gave up after 1 retries") as caught,
    ):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 2
    assert "(2.0 s of waiting)" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("malformed", nxframe.ResponseError, "not JSON"),
        ("data_null", nxframe.ResponseError, "'data' = None"),
        ("list_not_list", nxframe.ResponseError, "not a list"),
        ("missing_total_row", nxframe.ResponseError, "totalRow"),
        ("code_1002", nxframe.ParameterError, "1002"),
        ("code_1005", nxframe.AuthError, "NXCLOUD_ACCESS_KEY, or the access key lacks the DID business"),
        ("code_1001", nxframe.AuthError, "1001"),
        ("http_401", nxframe.AuthError, "HTTP 401"),
        ("http_404", nxframe.ResponseError, "NXCLOUD_BASE_URL"),
    ],
)
def test_a_wrong_answer_is_not_retried_and_says_what_it_is(
    sim: Simulator, client: nxframe.Client, kind: str, error: type[Exception], words: str
) -> None:
    sim.faults.add(kind, times=None)
    with pytest.raises(error, match=words):
        client.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1


def test_a_wrong_secret_is_an_auth_error_naming_the_variable(sim: Simulator) -> None:
    with (
        nxframe.Client(sim.access_key, "not-the-secret", base_url=sim.base_url) as c,
        pytest.raises(nxframe.AuthError, match="NXCLOUD_ACCESS_SECRET") as caught,
    ):
        c.fetch_cdr(DAY, progress=False)
    assert caught.value.code == 1003
    assert "not-the-secret" not in str(caught.value)
    assert len(sim.requests) == 1


@pytest.mark.parametrize("offset", [120.0, -120.0])
def test_a_server_clock_two_minutes_off_is_corrected_once(
    sim: Simulator, client: nxframe.Client, offset: float
) -> None:
    sim.clock_offset = offset
    df = client.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
    assert [r.code for r in sim.requests[:2]] == [1004, 0]
    assert abs(client.transport.clock_offset - offset) < 3


def test_an_expired_timestamp_that_cannot_be_corrected_says_how_far_off(sim: Simulator, client: nxframe.Client) -> None:
    sim.clock_offset = 120.0
    sim.faults.add("code_1004", times=None)
    with pytest.raises(nxframe.AuthError, match=r"your clock is 1(19|20|21) s behind the server's") as caught:
        client.fetch_cdr(DAY, progress=False)
    assert caught.value.code == 1004
    assert len(sim.requests) == 2  # the first try and one corrected retry


def test_a_day_growing_while_paged_is_scanned_again(sim: Simulator, client: nxframe.Client) -> None:
    sim.set_rows(DAY, 2500)
    sim.faults.add("grow", times=1, date=DAY, page=2, rows=7)
    df = client.fetch_cdr(DAY, page_size=500, progress=False)
    assert len(df) == 2507
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))


def test_a_day_shrinking_while_paged_is_scanned_again(sim: Simulator, client: nxframe.Client) -> None:
    sim.set_rows(DAY, 1200)
    sim.faults.add("shrink", times=1, date=DAY, page=3, rows=4)
    df = client.fetch_cdr(DAY, page_size=400, progress=False)
    assert len(df) == 1196
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))


def test_overlapping_pages_are_caught_and_rescanned(sim: Simulator, client: nxframe.Client) -> None:
    sim.set_rows(DAY, 1000)
    sim.faults.add("overlap", times=1, date=DAY, page=2, rows=3)
    df = client.fetch_cdr(DAY, page_size=300, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
    assert df["id"].is_unique


def test_a_day_that_never_adds_up_raises_incomplete_data(sim: Simulator, client: nxframe.Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sim.set_rows(DAY, 1000)
    sim.faults.add("overlap", times=None, date=DAY, page=2, rows=3)
    with pytest.raises(nxframe.IncompleteDataError, match="repeat an id") as caught:
        client.fetch_cdr(DAY, page_size=300, progress=False, lake=tmp_path / "lake")
    assert caught.value.date is not None
    assert not (tmp_path / "lake" / f"date={DAY}").exists(), "a short day is never persisted"


def test_one_failed_date_stops_fetch_cdr_with_its_error(sim: Simulator, client: nxframe.Client) -> None:
    sim.faults.add("code_1002", times=None, date="2024-03-03")
    with pytest.raises(nxframe.ParameterError, match="2024-03-03"):
        client.fetch_cdr("2024-03-01", "2024-03-07", progress=False)


def test_max_rps_spaces_requests(sim: Simulator) -> None:
    sim.set_rows(DAY, 500)
    with sim.client(max_rps=10, concurrency=4) as c:
        c.fetch_cdr(DAY, page_size=100, progress=False)
    times = sorted(r.at for r in sim.requests)
    assert len(times) == 5
    assert times[-1] - times[0] >= 0.35  # five requests at 10/s span at least 0.4 s


# -- classify: the pure verdict on one answer, no server needed ---------------------------

OK_BODY = (
    b'{"code":0,"message":"Request successful","data":{"totalRow":0,"pageNumber":1,"totalPage":0,'
    b'"pageSize":10,"list":[]}}'
)


def test_classify_a_code_0_page_is_ok() -> None:
    outcome = classify(200, {}, OK_BODY, decode_page)
    assert isinstance(outcome, Ok) and outcome.reply.code == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_classify_a_redirect_fails_naming_status_and_host(status: int) -> None:
    outcome = classify(status, {"Location": "http://evil.example:81/x"}, b"", decode_page)
    assert isinstance(outcome, Fail) and isinstance(outcome.error, nxframe.ResponseError)
    assert f"HTTP {status}" in str(outcome.error) and "'evil.example'" in str(outcome.error)


@pytest.mark.parametrize(
    ("status", "headers", "body", "reason", "wait"),
    [
        (503, {"retry-after": "7"}, b"", "HTTP 503", 7.0),
        (429, {"Retry-After": "1"}, b"", "HTTP 429", 1.0),
        (502, {"Retry-After": "999999999"}, b"", "HTTP 502", 120.0),
        (500, {"Retry-After": "garbage"}, b"", "HTTP 500", None),
        (200, {}, b'{"code":-1,"message":"Request failed","data":null}', "code -1", None),
    ],
)
def test_classify_transient_answers_are_retries(
    status: int, headers: dict[str, str], body: bytes, reason: str, wait: float | None
) -> None:
    outcome = classify(status, headers, body, decode_page)
    assert isinstance(outcome, Retry) and outcome.reason == reason and outcome.retry_after == wait
    final = outcome.give_up(3, 1.5)
    assert "gave up after 3 retries (1.5 s of waiting)" in str(final)
    assert type(final) is type(outcome.error) and final is not outcome.error
    assert "gave up" not in str(outcome.error), "the attempt's error is not mutated"


def test_classify_1004_is_clock_skew_with_the_server_offset() -> None:
    date = "Mon, 01 Jan 2035 00:00:00 GMT"
    outcome = classify(200, {"Date": date}, b'{"code":1004,"message":"timestamp expired","data":null}', decode_page)
    assert isinstance(outcome, ClockSkew) and outcome.offset is not None and outcome.offset > 0
    assert outcome.error.code == 1004


def test_classify_errors_carry_their_context_from_the_start() -> None:
    import datetime as dt

    where = Context(dt.date(2024, 3, 5), 2, {"url": "u", "body": {"page": 2}})
    outcome = classify(200, {}, b'{"code":1002,"message":"Parameter error","data":null}', decode_page, where)
    assert isinstance(outcome, Fail) and isinstance(outcome.error, nxframe.ParameterError)
    assert (outcome.error.date, outcome.error.page, outcome.error.http_status) == (dt.date(2024, 3, 5), 2, 200)
    assert "for 2024-03-05 page 2" in str(outcome.error)
    broken = classify(200, {}, b"{not json", decode_page, where)
    assert isinstance(broken, Fail) and isinstance(broken.error, nxframe.ResponseError)
    assert broken.error.page == 2 and broken.error.__context__ is None


def test_the_deadline_of_an_attempt_does_not_outlive_it(sim: Simulator, client: nxframe.Client) -> None:
    """The per-attempt deadline is a context variable: reset after each attempt, success or failure."""
    from nxframe.decode import decode_page
    from nxframe.transport.wire import DEADLINE

    assert DEADLINE.get() is None
    reply = client.transport.call({"date": DAY, "page": 1, "pageSize": 10}, decode_page)
    assert reply.code == 0 and DEADLINE.get() is None
    sim.faults.add("http_404", times=None)
    with pytest.raises(nxframe.ResponseError, match="HTTP 404"):
        client.transport.call({"date": DAY, "page": 1, "pageSize": 10}, decode_page)
    assert DEADLINE.get() is None
