"""A sign-off package as it lies on disk: its layout, its manifest, its hashes; opened and checked here.

Layout (written by :mod:`nxframe.report.signoff`)::

    <folder>/manifest.json   what was signed: month, source, query, totals, dates, SHA-256 of every other file
    <folder>/report.html     the report as signed
    <folder>/report.xlsx
    <folder>/csv/*.csv       the report's CSV files (the exact copy)
    <folder>/rows.parquet    the rows the report used: the month and the month before, in the lake's types

Money in the manifest is decimal text (``"1234.567800"``), never a JSON
number. ``manifest_sha256`` is the SHA-256 of the manifest's other fields
(canonical JSON: sorted keys, no spaces), so an edited manifest is found even
when its file hashes still match; a hash proves nothing against someone who
rewrites every hash, which a package without a private key cannot prevent.

Everything that reads a package goes through :func:`open_package`, which
verifies it first: a report, an audit or a comparison made from a package
whose files changed would prove nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InvalidInputError, SignoffError
from ..schema import arrow_schema
from .words import month_range

__all__ = [
    "DATAFRAME",
    "FORMAT",
    "MANIFEST",
    "ROWS",
    "Package",
    "canonical_digest",
    "file_hashes",
    "is_package",
    "open_package",
    "public_location",
    "totals_entry",
    "verify_signoff",
]

FORMAT = "nxframe-signoff/1"
MANIFEST = "manifest.json"
ROWS = "rows.parquet"
#: ``source`` of a package signed from a DataFrame (there is no lake to compare with later).
DATAFRAME = "DataFrame"
DIGEST = "manifest_sha256"
_HEX = re.compile(r"[0-9a-f]{64}")
_TOTALS = ("calls", "answered", "duration_s", "billed_minutes", "cost")


@dataclass(frozen=True)
class Package:
    """A verified package: its folder and its manifest (as read; see the module docstring)."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def month(self) -> str:
        month: str = self.manifest["month"]
        return month

    @property
    def first(self) -> dt.date:
        return month_range(self.month)[0]

    @property
    def last(self) -> dt.date:
        return month_range(self.month)[1]

    @property
    def source(self) -> str:
        """The lake the month was signed from, without credentials, or ``"DataFrame"``."""
        source: str = self.manifest["source"]
        return source

    @property
    def from_lake(self) -> bool:
        return self.source != DATAFRAME

    @property
    def created_at(self) -> str:
        created: str = self.manifest["created_at"]
        return created

    def present(self) -> frozenset[dt.date]:
        """Dates of the month and the month before that had data when the month was signed."""
        missing = {dt.date.fromisoformat(d) for d in self.manifest["missing_dates"]}
        days = (self.last - self.first).days + 1
        month = {self.first + dt.timedelta(days=n) for n in range(days)} - missing
        return frozenset(month | {dt.date.fromisoformat(d) for d in self.manifest["previous_dates"]})

    def rows(self, first: dt.date | None = None, last: dt.date | None = None) -> pa.Table:
        """The signed rows dated ``first``..``last`` (default: all), in the lake's Arrow types.

        Raises:
            SignoffError: ``rows.parquet`` does not read back as the frame's columns.
        """
        path = self.folder / ROWS
        bounds = [("date", ">=", first)] if first is not None else []
        bounds += [("date", "<=", last)] if last is not None else []
        try:  # the file's SHA-256 was checked when the package was opened; row groups outside the dates are skipped
            table = pq.read_table(path, filters=bounds or None)
            start = table.schema.field("start_time").type
            schema = arrow_schema(start.tz if pa.types.is_timestamp(start) else None)
            return table.select(schema.names).cast(schema)  # Parquet keeps seconds as milliseconds
        except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
            raise SignoffError(
                f"{path} does not read back as call records ({exc}); the package is damaged", path=path
            ) from None


def public_location(location: str | os.PathLike[str]) -> str:
    """A lake's location as a manifest may keep it: a URL without user, password or query; a path made absolute.

    An absolute path, so that ``restatements`` finds the lake from any
    working folder; no credentials, because the package is handed to others.
    """
    text = os.fspath(location)
    if "://" not in text:
        return str(Path(text).expanduser().absolute())
    parts = urllib.parse.urlsplit(text)
    host = parts.hostname or ""
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_package(source: object) -> bool:
    """Whether ``source`` names a local folder holding a sign-off manifest (a lake holds none)."""
    if not isinstance(source, (str, os.PathLike)) or "://" in os.fspath(source):
        return False
    return (Path(source) / MANIFEST).is_file()


