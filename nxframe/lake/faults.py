"""A storage failure in words: which exception means what, and what the user should set.

Object stores fail in many dialects: s3fs turns S3's error codes into
``OSError`` subclasses (keeping botocore's ``ClientError`` as the cause),
botocore raises its own classes for credentials, connections and timeouts,
and aiohttp may surface underneath. :func:`classify` reads all of them and
answers with a :class:`Fault`: whether the operation may be tried again, and
the cause in words that name the setting to change. No text of the library's
goes out unscrubbed: :class:`Scrubber` masks every storage secret first.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ..redaction import MASK

__all__ = ["Fault", "Scrubber", "classify", "display_url"]

Kind = Literal["missing", "conflict", "transient", "fatal"]

#: Option names whose values are credentials; matched as substrings of the lower-cased name.
_SECRET_NAMES = ("secret", "token", "password", "passwd", "credential", "key", "username", "sas", "signature")
#: The AWS variables whose values must never be shown.
_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
#: S3 answers that mean "try again shortly" (AWS documents 409 for concurrent conditional writes).
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "ConditionalRequestConflict",
    "OperationAborted",
}
_DENIED_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AllAccessDisabled",
    "AccountProblem",
}
_CREDENTIAL_ERRORS = (
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "ProfileNotFound",
    "UnknownCredentialError",
)
_TIMEOUT_ERRORS = ("ReadTimeoutError", "ConnectTimeoutError", "AioReadTimeoutError", "ServerTimeoutError")
_CONNECTION_ERRORS = (
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ClientConnectorError",
    "ClientConnectionError",
    "ClientOSError",
    "ServerDisconnectedError",
    "ClientPayloadError",
    "IncompleteReadError",
    "ResponseStreamingError",
    "IncompleteRead",
)
_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or give key and secret in storage_options"
)
_ENDPOINT_HINT = (
    "check that the store is running and the endpoint (AWS_ENDPOINT_URL, or endpoint_url in storage_options)"
)


@dataclass(frozen=True)
class Fault:
    """What a failed storage call means.

    Attributes:
        kind: ``missing`` (no such object), ``conflict`` (a condition did not
            hold: HTTP 412), ``transient`` (worth another attempt) or ``fatal``.
        cause: the cause and what to set, in words, secrets masked.
        code: S3's error code or HTTP status, when the store answered.
    """

    kind: Kind
    cause: str
    code: str | None = None


class Scrubber:
    """Masks storage secrets (from ``storage_options`` and the AWS environment) in any text."""

    def __init__(self, options: Mapping[str, Any] | None) -> None:
        values = {value for value in _secret_values(options or {}) if len(value) >= 4}
        values |= {os.environ[name] for name in _SECRET_ENV if len(os.environ.get(name, "")) >= 4}
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text


def _secret_values(options: Mapping[str, Any], secret: bool = False) -> Iterable[str]:
    for name, value in options.items():
        named = secret or any(part in str(name).lower() for part in _SECRET_NAMES)
        if isinstance(value, Mapping):
            yield from _secret_values(value, named)
        elif isinstance(value, str) and named:
            yield value


def display_url(location: str) -> str:
    """A lake's location as it may be shown: no ``user:password@``, no query string."""
    if "://" not in location:
        return location
    try:
        parts = urlsplit(location)
    except ValueError:
        return location.split("?", 1)[0]
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def classify(error: BaseException, *, endpoint: str, timeouts: tuple[float, float], scrub: Scrubber) -> Fault:
    """What ``error`` (raised by s3fs, botocore or aiohttp) means, and what the user should do.

    Args:
        endpoint: the store's address, for messages (no credentials).
        timeouts: the connect and read timeouts in force, for messages.
        scrub: masks the secrets in any text taken from the error.
    """
    names = {cls.__name__ for link in _chain(error) for cls in type(link).__mro__}
    response = next((r for link in _chain(error) if isinstance(r := getattr(link, "response", None), dict)), None)
    if response is not None:
        return _answered(response, endpoint, scrub)
    if names & set(_CREDENTIAL_ERRORS):
        return Fault("fatal", f"no usable storage credentials ({scrub(str(error))}); {_CREDENTIALS_HINT}")
    if "NoRegionError" in names:
        return Fault("fatal", "no region is set; set AWS_REGION, or region_name in storage_options client_kwargs")
    if "SSLError" in names:
        return Fault(
            "fatal", f"TLS with {endpoint} failed ({_first_line(error, scrub)}); check the endpoint's certificate"
        )
    if "ProxyConnectionError" in names:
        return Fault("fatal", f"the proxy to {endpoint} refused ({_first_line(error, scrub)}); check HTTPS_PROXY")
    if names & set(_TIMEOUT_ERRORS) or _is_timeout(error):
        connect, read = timeouts
        phase = f"connect within {connect:g} s" if "ConnectTimeoutError" in names else f"answer within {read:g} s"
        return Fault(
            "fatal",
            f"the store at {endpoint} did not {phase} (config_kwargs connect_timeout/read_timeout in "
            "storage_options); it may be overloaded or hanging: try again later",
        )
    if names & set(_CONNECTION_ERRORS) or isinstance(error, (ConnectionError, socket.gaierror)):
        return Fault("transient", f"cannot reach {endpoint} ({_reason(error, scrub)}); {_ENDPOINT_HINT}")
    if isinstance(error, TypeError) or "ParamValidationError" in names:
        return Fault("fatal", f"storage_options were refused by the storage library ({_first_line(error, scrub)})")
    if isinstance(error, FileNotFoundError):
        return Fault("missing", "no such object")
    return Fault("fatal", f"the storage failed ({type(error).__name__}: {_first_line(error, scrub)})")


