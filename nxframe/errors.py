"""The errors nxframe raises, all importable from ``nxframe``.

::

    NxframeError(Exception)
    ├── InvalidInputError(NxframeError, ValueError)  bad arguments, raised before any network call
    ├── ApiError            the API or the network failed: .code, .message (the server's),
    │   │                   .page, a request summary without secrets
    │   ├── AuthError       codes 1000..1009 except 1002; HTTP 401/403
    │   ├── ParameterError  code 1002
    │   ├── ServerError     code -1, HTTP 5xx, connection errors, timeouts, bodies cut
    │   │                   short (fewer bytes than Content-Length), after retries
    │   ├── RateLimitError  HTTP 429, after retries
    │   ├── ResponseError   a whole body that is not JSON or not the documented shape
    │   ├── TLSError        the server's certificate is not trusted (not retried; names the
    │   │                   host and the settings that add a CA: Client(verify=...), REQUESTS_CA_BUNDLE)
    │   └── ProxyError      the proxy refused the tunnel or asked for credentials (not retried;
    │                       names the proxy host, never its credentials, and where it came from)
    ├── IncompleteDataError rows do not add up to totalRow, even after a re-scan
    ├── SchemaError         a value does not fit its column: names column, row id, value
    ├── LakeError           the lake holds another query's data, a partition is unreadable,
    │                       another writer holds the lock, or the storage refused or failed
    │                       (names the lake URL without credentials and the likely cause)
    └── SignoffError        a sign-off package is incomplete or a file in it changed

(``tests/test_api.py`` checks this drawing against the classes.)

Every error is built complete, once: its constructor takes all of its context
as keyword arguments, and nothing sets attributes on it afterwards. That
context survives pickling (multiprocessing, Dask), and every message says what
to do next. No error ever carries the access secret or a request signature:
:class:`ApiError` keeps a request summary made by
:func:`nxframe.redaction.request_summary`, never the headers.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "IncompleteDataError",
    "InvalidInputError",
    "LakeError",
    "NxframeError",
    "ParameterError",
    "ProxyError",
    "RateLimitError",
    "ResponseError",
    "SchemaError",
    "ServerError",
    "SignoffError",
    "TLSError",
]


class NxframeError(Exception):
    """Root of every error nxframe raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the structured context (code, column, date...) across pickling: multiprocessing, Dask.
        return (self.__class__, self.args, self.__dict__)


class InvalidInputError(NxframeError, ValueError):
    """An argument is wrong; raised before any request is sent.

    Attributes:
        parameter: the Python parameter at fault (``"page_size"``, ``"start"``...),
            so a front end can name its own spelling of it (the CLI says ``--page-size``).
            The message itself names the Python parameter.
    """

    def __init__(self, text: str, *, parameter: str | None = None) -> None:
        super().__init__(text)
        self.parameter = parameter


class ApiError(NxframeError):
    """The NXCloud API or the network between us failed.

    Attributes:
        code: the API's result code (``-1``, ``1003``...) or ``None`` when the
            failure was HTTP- or network-level.
        message: the server's own message, if it sent one.
        http_status: the HTTP status, if a response arrived.
        date: the queried date, if known.
        page: the page number being fetched, if known.
        request: a summary of the request (URL, body fields) without secrets.
    """

    def __init__(
        self,
        text: str,
        *,
        code: int | None = None,
        message: str | None = None,
        http_status: int | None = None,
        date: dt.date | None = None,
        page: int | None = None,
        request: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(text)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.date = date
        self.page = page
        self.request = request or {}


class AuthError(ApiError):
    """NXCloud refused the credentials, the signature or the timestamp."""


class ParameterError(ApiError):
    """NXCloud rejected the request body (code 1002)."""


class ServerError(ApiError):
    """NXCloud or the network failed and kept failing after the retries."""


class RateLimitError(ApiError):
    """NXCloud kept answering HTTP 429 after the retries."""


class ResponseError(ApiError):
    """A response is not JSON, not the documented shape, or not believable.

    Not retried: a server that sends it once would send it again. Covers a
    redirect, a body over ``max_response_bytes``, a ``totalRow`` that is
    negative or over ``max_rows_per_date``, and a page that is not the one asked for.
    """


class TLSError(ApiError):
    """The server's certificate did not verify against the trusted CAs; not retried.

    A corporate proxy that inspects TLS signs with its own CA: trust it with
    ``Client(verify="/path/ca.pem")`` or ``REQUESTS_CA_BUNDLE``.
    """


class ProxyError(ApiError):
    """The proxy refused the tunnel (HTTP 407 asks for credentials, 403 forbids); not retried.

    The message names the proxy's host and port and where it was configured,
    never its credentials. An unreachable proxy is a :class:`ServerError`.
    """


class IncompleteDataError(NxframeError):
    """The rows received do not add up to the ``totalRow`` the API announced."""

    def __init__(self, text: str, *, date: dt.date | None = None, expected: int = 0, received: int = 0) -> None:
        super().__init__(text)
        self.date = date
        self.expected = expected
        self.received = received


class SchemaError(NxframeError):
    """A value from the API does not fit its column; nothing is rounded or guessed."""

    def __init__(self, text: str, *, column: str = "", row_id: Any = None, value: Any = None) -> None:
        super().__init__(text)
        self.column = column
        self.row_id = row_id
        self.value = value


class LakeError(NxframeError):
    """The lake cannot be used as asked; the message says why and what to do.

    It holds another query's data, a partition is unreadable, another writer
    holds its lock, or the storage refused or failed. The message names the
    lake (its URL without credentials) and the likely cause.

    Attributes:
        path: the file or folder at fault, when there is one (the message names it too).
    """

    def __init__(self, text: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(text)
        self.path = None if path is None else os.fspath(path)


class SignoffError(NxframeError):
    """A sign-off package is incomplete, or a file in it is missing, added or changed.

    Attributes:
        path: the package folder, or the file at fault when there is one.
    """

    def __init__(self, text: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(text)
        self.path = None if path is None else os.fspath(path)
