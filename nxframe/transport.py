"""Send one signed request: the only code that touches the network.

Transient failures (connection errors, timeouts, bodies cut short, HTTP 429
and 5xx, API code -1) are retried with exponential backoff and jitter,
honouring ``Retry-After``; each attempt is signed afresh with a new ``ts``.
Code 1004 (timestamp expired) corrects the clock offset from the response's
``Date`` header and tries once more. Everything else becomes an error from
:mod:`nxframe.errors` with a message that says what to do.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ._version import __version__
from .config import ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ClientSettings
from .decode import Reply
from .errors import ApiError, AuthError, ParameterError, RateLimitError, ResponseError, ServerError
from .redaction import request_summary
from .signing import sign

__all__ = ["BIZ_TYPE", "CDR_ACTION", "Transport", "encode_body"]

log = logging.getLogger("nxframe")

BIZ_TYPE = "4"  # DID business (api/did-cdr.md)
CDR_ACTION = "cdr"
#: A server asking us to wait longer than this per retry is treated as a failure, not a pause.
MAX_RETRY_AFTER = 120.0


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Serialise a request body once: these exact bytes are signed and sent."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _TransientError(Exception):
    """A failure worth another attempt; carries the error to raise if attempts run out."""

    def __init__(self, error: ApiError, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.retry_after = retry_after


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
        self._lock = threading.Lock()
        self._limiter = _RateLimiter(settings.max_rps)
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(settings.concurrency, 4), max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = f"nxframe/{__version__}"

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

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
        summary = request_summary(settings.endpoint, body)
        where = _where(date, page)
        attempt = 0
        waited = 0.0
        clock_corrected = False
        while True:
            # The final errors are raised outside the ``except`` blocks: raised inside, they would chain
            # the requests exception, whose request object holds the signed headers.
            final: ApiError | None = None
            try:
                return self._attempt(data, parse, summary, where, date, page)
            except _ClockSkewError as skew:
                if clock_corrected or skew.offset is None:
                    final = skew.error
                else:
                    clock_corrected = True
                    self.clock_offset = skew.offset
                    log.warning("NXCloud's clock differs from ours by %+.0f s; re-signing with its time", skew.offset)
                    continue
            except _TransientError as failure:
                attempt += 1
                delay = self._backoff(attempt, failure.retry_after)
                if attempt > settings.max_retries or waited + delay > settings.retry_max_wait:
                    final = _exhausted(failure, attempt - 1, waited)
                else:
                    with self._lock:
                        self.retries[failure.reason] += 1
                    log.info(
                        "%s%s; retry %d of %d in %.2f s", failure.reason, where, attempt, settings.max_retries, delay
                    )
                    time.sleep(delay)
                    waited += delay
                    continue
            raise final

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

    def _attempt(
        self,
        data: bytes,
        parse: Callable[[bytes], Reply],
        summary: dict[str, Any],
        where: str,
        date: dt.date | None,
        page: int | None,
    ) -> Reply:
        settings = self.settings
        context: dict[str, Any] = {"date": date, "page": page, "request": summary}
        self._limiter.wait()
        headers = self._headers(data)
        with self._lock:
            self.requests_sent += 1
        started = time.monotonic()
        try:
            response = self._session.post(settings.endpoint, data=data, headers=headers, timeout=settings.timeout)
            raw = response.content  # reading the body raises when it is cut short
        except requests.Timeout:
            reason = f"no answer within {settings.timeout:g} s"
            raise _TransientError(ServerError(f"NXCloud timed out{where}: {reason}", **context), "timeout") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            if _is_truncation(exc):
                reason, text = "body cut short", f"NXCloud's answer{where} was cut short (fewer bytes than announced)"
            else:
                reason, text = "connection failed", f"the connection to NXCloud failed{where} ({type(exc).__name__})"
            raise _TransientError(ServerError(text, **context), reason) from None
        status = response.status_code
        log.debug(
            "POST %s %s -> HTTP %d, %d bytes in %.3f s",
            settings.endpoint,
            summary["body"],
            status,
            len(raw),
            time.monotonic() - started,
        )
        if status == 429:
            limited = RateLimitError(
                f"NXCloud rate-limited the request{where} (HTTP 429)", http_status=status, **context
            )
            raise _TransientError(limited, "HTTP 429", _retry_after(response))
        if status >= 500:
            failed = ServerError(f"NXCloud failed{where} (HTTP {status})", http_status=status, **context)
            raise _TransientError(failed, f"HTTP {status}", _retry_after(response))
        if status in (401, 403):
            raise AuthError(
                f"NXCloud refused the request{where} (HTTP {status}): check {ENV_ACCESS_KEY} and {ENV_ACCESS_SECRET}",
                http_status=status,
                **context,
            )
        if status != 200:
            raise ResponseError(
                f"NXCloud answered HTTP {status}{where} at {settings.endpoint}: check NXCLOUD_BASE_URL",
                http_status=status,
                **context,
            )
        try:
            reply = parse(raw)
        except ApiError as exc:
            exc.date, exc.page, exc.request, exc.http_status = date, page, summary, status
            raise
        if reply.code == 0:
            return reply
        raise self._code_error(reply, response, where, context)

    def _code_error(self, reply: Reply, response: requests.Response, where: str, context: dict[str, Any]) -> Exception:
        code, message = reply.code, reply.message
        said = f"code {code}" + (f": {message}" if message else "")
        args: dict[str, Any] = {"code": code, "message": message, "http_status": response.status_code, **context}
        if code == -1:
            return _TransientError(ServerError(f"NXCloud failed{where} ({said})", **args), "code -1")
        if code == 1002:
            body = context["request"]["body"]
            return ParameterError(f"NXCloud rejected the query parameters{where} ({said}); sent {body}", **args)
        if code == 1003:
            return AuthError(f"NXCloud rejected the signature{where} ({said}): check {ENV_ACCESS_SECRET}", **args)
        if code == 1004:
            offset = _server_offset(response)
            error = AuthError(
                f"NXCloud says the request timestamp expired{where} ({said}): {_clock_advice(offset)}", **args
            )
            return _ClockSkewError(error, offset)
        if code == 1005:
            return AuthError(
                f"NXCloud denied permission{where} ({said}): check {ENV_ACCESS_KEY}, "
                "or the access key lacks the DID business",
                **args,
            )
        if code == 1001:
            return AuthError(
                f"NXCloud says a signed header is missing{where} ({said}); please report this nxframe bug", **args
            )
        if 1000 <= code <= 1009:
            return AuthError(f"NXCloud refused authentication{where} ({said})", **args)
        return ApiError(f"NXCloud answered an undocumented result{where} ({said})", **args)


class _ClockSkewError(Exception):
    """Code 1004 with what we learnt of the server's clock."""

    def __init__(self, error: AuthError, offset: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.offset = offset


def _exhausted(failure: _TransientError, retries: int, waited: float) -> ApiError:
    """The error to raise once retries are used up, with how hard we tried."""
    error = failure.error
    hint = (
        "lower Client(concurrency=...) or set max_rps"
        if isinstance(error, RateLimitError)
        else "NXCloud or the network may be down; try again later"
    )
    text = f"{error.args[0]}; gave up after {retries} retries ({waited:.1f} s of waiting): {hint}"
    error.args = (text,)
    return error


def _where(date: dt.date | None, page: int | None) -> str:
    if date is None:
        return ""
    return f" for {date.isoformat()}" + ("" if page is None else f" page {page}")


def _retry_after(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds, from either of its two forms; ``None`` when absent or absurd."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _server_offset(response: requests.Response) -> float | None:
    """Seconds the server's clock is ahead of this machine's, from ``Date`` (1 s resolution)."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        server = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return server + 0.5 - time.time()


def _clock_advice(server_minus_local: float | None) -> str:
    """What to do about a 1004, given how far this machine's clock is from the server's."""
    if server_minus_local is None:
        return "NXCloud accepts 60 s of clock skew; set the system clock (NTP)"
    seconds = abs(round(server_minus_local))
    if seconds < 5:
        return f"your clock is within {seconds} s of the server's, so the ts header itself was refused (epoch ms)"
    side = "behind" if server_minus_local > 0 else "ahead of"
    return f"your clock is {seconds} s {side} the server's; NXCloud accepts 60 s of skew, so set the system clock (NTP)"


def _is_truncation(exc: BaseException) -> bool:
    text = repr(exc)
    return "IncompleteRead" in text or "ChunkedEncodingError" in type(exc).__name__