def _answered(response: dict[str, Any], endpoint: str, scrub: Scrubber) -> Fault:
    """A failure the store answered with an HTTP status (and, except for HEAD, an S3 error code)."""
    detail = response.get("Error") or {}
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or detail.get("Code", 0) or 0)
    code = str(detail.get("Code") or status)
    message = scrub(str(detail.get("Message") or "")).strip()
    said = f"HTTP {status} {code}" + (f": {message}" if message and message != code else "")
    if code == "NoSuchBucket":
        bucket = detail.get("BucketName")
        named = f"bucket {bucket!r}" if bucket else "the bucket"
        return Fault(
            "fatal",
            f"{named} does not exist at {endpoint}; create it (nxframe never creates buckets), or check the lake "
            "URL and the endpoint (AWS_ENDPOINT_URL, or endpoint_url in storage_options)",
            code,
        )
    if code in ("NoSuchKey", "404", "NotFound"):
        return Fault("missing", "no such object", code)
    if code in ("PreconditionFailed", "412"):
        return Fault("conflict", "a condition did not hold", code)
    if code in _DENIED_CODES or status == 403:
        return Fault(
            "fatal",
            f"access denied ({said}); check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or key and secret in storage_options) and that they may read and write this prefix",
            code,
        )
    if code in ("NotImplemented", "501"):
        return Fault("fatal", f"the store does not support this request ({said})", code)
    if code in _TRANSIENT_CODES or status in (409, 500, 502, 503, 504):
        return Fault("transient", f"the store answered {said}", code)
    return Fault("fatal", f"the store refused the request ({said})", code)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and its causes (s3fs keeps botocore's error as ``__cause__``), at most 8 deep."""
    links: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and len(links) < 8 and link not in links:
        links.append(link)
        link = link.__cause__ or link.__context__
    return links


def _is_timeout(error: BaseException) -> bool:
    return isinstance(error, (TimeoutError, asyncio.TimeoutError)) or type(error).__name__ == "FSTimeoutError"


def _reason(error: BaseException, scrub: Scrubber) -> str:
    """Why a connection failed, in a few words: refused, reset, closed, unknown host."""
    found = list(_chain(error))
    for link in list(found):  # botocore keeps the socket's error in .kwargs["error"], aiohttp in .os_error
        inner = (getattr(link, "kwargs", None) or {}).get("error")
        for nested in (inner, getattr(inner, "os_error", None), getattr(link, "os_error", None)):
            if isinstance(nested, BaseException):
                found.append(nested)
    for kind, words in (
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        (socket.gaierror, "unknown host"),
    ):
        if any(isinstance(link, kind) for link in found):
            return words
    text = " ".join(str(link) for link in found).lower()
    for needle, words in (
        ("refused", "connection refused"),
        ("reset", "connection reset"),
        ("name or service not known", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("closed", "the connection was closed before an answer"),
        ("disconnected", "the server disconnected"),
        ("unreachable", "network unreachable"),
    ):
        if needle in text:
            return words
    return _first_line(error, scrub)


def _first_line(error: BaseException, scrub: Scrubber) -> str:
    text = scrub(str(error)).strip().splitlines()
    line = re.sub(r"\s+", " ", text[0]) if text else type(error).__name__
    return line if len(line) <= 200 else line[:197] + "..."
