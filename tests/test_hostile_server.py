"""A hostile or broken server over real HTTP: nothing leaks, nothing hangs, nothing exhausts memory.

Each test names what it measures (requests sent, elapsed, peak RSS) in its
assertions; the README's "What nxframe refuses from a server" is the contract.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

import nxframe
from nxframe.simulator import Simulator

DAY = "2024-03-05"
SECRET = "hostile-secret-never-seen-9c1d"


@pytest.fixture
def watcher() -> Iterator[socket.socket]:
    """A listening socket nobody should ever connect to: a followed redirect would land here."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    yield listener
    listener.close()


def _connections(listener: socket.socket) -> int:
    """Connections that reached ``listener`` (the kernel completes them even before ``accept``)."""
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def _client(sim: Simulator, **options: Any) -> nxframe.Client:
    settings: dict[str, Any] = {"retry_backoff": 0.01, "max_retries": 3, "timeout": 5.0}
    return sim.client(**(settings | options))


# -- redirects ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_nothing_reaches_its_target(
    sim: Simulator, watcher: socket.socket, status: int
) -> None:
    port = watcher.getsockname()[1]
    with Simulator(seed=7) as other:
        sim.faults.add(f"redirect_{status}", times=None, location=f"http://127.0.0.1:{port}/api/did/cdr")
        refused = rf"HTTP {status} for {DAY} page 1, a redirect to host '127\.0\.0\.1': nxframe never follows"
        with _client(sim) as c, pytest.raises(nxframe.ResponseError, match=refused) as caught:
            c.fetch_cdr(DAY, progress=False)
        assert other.requests == []
    message = str(caught.value)
    assert f"HTTP {status}" in message and "'127.0.0.1'" in message and "never follows redirects" in message
    assert caught.value.http_status == status
    assert len(sim.requests) == 1, "a redirect is not retried"
    assert _connections(watcher) == 0, "the signed request went to the redirect's target"


@pytest.mark.parametrize(
    ("location", "named"),
    [
        ("http://api2.nxcloud.com/api/did/cdr", "'api2.nxcloud.com'"),  # an https -> http downgrade
        ("https://evil.example:8443/steal", "'evil.example'"),
        ("//evil.example/api/did/cdr", "'evil.example'"),
        ("/api/did/elsewhere", "'/api/did/elsewhere'"),
        ("javascript:alert(1)", "'javascript:alert(1)'"),
    ],
)
def test_a_redirect_names_its_target_and_is_not_followed(sim: Simulator, location: str, named: str) -> None:
    sim.faults.add("redirect_307", times=None, location=location)
    with _client(sim) as c, pytest.raises(nxframe.ResponseError, match="HTTP 307") as caught:
        c.fetch_cdr(DAY, progress=False)
    assert named in str(caught.value)
    assert c.transport.requests_sent == 1 and len(sim.requests) == 1


def test_a_redirect_without_location_is_refused(sim: Simulator) -> None:
    sim.faults.add("redirect_302", times=None, no_location=True)
    with _client(sim) as c, pytest.raises(nxframe.ResponseError, match="no Location"):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1


# -- time -----------------------------------------------------------------------------


def test_a_dripping_body_is_cut_off_at_the_deadline_and_retried(sim: Simulator) -> None:
    sim.set_rows(DAY, 50)
    sim.faults.add("drip", times=None, interval=0.05, bytes=1)
    started = time.monotonic()
    timed_out = rf"NXCloud timed out for {DAY} page 1: no whole answer within 0\.5 s; gave up after 2 retries"
    with _client(sim, timeout=0.5, max_retries=2) as c, pytest.raises(nxframe.ServerError, match=timed_out) as caught:
        c.fetch_cdr(DAY, progress=False)
    elapsed = time.monotonic() - started
    assert "timed out" in str(caught.value) and "gave up after 2 retries" in str(caught.value)
    assert len(sim.requests) == 3 and c.retries["timeout"] == 2
    assert elapsed >= 3 * 0.5  # each attempt ran to its deadline; pytest's timeout bounds the rest


