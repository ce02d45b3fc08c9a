"""Opening a lake's storage: the location and ``storage_options`` -> the right :class:`~.storage.Storage`.

``storage_options`` go to fsspec as given; on S3 nxframe adds defaults the
caller did not set (:func:`~.s3.s3_options`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from ..errors import InvalidInputError
from .faults import Scrubber, display_url
from .s3 import S3Storage, s3_filesystem
from .storage import LocalStorage, MemoryStorage, Storage

__all__ = ["check_storage_options", "open_storage"]


def check_storage_options(options: object) -> dict[str, Any]:
    """``storage_options`` is ``None`` or a dict with string keys; anything else is refused before any I/O."""
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(key, str) for key in options):
        raise InvalidInputError(
            f"storage_options must be a dict of fsspec options (e.g. {{'endpoint_url': ...}}) or None, "
            f"not {type(options).__name__}",
            parameter="storage_options",
        )
    return dict(options)


def open_storage(location: str, storage_options: object = None) -> Storage:
    """The storage for a lake path or fsspec URL, with ``storage_options`` passed to fsspec as given.

    On S3 nxframe adds defaults the caller did not set: timeouts (connect
    10 s, read 30 s), no retries inside botocore (nxframe retries, within a
    bound), no listings cache, and the region from ``AWS_REGION``.

    Raises:
        InvalidInputError: bad ``storage_options``, or a protocol whose package is not installed.
    """
    options = check_storage_options(storage_options)
    url = display_url(location)
    scrub = Scrubber(options)
    protocol = str(fsspec.core.split_protocol(location)[0] or "file")
    if protocol not in ("file", "local"):
        options.setdefault("use_listings_cache", False)  # another process's writes must be seen
    try:
        if protocol in ("s3", "s3a"):
            fs, root = s3_filesystem(location, options)
        else:
            fs, root = fsspec.core.url_to_fs(location, **options)
    except ImportError as exc:
        hint = " (pip install 'nxframe[s3]')" if protocol in ("s3", "s3a") else ""
        raise InvalidInputError(f"lake {url!r} cannot be opened: {scrub(str(exc))}{hint}", parameter="lake") from None
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"lake {url!r} cannot be opened with these storage_options: {scrub(str(exc))}",
            parameter="storage_options",
        ) from None
    if isinstance(fs, LocalFileSystem):
        return LocalStorage(fs, root, url, scrub)
    if isinstance(fs, MemoryFileSystem):
        return MemoryStorage(fs, root, url, scrub)
    if protocol in ("s3", "s3a"):
        return S3Storage(fs, root, url, scrub)
    return Storage(fs, root, url, scrub)
