"""NXCloud request signing (``docs/signing.md``): pure functions, no clock, no I/O.

The server hashes the exact JSON text it received, so the caller must
serialise the body once, sign those bytes and send those same bytes.

:func:`sign` takes the access secret as a :class:`~nxframe.redaction.Secret`
and is the only code that calls ``Secret.reveal()``: the plain secret exists
only inside this function, for the length of one hash.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from .errors import InvalidInputError
from .redaction import Secret

__all__ = ["ALGORITHMS", "Algorithm", "sign", "string_to_sign"]

Algorithm = Literal["md5", "sha256"]
ALGORITHMS: tuple[Algorithm, ...] = ("md5", "sha256")


def string_to_sign(
    *, access_key: str, action: str, biz_type: str, ts: str, body: str | None, access_secret: str
) -> str:
    """The text that is hashed: sorted headers, then ``&body=``, then ``&accessSecret=``.

    The four signed headers sorted in ASCII order are always
    ``accessKey, action, bizType, ts``; values are used raw (not URL-encoded).
    ``body`` is left out entirely when the request has none.
    """
    headers = f"accessKey={access_key}&action={action}&bizType={biz_type}&ts={ts}"
    body_part = "" if body is None else f"&body={body}"
    return f"{headers}{body_part}&accessSecret={access_secret}"


def sign(
    *,
    access_key: str,
    action: str,
    biz_type: str,
    ts: str,
    body: str | None,
    access_secret: Secret,
    algorithm: Algorithm = "md5",
) -> str:
    """The lowercase hex digest NXCloud expects in the ``sign`` header.

    Raises:
        InvalidInputError: the text cannot be encoded (a lone surrogate); the
            error holds neither the text nor the secret.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, not {algorithm!r}")
    if not isinstance(access_secret, Secret):
        raise TypeError("access_secret must be a nxframe.redaction.Secret, so it never travels as a plain str")
    text = string_to_sign(
        access_key=access_key,
        action=action,
        biz_type=biz_type,
        ts=ts,
        body=body,
        access_secret=access_secret.reveal(),
    )
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = None  # raised below, outside this block: the UnicodeEncodeError's .object is the string-to-sign
    if data is None:
        raise InvalidInputError(
            "the request cannot be signed: a header, the body or the secret holds a lone surrogate "
            "(not valid Unicode); check NXCLOUD_ACCESS_KEY and NXCLOUD_ACCESS_SECRET"
        )
    return hashlib.new(algorithm, data).hexdigest()