def test_dripping_headers_are_cut_off_at_the_deadline_too(sim: Simulator) -> None:
    # http.client reads the status line and headers with the socket's timeout for each read, so a byte
    # every 0.05 s would never time out; the deadline shuts the socket down instead (before: 10 s per attempt).
    sim.set_rows(DAY, 3)
    sim.faults.add("drip_headers", times=None, interval=0.05)
    started = time.monotonic()
    timed_out = rf"NXCloud timed out for {DAY} page 1: no whole answer within 0\.5 s; gave up after 1 retries"
    with _client(sim, timeout=0.5, max_retries=1) as c, pytest.raises(nxframe.ServerError, match=timed_out) as caught:
        c.fetch_cdr(DAY, progress=False)
    elapsed = time.monotonic() - started
    assert "timed out" in str(caught.value) and c.retries["timeout"] == 1
    assert len(sim.requests) == 2
    # Each attempt ran to its deadline and no further: the headers, a byte every 0.05 s, never time out a
    # single read, so without the deadline both attempts would have read them whole and succeeded.
    assert elapsed >= 2 * 0.5


def test_slow_headers_within_the_deadline_are_read(sim: Simulator) -> None:
    sim.set_rows(DAY, 3)
    sim.faults.add("drip_headers", times=1, interval=0.001)
    with _client(sim, timeout=10) as c:
        df = c.fetch_cdr(DAY, progress=False)
    assert len(df) == 3 and c.retries["timeout"] == 0


def test_a_drip_that_finishes_within_the_deadline_is_read(sim: Simulator) -> None:
    sim.set_rows(DAY, 3)
    sim.faults.add("drip", times=1, interval=0.01, bytes=512)
    with _client(sim, timeout=10) as c:
        df = c.fetch_cdr(DAY, progress=False)
    assert len(df) == 3 and c.retries["timeout"] == 0


# -- size -----------------------------------------------------------------------------


def test_a_body_that_never_ends_stops_at_the_cap(sim: Simulator) -> None:
    sim.faults.add("endless", times=None)
    over = r"is over max_response_bytes \(1,048,576 bytes, counted after decompression\): refused; raise Client"
    with _client(sim, max_response_bytes=2**20) as c, pytest.raises(nxframe.ResponseError, match=over) as caught:
        c.fetch_cdr(DAY, progress=False)
    assert "max_response_bytes" in str(caught.value) and "1,048,576" in str(caught.value)
    assert len(sim.requests) == 1, "an oversized answer is not retried"


def test_a_huge_body_is_refused_at_the_default_cap(sim: Simulator) -> None:
    sim.faults.add("huge", times=None, size=64 * 2**20)
    with _client(sim) as c, pytest.raises(nxframe.ResponseError, match="max_response_bytes"):
        c.fetch_cdr(DAY, progress=False)
    assert c.settings.max_response_bytes == 32 * 2**20
    assert len(sim.requests) == 1


