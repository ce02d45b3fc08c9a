"""NXCloud request signing (``api/signing.md``): pure functions, no clock, no I/O.

The server hashes the exact JSON text it received, so the caller must
serialise the body once, sign those bytes and send those same bytes.
"""

from __future__ import annotations

import hashlib
from typing import Literal

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
    access_secret: str,
    algorithm: Algorithm = "md5",
) -> str:
    """The lowercase hex digest NXCloud expects in the ``sign`` header."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, not {algorithm!r}")
    text = string_to_sign(
        access_key=access_key, action=action, biz_type=biz_type, ts=ts, body=body, access_secret=access_secret
    )
    return hashlib.new(algorithm, text.encode("utf-8")).hexdigest()
