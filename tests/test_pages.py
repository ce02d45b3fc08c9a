"""Pages a server should not have sent are refused at once; pages are asked for as workers free up.

Requests are counted and timed at the simulator (``sim.requests``), over real HTTP.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pandas as pd
import pytest

import nxframe
from nxframe.decode import Reply, decode_page
from nxframe.pages import SCANS, FetchProgress
from nxframe.query import CdrQuery
from nxframe.simulator import RequestLog, Simulator

DAY = "2024-03-05"


class EnoughPagesError(Exception):
    """Raised by a progress callback to end a fetch that would otherwise run for a very long time."""


def peak_in_flight(requests: list[RequestLog], latency: float) -> int:
    """The most requests the server was holding at one moment.

    The simulator logs a request (``at``) after sleeping ``latency`` and before it
    answers, so ``[at - latency, at)`` lies inside the time the client had the
    request in flight: the overlap of these intervals never overstates the
    client's concurrency.
    """
    edges = sorted([(r.at - latency, 1) for r in requests] + [(r.at, -1) for r in requests])
    peak = current = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1): touching is not overlapping
        current += step
        peak = max(peak, current)
    return peak


def test_a_total_row_over_max_rows_per_date_is_refused_after_one_request(sim: Simulator) -> None:
    sim.set_rows(DAY, 1500)
    with sim.client(max_rows_per_date=1000) as c, pytest.raises(nxframe.ResponseError, match="max_rows_per_date"):
        c.fetch_cdr(DAY, page_size=100, progress=False)
    assert len(sim.requests) == 1


def test_a_total_row_of_a_trillion_is_refused_after_one_request(sim: Simulator) -> None:
    sim.faults.add("total_row", date=DAY, value=10**12)
    with sim.client() as c, pytest.raises(nxframe.ResponseError, match="totalRow") as caught:
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1
    assert caught.value.date is not None and caught.value.date.isoformat() == DAY


def test_a_negative_total_row_is_refused_after_one_request(sim: Simulator) -> None:
    sim.faults.add("total_row", date=DAY, value=-5)
    with sim.client() as c, pytest.raises(nxframe.ResponseError, match="totalRow"):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1


def test_a_first_page_that_says_it_is_page_two_is_refused_after_one_request(sim: Simulator) -> None:
    sim.faults.add("page_number", date=DAY, page=1, value=2)
    with sim.client() as c, pytest.raises(nxframe.ResponseError, match="page") as caught:
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1
    assert caught.value.page == 1


def test_a_later_page_with_the_wrong_number_is_refused_when_it_arrives(sim: Simulator) -> None:
    sim.set_rows(DAY, 500)
    sim.faults.add("page_number", date=DAY, page=2, value=1)
    wrong = "NXCloud answered the request for page 2 with page 1; its rows cannot be trusted"
    with sim.client(concurrency=1) as c, pytest.raises(nxframe.ResponseError, match=wrong) as caught:
        c.fetch_cdr(DAY, page_size=100, progress=False)
    # One request on the wire at a time: page 3 may be asked for while page 2 is decoded, nothing after it.
    pages = [r.body["page"] for r in sim.requests if r.body]
    assert pages[:2] == [1, 2] and pages[2:] in ([], [3])
    assert caught.value.page == 2


def test_a_huge_day_is_paged_as_workers_free_up_not_scheduled_up_front(sim: Simulator) -> None:
    """totalRow 10**9 (allowed here) at 10 rows a page: 10**8 pages, only a few of them exist at once.

    A few: ``concurrency`` on the wire and at most one decoding per CPU (up to ``concurrency``).
    """
    sim.set_rows(DAY, 50)
    sim.faults.add("total_row", times=None, date=DAY, value=10**9)
    stop_after = 30

    seen: list[FetchProgress] = []

    def enough(state: FetchProgress) -> None:
        seen.append(state)
        if state.pages_done >= stop_after:
            raise EnoughPagesError(f"the callback stopped the fetch after {state.pages_done} pages")

    with (
        sim.client(concurrency=4, max_rows_per_date=10**9) as c,
        pytest.raises(EnoughPagesError, match="the callback stopped"),
    ):
        c.fetch_cdr(DAY, page_size=10, progress=enough)
    pages = [r.body["page"] for r in sim.requests if r.body]
    assert stop_after <= len(pages) <= stop_after + 4 + min(4, os.cpu_count() or 1)
    assert sorted(pages) == list(range(1, len(pages) + 1))  # in page order, none skipped
    assert seen[-1].pages_total == 10**8  # the count is known without a future per page


def test_a_date_with_many_pages_never_has_more_than_concurrency_in_flight() -> None:
    latency = 0.1
    with Simulator(seed=7, latency=latency) as sim, sim.client(concurrency=3) as c:
        sim.set_rows(DAY, 3000)
        df = c.fetch_cdr(DAY, page_size=150, progress=False)
        pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
        assert len(sim.requests) == 20
        peak = peak_in_flight(sim.requests, latency)
    assert 2 <= peak <= 3  # concurrent, and never more than concurrency


def test_dates_share_the_workers() -> None:
    latency = 0.1
    with Simulator(seed=7, latency=latency) as sim, sim.client(concurrency=3) as c:
        for day in ("2024-03-04", "2024-03-05", "2024-03-06"):
            sim.set_rows(day, 1000)
        df = c.fetch_cdr("2024-03-04", "2024-03-06", page_size=200, progress=False)
        pd.testing.assert_frame_equal(df, sim.ground_truth("2024-03-04", "2024-03-06"))
        peak = peak_in_flight(sim.requests, latency)
    assert len(sim.requests) == 15
    assert 2 <= peak <= 3


def test_a_day_that_changes_while_paged_is_scanned_again_and_comes_back_whole(sim: Simulator) -> None:
    sim.set_rows(DAY, 450)
    sim.faults.add("grow", date=DAY, page=3, rows=7)  # calls arrive between pages 2 and 3
    with sim.client(concurrency=1) as c:
        df = c.fetch_cdr(DAY, page_size=100, progress=False)
    pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
    assert len(df) == 457
    assert [r.body["page"] for r in sim.requests if r.body][:6] == [1, 2, 3, 4, 5, 1]  # the second scan starts


def test_a_day_that_never_settles_is_an_incomplete_data_error(sim: Simulator) -> None:
    sim.set_rows(DAY, 300)
    sim.faults.add("grow", times=None, date=DAY, page=2, rows=1)
    unsettled = rf"{DAY}: totalRow changed while paging .* in each of {SCANS} scans; .* try again later"
    with sim.client(concurrency=2) as c, pytest.raises(nxframe.IncompleteDataError, match=unsettled) as caught:
        c.fetch_cdr(DAY, page_size=100, progress=False)
    assert caught.value.date is not None and caught.value.date.isoformat() == DAY
    assert caught.value.expected != caught.value.received
    assert [r.body["page"] for r in sim.requests if r.body].count(1) == SCANS


def test_a_page_being_decoded_does_not_keep_the_next_request_waiting(sim: Simulator) -> None:
    """``concurrency`` counts requests on the wire; a decode happens after its request's slot is free.

    Page 1's parse here does not finish until page 2's request has reached the
    server: with the slot held through the parse, that would never happen.
    """
    sim.set_rows(DAY, 300)
    query = CdrQuery.build(DAY, page_size=100)
    day = query.dates()[0]

    seen: list[int] = []

    def slow_parse(raw: bytes) -> Reply:
        deadline = time.monotonic() + 10
        while len(sim.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(len(sim.requests))
        return decode_page(raw, page_number=1)

    with sim.client(concurrency=1) as c, ThreadPoolExecutor(2) as pool:
        first = pool.submit(c.transport.call, query.body(day, 1), slow_parse)
        while not sim.requests:
            time.sleep(0.01)
        second = pool.submit(c.transport.call, query.body(day, 2), partial(decode_page, page_number=2))
        pages = [first.result(timeout=30).page, second.result(timeout=30).page]
    assert seen == [2]  # page 2 was asked for while page 1 was still being parsed
    assert [page.number for page in pages if page is not None] == [1, 2]


def test_a_freed_worker_goes_to_the_earliest_date() -> None:
    """Dates are handed on in date order, so the earliest one is paged first (the others wait their turn).

    While the first date waits for its page 1 (its page count), the second
    may use the free workers (at most ``width`` = 4 here); after that, every
    worker that frees up goes to the first date. Workers handed out first
    come, first served would alternate between the two dates instead: the
    second would have about 18 pages asked for when the first asks for its last.
    """
    first, second = "2024-03-04", "2024-03-05"
    with Simulator(seed=7, latency=0.05) as sim, sim.client(concurrency=2) as c:
        for day in (first, second):
            sim.set_rows(day, 2000)
        df = c.fetch_cdr(first, second, page_size=100, progress=False)
        pd.testing.assert_frame_equal(df, sim.ground_truth(first, second))
        asked = [(r.body["date"], r.body["page"]) for r in sim.requests if r.body]
    last_of_first = asked.index((first, 20))
    second_before = [page for date, page in asked[:last_of_first] if date == second]
    assert 1 in second_before  # the second date was already under way
    assert len(second_before) <= 7