def test_a_gzip_bomb_stops_at_the_cap_without_inflating(tmp_path: Any) -> None:
    """In a subprocess, so the peak is this fetch's alone: 512 MiB inflated, 32 MiB allowed.

    The peak is ``VmHWM`` (this process's own high-water mark), not ``ru_maxrss``, which Linux
    carries over ``exec`` from the forking parent: under a big pytest process it reports the parent's size.
    """
    script = textwrap.dedent(
        """
        import json, nxframe
        def peak_kb():
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        from nxframe.simulator import Simulator
        from nxframe.simulator.hostile import gzip_bomb
        wire = len(gzip_bomb(512 * 2**20))
        before = peak_kb()
        with Simulator(seed=7) as sim, sim.client(retry_backoff=0.01) as c:
            sim.faults.add("gzip_bomb", times=None, size=512 * 2**20)
            try:
                c.fetch_cdr("2024-03-05", progress=False)
                outcome = "no error"
            except nxframe.ResponseError as exc:
                outcome = str(exc)
            sent = len(sim.requests)
        peak = peak_kb()
        print(json.dumps({"outcome": outcome, "before_kb": before, "peak_kb": peak, "sent": sent, "wire": wire}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "max_response_bytes" in result["outcome"]
    assert result["sent"] == 1
    assert result["wire"] < 2 * 2**20, "the bomb is small on the wire"
    assert result["peak_kb"] < 300 * 1024, f"peak RSS {result['peak_kb'] / 1024:.0f} MB"


def test_a_compressed_body_within_the_cap_is_inflated_and_checked(sim: Simulator) -> None:
    """gzip within the cap is inflated, then judged like any body: here not the documented shape."""
    sim.faults.add("gzip_bomb", times=None, size=2**20)
    not_shape = r"NXCloud answered code 0 with 'data' = None, not an object with a list"
    with _client(sim, max_response_bytes=2**21) as c, pytest.raises(nxframe.ResponseError, match=not_shape) as caught:
        c.fetch_cdr(DAY, progress=False)
    # the bomb inflates within this cap to a body of spaces: refused as not the documented shape
    assert len(sim.requests) == 1
    assert caught.value.__cause__ is None and caught.value.__context__ is None


# -- page counts (need pages.py and decode: "Page counts are sane") ------------


@pytest.mark.parametrize("total", [10**12, -5])
def test_an_absurd_total_row_is_refused_after_one_request(sim: Simulator, total: int) -> None:
    sim.faults.add("total_row", times=None, value=total)
    with _client(sim) as c, pytest.raises(nxframe.ResponseError, match="totalRow"):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1


def test_a_total_row_over_max_rows_per_date_is_refused(sim: Simulator) -> None:
    sim.set_rows(DAY, 30)
    with _client(sim, max_rows_per_date=20) as c, pytest.raises(nxframe.ResponseError, match="max_rows_per_date"):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1


def test_a_wrong_page_number_is_refused_after_one_request(sim: Simulator) -> None:
    sim.faults.add("page_number", times=None, page=1)
    with _client(sim) as c, pytest.raises(nxframe.ResponseError, match=r"pageNumber|with page 2"):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1


# -- strict JSON (need decode: "Bodies are strict JSON") ------------------------


@pytest.mark.parametrize(
    ("kind", "options", "words"),
    [
        ("deep_nesting", {"depth": 1000}, "NXCloud sent JSON nested more than 64 levels deep"),
        ("duplicate_key", {"where": "envelope"}, r"duplicate key \(the key 'code' appears twice in one object\)"),
        ("duplicate_key", {"where": "record"}, r"duplicate key \(the key 'id' appears twice in one object\)"),
        ("nan", {"value": "NaN"}, r"a body that is not JSON \(NaN is not a number JSON allows\)"),
        ("nan", {"value": "Infinity"}, r"a body that is not JSON \(Infinity is not a number JSON allows\)"),
    ],
)
def test_a_body_that_is_not_strict_json_is_refused(
    sim: Simulator, kind: str, options: dict[str, Any], words: str
) -> None:
    sim.set_rows(DAY, 5)
    sim.faults.add(kind, times=None, **options)
    with _client(sim) as c, pytest.raises(nxframe.ResponseError, match=words):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"null", "NXCloud sent JSON that is not an object: null instead of {"),
        (b" null\n", "NXCloud sent JSON that is not an object: null instead of {"),
        (b"[]", "NXCloud sent JSON that is not an object: an array instead of {"),
        (b"1", "NXCloud sent JSON that is not an object: a number instead of {"),
        (b'"ok"', "NXCloud sent JSON that is not an object: a string instead of {"),
        (b"true", "NXCloud sent JSON that is not an object: true or false instead of {"),
        (b"{}", "NXCloud's response has no integer 'code': None"),
        (b"[null]", "NXCloud sent JSON that is not an object: an array instead of {"),
    ],
)
def test_a_body_that_is_json_but_not_an_object_is_refused(sim: Simulator, body: bytes, words: str) -> None:
    """``null`` as a whole body crashed the process (pyarrow 26's read_json segfaults on it): now a ResponseError."""
    sim.faults.add("body", times=None, body=body)
    with _client(sim) as c, pytest.raises(nxframe.ResponseError, match=re.escape(words)):
        c.fetch_cdr(DAY, progress=False)
    assert len(sim.requests) == 1, "the documented shape is not there: nothing to retry"


# -- nothing carries the sign ---------------------------------------------------------------


def _reachable(error: BaseException) -> list[Any]:
    """Every object an error leads to: causes, contexts, args, attributes, tracebacks' locals excluded."""
    seen: set[int] = set()
    found: list[Any] = []
    stack: list[tuple[Any, int]] = [(error, 0)]
    while stack:
        item, depth = stack.pop()
        if id(item) in seen or depth > 8:
            continue
        seen.add(id(item))
        found.append(item)
        children: list[Any] = []
        if isinstance(item, BaseException):
            children += [item.__cause__, item.__context__, *item.args]
        if isinstance(item, dict):
            children += [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            children += list(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            children += list(vars(item).values())
        stack += [(child, depth + 1) for child in children if child is not None]
    return found


@pytest.mark.parametrize(
    ("kind", "options", "words"),
    [
        ("redirect_307", {"location": "http://127.0.0.1:9/x"}, "HTTP 307 .* nxframe never follows redirects"),
        ("drop", {}, "the connection to NXCloud failed .* try again later"),
        ("truncate", {}, r"was cut short \(fewer bytes than announced\)"),
        ("timeout", {"seconds": 1.0}, r"NXCloud timed out .* no whole answer within 0\.5 s"),
        ("drip", {"interval": 0.05}, r"NXCloud timed out .* no whole answer within 0\.5 s"),
        ("endless", {}, r"is over max_response_bytes \(1,048,576 bytes"),
        ("gzip_bomb", {"size": 4 * 2**20}, r"is over max_response_bytes \(1,048,576 bytes"),
        ("malformed", {}, "NXCloud sent a body that is not JSON"),
        ("duplicate_key", {}, "NXCloud sent JSON with a duplicate key"),
        ("code_1003", {}, r"NXCloud rejected the signature .* check NXCLOUD_ACCESS_SECRET"),
        ("http_503", {"retry_after": 0}, r"NXCloud failed for .* \(HTTP 503\); gave up after 1 retries"),
    ],
)
def test_no_error_from_a_hostile_answer_carries_the_sign_or_the_secret(
    kind: str, options: dict[str, Any], words: str
) -> None:
    with Simulator(seed=7, access_secret=SECRET) as sim:
        sim.faults.add(kind, times=None, **options)
        with (
            sim.client(retry_backoff=0.01, max_retries=1, timeout=0.5, max_response_bytes=2**20) as c,
            pytest.raises(nxframe.NxframeError, match=words) as caught,
        ):
            c.fetch_cdr(DAY, progress=False)
        signs = {r.headers["sign"] for r in sim.requests}
    assert signs, "requests were sent"
    for item in _reachable(caught.value):
        assert not isinstance(item, BaseException) or isinstance(item, nxframe.NxframeError), (
            f"a library exception is reachable from the error: {type(item).__name__}"
        )
        text = repr(item)
        assert SECRET not in text
        assert not any(sign in text for sign in signs), f"a sign is reachable via {type(item).__name__}"


# -- compression: urllib3's decoders, within nxframe's rules ------------------------------------------

EMPTY_PAGE = (
    b'{"code":0,"message":"Request successful","data":{"totalRow":0,"pageNumber":1,"totalPage":0,'
    b'"pageSize":999,"list":[]}}'
)


@pytest.fixture
def canned() -> Iterator[tuple[list[bytes], str]]:
    """A server on 127.0.0.1 that answers every request with ``answers[0]`` (a whole HTTP response) and hangs up."""
    answers: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                while len(body) < length:
                    body += conn.recv(65536)
                conn.sendall(answers[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield answers, f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    listener.close()


def _answer(body: bytes, encoding: str) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(EMPTY_PAGE[:40]) + gzip.compress(EMPTY_PAGE[40:]), "gzip"),
        (zlib.compress(EMPTY_PAGE), "deflate"),
        (zlib.compress(EMPTY_PAGE)[2:-4], "deflate"),  # raw deflate, no zlib header: as servers send
        (EMPTY_PAGE, "identity"),
    ],
)
def test_compressed_answers_nxframe_asks_for_are_inflated(
    canned: tuple[list[bytes], str], body: bytes, encoding: str
) -> None:
    answers, url = canned
    answers.append(_answer(body, encoding))
    with nxframe.Client("key", "secret", base_url=url, max_retries=0) as c:
        df = c.fetch_cdr(DAY, progress=False)
    assert len(df) == 0 and list(df.columns)[:2] == ["date", "id"]


@pytest.mark.parametrize(
    ("body", "encoding", "words"),
    [
        (EMPTY_PAGE, "br", "Content-Encoding 'br', which nxframe does not ask for"),
        (b"\x1f\x8b\x08\x00garbage-that-is-not-deflate" * 4, "gzip", "does not inflate"),
        (EMPTY_PAGE, "gzip, gzip", "does not ask for"),
    ],
)
def test_an_encoding_not_asked_for_or_that_does_not_inflate_is_refused(
    canned: tuple[list[bytes], str], body: bytes, encoding: str, words: str
) -> None:
    answers, url = canned
    answers.append(_answer(body, encoding))
    with (
        nxframe.Client("key", "secret", base_url=url, max_retries=3, retry_backoff=0.01) as c,
        pytest.raises(nxframe.ResponseError, match=words) as caught,
    ):
        c.fetch_cdr(DAY, progress=False)
    assert c.transport.requests_sent == 1, "not retried"
    assert caught.value.__cause__ is None and caught.value.__context__ is None
