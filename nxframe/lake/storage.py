"""Where a lake's bytes live: a local folder, ``memory://``, an S3-compatible store, or another fsspec store.

:func:`~nxframe.lake.opener.open_storage` picks the :class:`Storage` for a location. Every storage
speaks in object names relative to the lake's root (``_nxframe_lake.json``,
``date=2024-03-01/part-0.parquet``) and turns every failure of the medium into
a :class:`~nxframe.errors.LakeError` naming the lake (no credentials) and the
cause; nothing raw from fsspec, botocore, aiohttp or the OS gets out.

Reads are pinned to one version of an object: a local file is read through
one open handle (a file renamed over it meanwhile is not the one we hold),
other stores hand over the whole object from one request (S3's footer reads
pin the object's ETag, see :mod:`nxframe.lake.s3`). Paths are never patterns:
nothing here globs, so ``[``, ``]``, ``*`` and ``?`` in a lake's path are
literal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from typing import Any, ClassVar

import pyarrow as pa

from ..errors import LakeError
from .faults import Scrubber, classify

__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "LocalStorage", "MemoryStorage", "Storage"]

log = logging.getLogger("nxframe")

#: Seconds to wait for a connection to a store, and for any answer once a request is sent.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


class Storage:
    """A lake's medium. Subclasses implement the operations; this class holds what they share.

    Attributes:
        kind: ``local``, ``memory``, ``s3`` or ``other``.
        url: the lake's location as it may be shown (no credentials).
        fs: the fsspec filesystem (for callers that need it; nxframe's own reads go through the methods).
        root: the lake's root as ``fs`` names it.
        failure: the first failure of the medium itself (unreachable, denied...), after which a
            writer stops instead of trying every remaining date against a broken store.
    """

    kind: ClassVar[str] = "other"

    def __init__(self, fs: Any, root: str, url: str, scrub: Scrubber) -> None:
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self.url = url
        self.scrub = scrub
        self.failure: LakeError | None = None

    def where(self, name: str) -> str:
        """An object's location as it may be shown."""
        return f"{self.url.rstrip('/')}/{name}"

    def _failed(self, what: str, name: str, cause: str, *, record: bool = True) -> LakeError:
        """The error for a failed operation; ``record`` marks the storage itself as failing."""
        error = LakeError(f"lake {self.url!r}: cannot {what} {name or 'the lake'}: {cause}", path=self.where(name))
        if record and self.failure is None:
            self.failure = error
        return error

    def _path(self, name: str) -> str:
        return f"{self.root}/{name}" if name else self.root

    # -- operations every medium has: local and fsspec stores here, S3 in .s3 ---------------

    def exists(self) -> bool:
        """Whether anything is stored at the lake's location."""
        return bool(self._fs_call("list", "", lambda: self.fs.exists(self.root)))

    def is_file(self) -> bool:
        """Whether the location names a file rather than a folder (a typo to refuse early)."""
        return bool(self._fs_call("look at", "", lambda: self.fs.isfile(self.root)))

    def folders_with(self, prefix: str, part: str) -> list[str]:
        """Names of the folders directly under the root that start with ``prefix`` and hold ``part``."""
        found = self._fs_call("list", "", lambda: self.fs.find(self.root, maxdepth=2))
        base = self.root.rstrip("/") + "/"
        folders = []
        for path in found:
            folder, _, name = str(path).removeprefix(base).partition("/")
            if name == part and folder.startswith(prefix):
                folders.append(folder)
        return folders

    def read(self, name: str) -> bytes | None:
        """A whole object, or ``None`` when there is none."""
        try:
            return bytes(self.fs.cat_file(self._path(name)))
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._failed("read", name, self._cause(exc)) from None

    def source(self, name: str, *, whole: bool) -> pa.NativeFile:
        """An object to parse as Parquet, pinned to one version; ``whole=False`` may hold just the footer.

        Raises:
            LakeError: the object is missing or the medium failed.
        """
        data = self.read(name)
        if data is None:
            raise self._failed("read", name, "it is missing (removed meanwhile?)", record=False)
        return pa.BufferReader(data)

    def write(self, name: str, data: bytes) -> None:
        """Replace an object with ``data`` as one operation: readers see the old object or the new one."""
        self._fs_call("write", name, lambda: self.fs.pipe_file(self._path(name), data))

    def create(self, name: str, data: bytes) -> bool:
        """Write ``data`` unless the object exists; whether it was written. Called holding the lake's lock."""
        if self._fs_call("look at", name, lambda: self.fs.exists(self._path(name))):
            return False
        self.write(name, data)
        return True

    def _fs_call(self, what: str, name: str, call: Any) -> Any:
        try:
            return call()
        except Exception as exc:
            raise self._failed(what, name, self._cause(exc)) from None

    def _cause(self, error: BaseException) -> str:
        return classify(error, endpoint=self.url, timeouts=(CONNECT_TIMEOUT, READ_TIMEOUT), scrub=self.scrub).cause


class MemoryStorage(Storage):
    """``memory://``: fsspec's in-process store (tests, notebooks); the lock lives in the process too."""

    kind = "memory"


class LocalStorage(Storage):
    """A folder on a local disk: atomic replace by temporary + fsync + rename; reads through one handle."""

    kind = "local"

    def exists(self) -> bool:
        return os.path.isdir(self.root)

    def is_file(self) -> bool:
        return os.path.isfile(self.root)

    def folders_with(self, prefix: str, part: str) -> list[str]:
        try:
            entries = [entry.name for entry in os.scandir(self.root) if entry.name.startswith(prefix)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._failed("list", "", exc.strerror or str(exc)) from None
        return [name for name in entries if os.path.isfile(os.path.join(self.root, name, part))]

    def read(self, name: str) -> bytes | None:
        try:
            with open(self._path(name), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._failed("read", name, exc.strerror or str(exc)) from None

    def source(self, name: str, *, whole: bool) -> pa.NativeFile:
        # One handle for footer and rows: a file renamed over meanwhile is still the one we opened.
        try:
            return pa.OSFile(self._path(name))
        except FileNotFoundError:
            raise self._failed("read", name, "it is missing (removed meanwhile?)", record=False) from None
        except (OSError, pa.ArrowException) as exc:
            raise self._failed("read", name, str(exc)) from None

    def write(self, name: str, data: bytes) -> None:
        """Temporary, fsync, rename, fsync the folder; called with the lock held."""
        path = self._path(name)
        folder, base = os.path.split(path)
        temporary = os.path.join(folder, f".{base}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)  # the rename itself survives a power cut
            finally:
                os.close(descriptor)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise self._failed("write", name, exc.strerror or str(exc)) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise

    def create(self, name: str, data: bytes) -> bool:
        if os.path.exists(self._path(name)):
            return False
        self.write(name, data)
        return True
