"""Files other people open: safe text cells and atomic writes.

API text (country names, reason names, numbers) is data, never a formula or
markup. Every file nxframe hands to someone else (report CSV/Excel/HTML,
``nxframe fetch --out``) goes through here:

- :func:`csv_cell` applies OWASP's CSV-injection rule: a cell starting with
  ``=``, ``@``, tab or carriage return, or with ``+``/``-``, gets a leading
  ``'`` unless the whole cell is a plain number (``+6621234567``, ``-0.5``).
- :func:`atomic_file` writes to a temporary beside the target and renames it
  over the target only when the write finished, so a full disk or a crash
  leaves the old file, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_file", "csv_cell"]

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_RISKY_FIRST = ("=", "@", "\t", "\r", "+", "-")


def csv_cell(text: str) -> str:
    """``text`` made safe to open in a spreadsheet (OWASP CSV injection rule).

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("+6621234567"), csv_cell("-0.5"), csv_cell("-")
    ("'=HYPERLINK(1)", '+6621234567', '-0.5', "'-")
    """
    if text.startswith(_RISKY_FIRST) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    The temporary is hidden (``.name.<random>.tmp``) so readers and globbing
    tools skip it; on any failure it is removed and ``path`` is untouched.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
