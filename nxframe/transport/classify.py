"""What one complete answer means: the pure :func:`classify` and its four outcomes.

Kept free of sockets and clocks (bar ``Date``/``Retry-After`` arithmetic) so
unit tests can call it with a status, headers and bytes. Each outcome carries
its error built complete once: nothing is mutated after construction, and a
:class:`Retry` that runs out builds its final error anew in :meth:`Retry.give_up`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3

from ..config import ENV_ACCESS_KEY, ENV_ACCESS_SECRET
from ..decode import Reply, decode_page
from ..errors import ApiError, AuthError, NxframeError, ParameterError, RateLimitError, ResponseError, ServerError

__all__ = ["MAX_RETRY_AFTER", "ClockSkew", "Context", "Fail", "Ok", "Outcome", "Retry", "classify"]

#: A server asking us to wait longer than this per retry is treated as a failure, not a pause.
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class Context:
    """What errors say about the request: the date and page asked for, a summary without secrets."""

    date: dt.date | None = None
    page: int | None = None
    request: dict[str, Any] | None = None

    @property
    def where(self) -> str:
        if self.date is None:
            return ""
        return f" for {self.date.isoformat()}" + ("" if self.page is None else f" page {self.page}")

    def error(self, kind: type[ApiError], text: str, **fields: Any) -> ApiError:
        return kind(text, date=self.date, page=self.page, request=self.request, **fields)


@dataclass(frozen=True)
class Ok:
    """A code-0 reply."""

    reply: Reply


@dataclass(frozen=True)
class Retry:
    """A transient failure: ``error`` is what this attempt would raise; ``reason`` counts retries."""

    error: ApiError
    reason: str
    retry_after: float | None = None

    def give_up(self, retries: int, waited: float) -> ApiError:
        """The final error once retries are used up, built anew with how hard we tried."""
        error = self.error
        hint = (
            "lower Client(concurrency=...) or set max_rps"
            if isinstance(error, RateLimitError)
            else "NXCloud or the network may be down; try again later"
        )
        text = f"{error.args[0]}; gave up after {retries} retries ({waited:.1f} s of waiting): {hint}"
        return type(error)(
            text,
            code=error.code,
            message=error.message,
            http_status=error.http_status,
            date=error.date,
            page=error.page,
            request=error.request,
        )


@dataclass(frozen=True)
class ClockSkew:
    """Code 1004: ``offset`` is how far the server's clock is ahead of ours (``None``: no ``Date``)."""

    error: ApiError
    offset: float | None


@dataclass(frozen=True)
class Fail:
    """A failure that another attempt would not cure."""

    error: NxframeError


Outcome = Ok | Retry | ClockSkew | Fail


def classify(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    parse: Callable[[bytes], Reply] = decode_page,
    context: Context = Context(),
) -> Outcome:
    """What one complete answer means: pure, so unit tests need no server.

    ``parse`` turns a 200 body into a :class:`Reply` (its ``ResponseError`` or
    ``SchemaError`` is a :class:`Fail`).
    """
    lower = {name.lower(): value for name, value in headers.items()}
    where = context.where
    if 300 <= status < 400:
        return Fail(
            context.error(
                ResponseError,
                f"NXCloud answered HTTP {status}{where}, a redirect to {_location_host(lower.get('location'))}: "
                "nxframe never follows redirects (the request is signed, so it goes only to base_url); "
                "check NXCLOUD_BASE_URL",
                http_status=status,
            )
        )
    if status == 429:
        limited = context.error(RateLimitError, f"NXCloud rate-limited the request{where} (HTTP 429)", http_status=429)
        return Retry(limited, "HTTP 429", _retry_after(lower.get("retry-after")))
    if status >= 500:
        failed = context.error(ServerError, f"NXCloud failed{where} (HTTP {status})", http_status=status)
        return Retry(failed, f"HTTP {status}", _retry_after(lower.get("retry-after")))
    if status in (401, 403):
        text = f"NXCloud refused the request{where} (HTTP {status}): check {ENV_ACCESS_KEY} and {ENV_ACCESS_SECRET}"
        return Fail(context.error(AuthError, text, http_status=status))
    if status != 200:
        text = f"NXCloud answered HTTP {status}{where}: check NXCLOUD_BASE_URL"
        return Fail(context.error(ResponseError, text, http_status=status))
    try:
        reply = parse(body)
    except ApiError as exc:
        refused: NxframeError = context.error(
            type(exc), str(exc), code=exc.code, message=exc.message, http_status=status
        )
    except NxframeError as exc:
        refused = exc
    else:
        return Ok(reply) if reply.code == 0 else _code_outcome(reply, lower, context)
    return Fail(refused)


def _code_outcome(reply: Reply, headers: Mapping[str, str], context: Context) -> Outcome:
    code, message, where = reply.code, reply.message, context.where
    said = f"code {code}" + (f": {message}" if message else "")
    fields: dict[str, Any] = {"code": code, "message": message, "http_status": 200}
    if code == -1:
        return Retry(context.error(ServerError, f"NXCloud failed{where} ({said})", **fields), "code -1")
    if code == 1004:
        offset = _server_offset(headers.get("date"))
        text = f"NXCloud says the request timestamp expired{where} ({said}): {_clock_advice(offset)}"
        return ClockSkew(context.error(AuthError, text, **fields), offset)
    kind: type[ApiError] = AuthError
    if code == 1002:
        sent = (context.request or {}).get("body")
        kind, text = ParameterError, f"NXCloud rejected the query parameters{where} ({said}); sent {sent}"
    elif code == 1003:
        text = f"NXCloud rejected the signature{where} ({said}): check {ENV_ACCESS_SECRET}"
    elif code == 1005:
        text = (
            f"NXCloud denied permission{where} ({said}): check {ENV_ACCESS_KEY}, "
            "or the access key lacks the DID business"
        )
    elif code == 1001:
        text = f"NXCloud says a signed header is missing{where} ({said}); please report this nxframe bug"
    elif 1000 <= code <= 1009:
        text = f"NXCloud refused authentication{where} ({said})"
    else:
        kind, text = ApiError, f"NXCloud answered an undocumented result{where} ({said})"
    return Fail(context.error(kind, text, **fields))


def _location_host(location: str | None) -> str:
    """The redirect target's host as a message may show it: quoted, short, never the whole URL."""
    if not location:
        return "no Location"
    try:
        host = urlsplit(location.strip()).hostname
    except ValueError:
        host = None
    shown = host if host else location.strip()
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return f"host {shown!r}" if host else f"Location {shown!r}"


#: urllib3's own ``Retry-After`` parser (seconds or an HTTP date), capped at what nxframe will wait.
_RETRY_AFTER = urllib3.util.Retry(retry_after_max=int(MAX_RETRY_AFTER))


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds, from either of its two forms; ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        return float(_RETRY_AFTER.parse_retry_after(value))
    except (urllib3.exceptions.InvalidHeader, ValueError, OverflowError):  # ValueError: 5 000 digits
        return None


def _server_offset(value: str | None) -> float | None:
    """Seconds the server's clock is ahead of this machine's, from ``Date`` (1 s resolution)."""
    if not value:
        return None
    try:
        server = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
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
