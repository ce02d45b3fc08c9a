"""The one place that decides what of a request may be shown: never the secret, never a sign.

Everything that is logged, raised or displayed about a request goes through
:func:`request_summary`; the access secret lives in a :class:`Secret` whose
``repr`` and ``str`` are a mask, so it cannot slip into a traceback, a widget
or a notebook by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "Secret", "credential_defect", "hide", "request_summary"]

MASK = "********"

#: Headers whose value may be shown; ``sign`` is derived from the secret and is not.
_SHOWN_HEADERS = ("accessKey", "ts", "bizType", "action", "algorithm")


class Secret:
    """A string that does not show itself. ``reveal()`` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; only the signer calls this."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled; pass credentials through the environment instead")

    def __bool__(self) -> bool:
        return bool(self._value)

    def defect(self) -> str | None:
        """What is wrong with the secret as an NXCloud credential, in words that do not show it; ``None`` if fine.

        NXCloud signs ASCII text, so a secret must be a non-empty ``str`` of
        printable ASCII; a lone surrogate (what ``os.environ`` gives for a
        byte that is not UTF-8) would fail only at signing, inside the string
        that is hashed.
        """
        return credential_defect(self._value)


def hide(value: Any) -> Secret | None:
    """``value`` as a :class:`Secret` (``None`` stays ``None``: "from the environment").

    Called on the first line that receives a secret, so that when a later
    argument is refused, no frame of the traceback holds the plain value:
    error reporters such as Sentry record every frame's locals. Values that
    are not strings are wrapped too; the checks say what is wrong without showing them.
    """
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


def request_summary(url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What an error or a log line may say about a request: URL, body fields, safe headers."""
    summary: dict[str, Any] = {"url": url, "body": dict(body)}
    if headers is not None:
        summary["headers"] = {k: headers[k] for k in _SHOWN_HEADERS if k in headers}
    return summary


def credential_defect(value: object) -> str | None:
    """Why ``value`` cannot be an access key or secret (never quoting it), or ``None``.

    The rule: a non-empty ``str`` of printable ASCII (space to ``~``), without
    leading or trailing spaces, which are almost always a copy-paste slip.
    """
    if not isinstance(value, str):
        return f"must be a str, not {type(value).__name__}"
    if not value:
        return "is empty"
    if not (value.isascii() and value.isprintable()):
        return "holds a character that is not printable ASCII (a control character, non-ASCII or undecodable byte)"
    if value != value.strip():
        return "has leading or trailing spaces"
    return None
