"""What a network failure means: the outcome of an attempt that got no whole answer.

The pure counterpart of :func:`nxframe.transport.classify` for exceptions:
urllib3 wraps what went wrong (``ProxyError(..., NewConnectionError)``,
``SSLError(SSLCertVerificationError)``, ``ProtocolError(..., OSError)``), so
the cause is looked for along the whole chain. Only the type and a few safe
fields of a library exception reach a message (never its text, which may
quote a URL), and no outcome keeps the exception: a raised error chains no
library object that could hold the signed request.

- a proxy that refuses the tunnel with a 4xx (407: credentials, 403:
  forbidden): :class:`ProxyError`, not retried;
- a certificate that does not verify: :class:`TLSError`, not retried;
- a proxy that cannot be reached, or answers CONNECT with a 5xx (it could
  not reach NXCloud), a refused connection, a timeout, a broken connection:
  a transient :class:`ServerError`.
"""

from __future__ import annotations

import http
import ssl
from collections.abc import Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import urllib3

from ..config import ClientSettings
from ..errors import ProxyError, ServerError, TLSError
from ..network import CA_BUNDLE_VARIABLES, EXPLICIT_VERIFY
from .classify import Context, Fail, Outcome, Retry
from .connections import TunnelRefusedError

__all__ = ["network_failure"]

_E = TypeVar("_E", bound=BaseException)


def network_failure(exc: BaseException, settings: ClientSettings, context: Context, timed_out: Retry) -> Outcome:
    """The outcome of ``exc``, raised while connecting or sending; ``timed_out`` is the deadline's."""
    where, proxy = context.where, settings.proxy
    parts = urlsplit(settings.base_url)
    target = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    refused = _cause(exc, TunnelRefusedError)
    if refused is not None and proxy is not None:
        status = refused.status
        phrase = _phrase(status)
        if status >= 500:
            text = f"{proxy.where} could not open a tunnel to {target}{where} (HTTP {status} {phrase})"
            return Retry(context.error(ServerError, text, http_status=status), f"proxy HTTP {status}")
        if status == 407:
            advice = (
                "it refused the credentials in the proxy URL"
                if proxy.credentials is not None
                else "it asks for credentials: give them in the proxy URL, http://USER:PASSWORD@host:port"
            )
        elif status == 403:
            advice = f"it forbids {target}: ask whoever runs the proxy to allow it, or list the host in NO_PROXY"
        else:
            advice = "check the proxy setting"
        text = f"{proxy.where} refused the tunnel to {target}{where} (HTTP {status} {phrase}): {advice}"
        return Fail(context.error(ProxyError, text, http_status=status))
    untrusted = _cause(exc, ssl.SSLCertVerificationError)
    if untrusted is not None:
        reason = untrusted.verify_message or "not trusted"
        text = (
            f"the TLS certificate of {parts.hostname} did not verify{where} ({reason}); trusted: "
            f"{settings.trust.origin}. If a proxy or firewall inspects TLS with your company's certificate "
            f"authority, trust that CA's bundle with {EXPLICIT_VERIFY} or {CA_BUNDLE_VARIABLES[0]}"
        )
        return Fail(context.error(TLSError, text))
    if _cause(exc, urllib3.exceptions.NewConnectionError) is not None:  # a ConnectTimeoutError, but not a timeout
        if proxy is not None:
            text = f"{proxy.where} could not be reached{where} (could not connect)"
            return Retry(context.error(ServerError, text), "proxy unreachable")
        text = f"the connection to NXCloud failed{where} (NewConnectionError: could not connect)"
        return Retry(context.error(ServerError, text), "connection failed")
    if _cause(exc, (urllib3.exceptions.TimeoutError, TimeoutError)) is not None:
        return timed_out
    tls = " during the TLS handshake" if _cause(exc, ssl.SSLError) is not None else ""
    text = f"the connection to NXCloud failed{where}{tls} ({type(exc).__name__})"
    return Retry(context.error(ServerError, text), "connection failed")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps: causes, contexts, and exceptions among its args (urllib3's way)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack += [arg for arg in item.args if isinstance(arg, BaseException)]
        stack += [e for e in (item.__cause__, item.__context__) if e is not None]
        reason = getattr(item, "reason", None)  # urllib3's MaxRetryError/ProxyError keep it here
        if isinstance(reason, BaseException):
            stack.append(reason)


def _cause(exc: BaseException, kind: type[_E] | tuple[type[_E], ...]) -> _E | None:
    return next((item for item in _chain(exc) if isinstance(item, kind)), None)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "unknown status"
