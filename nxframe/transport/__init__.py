"""Send one signed request: the only code that touches the network.

An attempt ends in one of four outcomes, decided by the pure :func:`classify`
(or by the network, for failures before an answer): :class:`Ok`,
:class:`Retry` (connection errors, the deadline, bodies cut short, HTTP 429
and 5xx, API code -1: backoff with jitter, honouring ``Retry-After``, each
attempt signed afresh), :class:`ClockSkew` (code 1004: learn the server's
clock from ``Date`` and try once more) or :class:`Fail`. The loop in
:meth:`Transport.call` raises only outside ``except`` blocks, so no error
chains a library exception (whose request object would hold the sign).

What a server may not do: redirect (never followed, a ``ResponseError``),
take longer than ``timeout`` for the whole request, connecting and the body
included (a transient ``ServerError``), or send more than
``max_response_bytes`` after decompression (a ``ResponseError``). The same
holds through a proxy (:mod:`nxframe.transport.connections`); a proxy that
refuses the tunnel is a ``ProxyError`` and a certificate that does not verify
a ``TLSError``, neither retried (:mod:`nxframe.transport.failures`).

At most ``concurrency`` requests are on the wire at once, each from sending
to its body's last byte; the body is parsed after its slot is given back, so
however long decoding takes, the next request is not kept waiting for it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from .._version import __version__
from ..config import ClientSettings
from ..decode import Reply, ShapeMemory
from ..errors import ResponseError, ServerError
from ..redaction import request_summary
from ..signing import sign
from .classify import ClockSkew, Context, Fail, Ok, Outcome, Retry, classify
from .connections import open_pool
from .failures import network_failure
from .wire import DEADLINE, BadEncodingError, BodyTooLargeError, read_body

__all__ = [
    "BIZ_TYPE",
    "CDR_ACTION",
    "ClockSkew",
    "Context",
    "Fail",
    "Ok",
    "Retry",
    "Transport",
    "classify",
    "encode_body",
]

log = logging.getLogger("nxframe")

BIZ_TYPE = "4"  # DID business (docs/nxcloud-api.md)
CDR_ACTION = "cdr"


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Serialise a request body once: these exact bytes are signed and sent."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _RateLimiter:
    """Spaces requests at least ``1 / max_rps`` seconds apart across threads."""

    def __init__(self, max_rps: float | None) -> None:
        self._interval = 0.0 if max_rps is None else 1.0 / max_rps
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class Transport:
    """Signs and sends requests for one set of credentials; safe to share between threads.

    Attributes:
        clock_offset: seconds to add to the local clock to get the server's,
            learnt from a 1004 answer's ``Date`` header.
        retries: how many retries were made, per reason (``"HTTP 503"``, ``"code -1"``...).
        requests_sent: every attempt counted.
    """

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.clock_offset = 0.0
        self.retries: Counter[str] = Counter()
        self.requests_sent = 0
        self.shapes = ShapeMemory()  # what the page decoder learns of this server's shape: this client's alone
        self._lock = threading.Lock()
        self._limiter = _RateLimiter(settings.max_rps)
        # Requests on the wire at once. Held from sending to the body's last byte, not while the
        # body is parsed: a page decoding must not keep the next one from being asked for.
        self._in_flight = threading.BoundedSemaphore(settings.concurrency)
        # One pool for the one host, direct or through the proxy; its connections keep the deadline.
        self._manager, self._pool, self._path = open_pool(settings)

    def close(self) -> None:
        """Close pooled connections."""
        self._manager.clear()

    def call(
        self,
        body: Mapping[str, Any],
        parse: Callable[[bytes], Reply],
        *,
        date: dt.date | None = None,
        page: int | None = None,
    ) -> Reply:
        """POST ``body`` signed, parse the answer, retry what is transient.

        Args:
            body: the request fields; serialised once per call by :func:`encode_body`.
            parse: turns a 200 body into a :class:`Reply` (may raise
                ``ResponseError``/``SchemaError``, which are not retried).
            date, page: for error messages.

        Returns:
            The reply with code 0.

        Raises:
            ApiError: a subclass saying what failed and what to do.
        """
        settings = self.settings
        data = encode_body(body)
        context = Context(date, page, request_summary(settings.endpoint, body))
        attempt = 0
        waited = 0.0
        clock_corrected = False
        while True:
            outcome = self._attempt(data, parse, context)
            if isinstance(outcome, Ok):
                return outcome.reply
            if isinstance(outcome, ClockSkew) and not clock_corrected and outcome.offset is not None:
                clock_corrected = True
                self.clock_offset = outcome.offset
                log.warning("NXCloud's clock differs from ours by %+.0f s; re-signing with its time", outcome.offset)
                continue
            if not isinstance(outcome, Retry):
                raise outcome.error
            attempt += 1
            delay = self._backoff(attempt, outcome.retry_after)
            if attempt > settings.max_retries or waited + delay > settings.retry_max_wait:
                raise outcome.give_up(attempt - 1, waited)
            with self._lock:
                self.retries[outcome.reason] += 1
            log.info(
                "%s%s; retry %d of %d in %.2f s", outcome.reason, context.where, attempt, settings.max_retries, delay
            )
            time.sleep(delay)
            waited += delay

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never shorter than the server's ``Retry-After``."""
        base = self.settings.retry_backoff * 2 ** (attempt - 1)
        delay = random.uniform(base / 2, base)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def _headers(self, data: bytes) -> dict[str, str]:
        settings = self.settings
        ts = str(int((time.time() + self.clock_offset) * 1000))
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": f"nxframe/{__version__}",
            "accessKey": settings.access_key,
            "ts": ts,
            "bizType": BIZ_TYPE,
            "action": CDR_ACTION,
            "algorithm": settings.algorithm,
        }
        headers["sign"] = sign(
            access_key=settings.access_key,
            action=CDR_ACTION,
            biz_type=BIZ_TYPE,
            ts=ts,
            body=data.decode("utf-8"),
            access_secret=settings.access_secret,
            algorithm=settings.algorithm,
        )
        return headers

    def _attempt(self, data: bytes, parse: Callable[[bytes], Reply], context: Context) -> Outcome:
        """One signed POST, read to its end within the deadline, then classified; never raises for the network."""
        with self._in_flight:
            answer = self._exchange(data, context)
        if not isinstance(answer, _Answer):
            return answer
        return classify(answer.status, answer.headers, answer.body, parse, context)

    def _exchange(self, data: bytes, context: Context) -> _Answer | Outcome:
        """Send and read the whole answer, or the outcome of the network failing."""
        settings = self.settings
        self._limiter.wait()
        headers = self._headers(data)
        with self._lock:
            self.requests_sent += 1
        started = time.monotonic()
        deadline = started + settings.timeout
        token = DEADLINE.set(deadline)  # this attempt's, for the connection classes; reset after it
        try:
            return self._send(data, headers, deadline, context)
        finally:
            DEADLINE.reset(token)

    def _send(self, data: bytes, headers: dict[str, str], deadline: float, context: Context) -> _Answer | Outcome:
        settings = self.settings
        where = context.where
        timed_out = Retry(
            context.error(ServerError, f"NXCloud timed out{where}: no whole answer within {settings.timeout:g} s"),
            "timeout",
        )
        failure: Outcome | None = None
        try:
            response = self._pool.urlopen(
                "POST",
                self._path,
                body=data,
                headers=headers,
                retries=False,
                redirect=False,
                preload_content=False,
                decode_content=True,
                timeout=urllib3.Timeout(total=settings.timeout),
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure = network_failure(exc, settings, context, timed_out)
        if failure is not None:
            return failure
        status = response.status
        try:
            raw = read_body(response, deadline, settings.max_response_bytes)
        except BodyTooLargeError:
            text = (
                f"NXCloud's answer{where} is over max_response_bytes ({settings.max_response_bytes:,} bytes, "
                "counted after decompression): refused; raise Client(max_response_bytes=...) if it is genuine"
            )
            return Fail(context.error(ResponseError, text, http_status=status))
        except BadEncodingError as exc:
            text = f"NXCloud's answer{where} cannot be read: {exc}"
            return Fail(context.error(ResponseError, text, http_status=status))
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            return timed_out
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return _broken(response, exc, context)
        log.debug(
            "POST %s %s -> HTTP %d, %d bytes in %.3f s",
            settings.endpoint,
            (context.request or {}).get("body"),
            status,
            len(raw),
            time.monotonic() - (deadline - settings.timeout),
        )
        return _Answer(status, response.headers, raw)


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer read to its end, not yet looked at."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _broken(response: urllib3.BaseHTTPResponse, exc: BaseException, context: Context) -> Outcome:
    """A body that stopped early: cut short (fewer bytes than Content-Length) or the connection broke."""
    where, status = context.where, response.status
    if "content-length" in response.headers:
        text = f"NXCloud's answer{where} was cut short (fewer bytes than announced)"
        return Retry(context.error(ServerError, text, http_status=status), "body cut short")
    text = f"the connection to NXCloud failed{where} mid-answer ({type(exc).__name__})"
    return Retry(context.error(ServerError, text, http_status=status), "connection failed")