def canonical_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the manifest without its own digest, as canonical JSON (sorted keys, no spaces)."""
    body = {key: value for key, value in manifest.items() if key != DIGEST}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """``relative/path -> SHA-256`` of every file under ``folder`` except the manifest, sorted by path."""
    return {name: _sha256(folder / name) for name in _files(folder)}


def verify_signoff(signoff: str | os.PathLike[str]) -> None:
    """Check that a sign-off package is exactly as it was signed.

    Every file's SHA-256 is computed again and compared with the manifest;
    the manifest's own digest is checked too. The first difference, in path
    order, is reported.

    Args:
        signoff: the package's folder (what ``Report.signoff`` returned).

    Raises:
        InvalidInputError: ``signoff`` is not a path.
        SignoffError: there is no package there, the manifest is missing or
            malformed, or a file is missing, added or changed (the message and
            ``.path`` name it).
    """
    open_package(signoff)


def open_package(signoff: object, *, parameter: str = "signoff") -> Package:
    """The package at ``signoff``, verified (see :func:`verify_signoff`).

    Raises:
        InvalidInputError: ``signoff`` is not a path (names ``parameter``).
        SignoffError: as :func:`verify_signoff`.
    """
    if not isinstance(signoff, (str, os.PathLike)) or not os.fspath(signoff):
        raise InvalidInputError(
            f"{parameter} must be the folder of a sign-off package, not {type(signoff).__name__} {signoff!r}",
            parameter=parameter,
        )
    folder = Path(signoff)
    if not folder.is_dir():
        raise SignoffError(
            f"there is no sign-off package at {str(folder)!r} (no such folder); "
            "pass the folder Report.signoff wrote (nxframe report ... --signoff DIR)",
            path=folder,
        )
    manifest = _read_manifest(folder)
    listed: dict[str, str] = manifest["files"]
    found = set(_files(folder))
    for name in sorted(found | set(listed)):
        path = folder / name
        if name not in found:
            raise SignoffError(f"sign-off package {folder}: {name} is missing; {_UNTRUSTED}", path=path)
        if name not in listed:
            raise SignoffError(
                f"sign-off package {folder}: {name} was added after the sign-off; {_UNTRUSTED}", path=path
            )
        if _sha256(path) != listed[name]:
            raise SignoffError(f"sign-off package {folder}: {name} changed since the sign-off; {_UNTRUSTED}", path=path)
    return Package(folder, manifest)


_UNTRUSTED = "the package no longer proves what was signed (restore it from a copy, or sign the month off again)"


def _files(folder: Path) -> Iterator[str]:
    """Relative POSIX paths of every file below ``folder`` but the manifest; links count as files."""
    names = []
    for directory, folders, files in os.walk(folder):
        here = Path(directory)
        links = [name for name in folders if (here / name).is_symlink()]
        for name in [*files, *links]:
            relative = (here / name).relative_to(folder).as_posix()
            if relative != MANIFEST:
                names.append(relative)
    return iter(sorted(names))


def _sha256(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise SignoffError(f"{path} cannot be read ({exc.strerror or exc}); {_UNTRUSTED}", path=path) from None


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise SignoffError(
            f"sign-off package {folder}: {MANIFEST} is missing; without it nothing in the folder is signed",
            path=path,
        )
    try:
        manifest = json.loads(path.read_bytes())
        defect = _defect(manifest)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        defect = f"not JSON ({exc})"
    if defect is None and manifest.get(DIGEST) != canonical_digest(manifest):
        raise SignoffError(f"sign-off package {folder}: {MANIFEST} changed since the sign-off; {_UNTRUSTED}", path=path)
    if defect is not None:
        raise SignoffError(f"sign-off package {folder}: {MANIFEST} is malformed: {defect}; {_UNTRUSTED}", path=path)
    result: dict[str, Any] = manifest
    return result


def _defect(manifest: Any) -> str | None:
    """What is wrong with a manifest's shape, in words; ``None`` when every field is there and well-typed."""
    if not isinstance(manifest, dict):
        return f"a JSON object was expected, found {type(manifest).__name__}"
    if manifest.get("format") != FORMAT:
        return f"format is {manifest.get('format')!r}, not {FORMAT!r}"
    for key, kind in (
        ("month", str),
        ("previous", str),
        ("source", str),
        ("created_at", str),
        ("nxframe_version", str),
        ("totals", dict),
        ("dates", list),
        ("files", dict),
        ("missing_dates", list),
        ("previous_dates", list),
        ("today", str),
        ("ignored_rows", int),
        (DIGEST, str),
    ):
        if not isinstance(manifest.get(key), kind):
            return f"{key} is missing or not a {kind.__name__}"
    absent = [key for key in _TOTALS if key not in manifest["totals"]]
    if absent:
        return f"totals lacks {', '.join(absent)}"
    if not (manifest.get("query") is None or isinstance(manifest["query"], dict)):
        return "query is neither null nor an object"
    try:
        month_range(manifest["month"])
        dt.date.fromisoformat(manifest["today"])
        for text in [*manifest["missing_dates"], *manifest["previous_dates"]]:
            dt.date.fromisoformat(text)
        for key in ("billed_minutes", "cost"):
            _decimal(manifest["totals"][key])
        _decimal(manifest.get("overcharge_total"))
        for entry in manifest["dates"]:
            dt.date.fromisoformat(entry["date"])
            _decimal(entry["cost"])
    except (InvalidInputError, ValueError, TypeError, KeyError) as exc:
        return f"a month, date or amount does not read ({exc})"
    for name, digest in manifest["files"].items():
        if not (isinstance(digest, str) and _HEX.fullmatch(digest)):
            return f"the hash of {name!r} is not a SHA-256"
        parts = Path(name).parts
        if not parts or Path(name).is_absolute() or ".." in parts or name == MANIFEST:
            return f"{name!r} is not a file inside the package"
    return None


def _decimal(text: Any) -> Decimal:
    """Money as the manifest keeps it: decimal text, never a JSON number (a float is not exact)."""
    if not isinstance(text, str):
        raise TypeError(f"{text!r} is not decimal text")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal") from None


def totals_entry(totals: Mapping[str, Any]) -> dict[str, Any]:
    """A totals row (``calls, answered, duration_seconds, billed_minutes, cost``) as the manifest keeps it."""
    return {
        "calls": int(totals["calls"]),
        "answered": int(totals["answered"]),
        "duration_s": int(totals["duration_seconds"]),
        "billed_minutes": format(Decimal(totals["billed_minutes"]), "f"),
        "cost": format(Decimal(totals["cost"]), "f"),
    }
