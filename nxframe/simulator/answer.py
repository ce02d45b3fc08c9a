"""One planned HTTP answer of the simulator, shared by the handler and the hostile answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Answer"]


@dataclass(frozen=True)
class Answer:
    """What to send: a status and body, or a stream of chunks, or nothing (``status == 0``: hang up).

    ``length`` overrides Content-Length (``None``: the body's own length;
    ``-1``: no Content-Length, the body ends when the connection closes);
    ``interval`` is the pause between chunks, so a body can drip; ``delay``
    the pause before anything is sent (logged first, so a test sees it);
    ``header_interval`` sends the status line and headers a byte at a time, that far apart.
    """

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    chunks: Iterable[bytes] | None = None
    interval: float = 0.0
    close: bool = False
    delay: float = 0.0
    header_interval: float = 0.0
