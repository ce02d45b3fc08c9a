"""A lake on S3 or an S3-compatible store (MinIO, SeaweedFS, Ceph, R2...), through s3fs's client.

Every operation is one S3 request, sent by :meth:`S3Storage._run`, which owns
the retries: botocore's and s3fs's own are switched off, so a store that
hangs is a failure after one read timeout (30 s by default) rather than
after retries of retries, and a store that keeps answering 503 SlowDown or
refusing connections is given up on after a few attempts within
:data:`RETRY_BUDGET` seconds. A failure is a :class:`~nxframe.errors.LakeError`
naming the lake and the cause.

- A partition is replaced by ONE ``PutObject`` of the whole file (up to 5 GB;
  never a multipart upload, which a killed writer would leave unfinished).
- A partition is read whole by one ``GetObject``; its footer alone by a
  suffix range request, and when the footer is longer than that, a second
  range request conditional on the first one's ETag (``If-Match``), so a
  reader never combines bytes of two versions.
- Listings are ``ListObjectsV2`` of the lake's prefix, never cached.
- The lease lock's conditional requests (:mod:`nxframe.lake.lease`) are here too.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import fsspec.asyn
import pyarrow as pa

from .faults import Fault, classify, display_url
from .storage import CONNECT_TIMEOUT, READ_TIMEOUT, Storage

__all__ = ["MAX_ATTEMPTS", "RETRY_BUDGET", "S3Storage", "s3_filesystem", "s3_options"]

T = TypeVar("T")

#: Attempts of one request while the store answers "try again" (503, connection refused...).
MAX_ATTEMPTS = 4
#: Seconds after which a request that keeps failing transiently is not tried again.
RETRY_BUDGET = 15.0
#: Bytes read from a partition's end to find its footer in one request (most footers are a few KiB).
_TAIL = 64 * 1024
_RANGE = re.compile(r"bytes \d+-\d+/(\d+)")
#: What a store that does not implement a conditional request answers.
_REFUSED = ("NotImplemented", "501", "InvalidArgument", "InvalidRequest")
#: Filesystems kept for reuse (one per set of options and AWS environment).
_CACHED = 16
_filesystems: dict[str, Any] = {}
_cache_lock = threading.Lock()


def s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """``storage_options`` with nxframe's defaults for what the caller left unset (the caller's win)."""
    merged = dict(options)
    merged.setdefault("use_listings_cache", False)
    config = dict(merged.get("config_kwargs") or {})
    config.setdefault("connect_timeout", CONNECT_TIMEOUT)
    config.setdefault("read_timeout", READ_TIMEOUT)
    config.setdefault("retries", {"total_max_attempts": 1})  # nxframe retries, within RETRY_BUDGET
    merged["config_kwargs"] = config
    region = os.environ.get("AWS_REGION")
    client = dict(merged.get("client_kwargs") or {})
    if region and not os.environ.get("AWS_DEFAULT_REGION") and "region_name" not in client:
        client["region_name"] = region  # botocore reads AWS_DEFAULT_REGION only; S3 users also set AWS_REGION
        merged["client_kwargs"] = client
    return merged


def s3_filesystem(location: str, options: dict[str, Any]) -> tuple[Any, str]:
    """An s3fs filesystem for ``options`` (with :func:`s3_options`' defaults) and the lake's root in it.

    Not fsspec's instance cache: it keys on the arguments only, so an
    instance made before ``AWS_ACCESS_KEY_ID`` or ``AWS_ENDPOINT_URL`` was set
    would be handed out again, credentials and all. This one keys on the AWS
    environment too. A cache at all, because a new s3fs client parses
    botocore's S3 model again (0.1-0.5 s per call of ``read_lake``).
    """
    merged = s3_options(options)
    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith(("AWS_", "FSSPEC_S3")))
    key = json.dumps([os.getpid(), merged, environment], sort_keys=True, default=repr)
    cls = fsspec.get_filesystem_class("s3")
    with _cache_lock:
        fs = _filesystems.pop(key, None)
        if fs is None:
            fs = cls(**merged, skip_instance_cache=True)
        _filesystems[key] = fs  # most recently used last
        while len(_filesystems) > _CACHED:
            _filesystems.pop(next(iter(_filesystems)))
    return fs, str(cls._strip_protocol(location))


class S3Storage(Storage):
    """A lake under ``s3://bucket/prefix``."""

    kind = "s3"

    def __init__(self, fs: Any, root: str, url: str, scrub: Any) -> None:
        super().__init__(fs, root, url, scrub)
        fs.retries = 1  # one attempt per s3fs call: the retries are _run's, bounded in time
        self.bucket, _, prefix = self.root.strip("/").partition("/")
        self.prefix = prefix.strip("/")
        config = fs.config_kwargs
        self.timeouts = (
            float(config.get("connect_timeout", CONNECT_TIMEOUT)),
            float(config.get("read_timeout", READ_TIMEOUT)),
        )

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def endpoint(self) -> str:
        """The store's address for messages: what the client resolved, else what was configured."""
        client = getattr(self.fs, "_s3", None)
        url = getattr(getattr(client, "meta", None), "endpoint_url", None)
        url = url or self.fs.endpoint_url or self.fs.client_kwargs.get("endpoint_url")
        url = url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        return display_url(str(url)).rstrip("/") if url else "AWS S3"

    # -- one request, with retries -----------------------------------------------------------

    def _run(
        self,
        what: str,
        name: str,
        call: Callable[[], Awaitable[T]],
        *,
        allow: tuple[str, ...] = (),
        deadline: float | None = None,
    ) -> T | Fault:
        """Send one request (again while the store says "try again"); a fault in ``allow`` is returned.

        ``allow`` holds fault kinds (``missing``, ``conflict``) or S3 error
        codes the caller handles; any other failure raises. With a
        ``deadline`` (seconds) there is one attempt, cut off then: for a
        store already seen failing, where only a quick answer is worth waiting for.

        Raises:
            LakeError: the store failed, naming the lake and the cause.
        """
        started = time.monotonic()
        attempts = 1 if deadline else MAX_ATTEMPTS
        for attempt in range(1, attempts + 1):

            async def bounded() -> T:
                await self.fs.set_session()
                return await (asyncio.wait_for(call(), deadline) if deadline else call())

            try:
                result: T = fsspec.asyn.sync(self.fs.loop, bounded)
                return result
            except Exception as exc:
                fault = classify(exc, endpoint=self.endpoint(), timeouts=self.timeouts, scrub=self.scrub)
            if fault.kind in allow or (fault.code is not None and fault.code in allow):
                return fault
            wait = 0.25 * 2**attempt * random.uniform(0.75, 1.25)
            elapsed = time.monotonic() - started
            if fault.kind == "transient" and attempt < attempts and elapsed + wait < RETRY_BUDGET:
                time.sleep(wait)
                continue
            cause = fault.cause
            if fault.kind == "transient" and attempt > 1:
                cause += f" (gave up after {attempt} attempts in {time.monotonic() - started:.0f} s)"
            elif fault.kind in ("missing", "conflict"):
                cause = f"the store answered {fault.code}: {fault.cause}"
            raise self._failed(what, name, cause) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await self.fs._call_s3(method, Bucket=self.bucket, **kwargs)

    async def _get(self, key: str, **kwargs: Any) -> tuple[bytes, dict[str, Any]]:
        response = await self._call("get_object", Key=key, **kwargs)
        body = response["Body"]
        try:
            data = await body.read()
        finally:
            body.close()
        return bytes(data), response

    # -- what every storage does ----------------------------------------------------------------

    def exists(self) -> bool:
        prefix = f"{self.prefix}/" if self.prefix else ""
        answer = self._run("list", "", lambda: self._call("list_objects_v2", Prefix=prefix, MaxKeys=1))
        assert not isinstance(answer, Fault)
        return bool(answer.get("KeyCount") or answer.get("Contents"))

    def is_file(self) -> bool:
        return False  # a prefix is never a file; a key of the same name would be another object

    def folders_with(self, prefix: str, part: str) -> list[str]:
        """One listing of the keys under ``<lake>/<prefix>`` (pages of 1,000), no delimiter, no cache."""
        start = f"{self.prefix}/" if self.prefix else ""
        folders: list[str] = []
        token: str | None = None
        while True:
            more = {"ContinuationToken": token} if token else {}
            page = self._run(
                "list", "", functools.partial(self._call, "list_objects_v2", Prefix=start + prefix, **more)
            )
            assert not isinstance(page, Fault)
            for entry in page.get("Contents") or []:
                folder, _, name = str(entry["Key"]).removeprefix(start).partition("/")
                if name == part:
                    folders.append(folder)
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return folders

    def read(self, name: str) -> bytes | None:
        found = self.get(name)
        return None if found is None else found[0]

    def get(self, name: str, *, what: str = "read") -> tuple[bytes, str] | None:
        """An object and its ETag from one request, or ``None`` when there is none."""
        answer = self._run(what, name, lambda: self._get(self.key(name)), allow=("missing",))
        if isinstance(answer, Fault):
            return None
        data, response = answer
        return data, str(response.get("ETag"))

    def source(self, name: str, *, whole: bool) -> pa.NativeFile:
        if whole:
            found = self.get(name)
            if found is None:
                raise self._failed("read", name, "it is missing (removed meanwhile?)", record=False)
            return pa.BufferReader(found[0])
        return pa.BufferReader(self._footer(name))

    def _footer(self, name: str) -> bytes:
        """The end of a partition holding its whole footer, all of one version of the object."""
        key = self.key(name)
        for _ in range(3):
            last = functools.partial(self._get, key, Range=f"bytes=-{_TAIL}")
            answer = self._run("read", name, last, allow=("missing", "InvalidRange"))
            if isinstance(answer, Fault):
                if answer.kind == "missing":
                    raise self._failed("read", name, "it is missing (removed meanwhile?)", record=False)
                return b""  # an empty object: Parquet will call it unreadable
            tail, response = answer
            found = _RANGE.fullmatch(str(response.get("ContentRange") or ""))
            size = int(found.group(1)) if found else len(tail)
            need = int.from_bytes(tail[-8:-4], "little") + 8 if len(tail) >= 8 else 0
            if need <= len(tail) or len(tail) >= size:
                return tail
            etag = str(response.get("ETag"))
            pinned = functools.partial(self._get, key, Range=f"bytes=-{need}", IfMatch=etag)
            rest = self._run("read", name, pinned, allow=("conflict",))
            if not isinstance(rest, Fault):
                return rest[0]
            # replaced between the two requests: start again on the new version
        raise self._failed("read", name, "it was replaced three times while its footer was read; try again")

    def write(self, name: str, data: bytes) -> None:
        """One PutObject of the whole file (never multipart, so a killed writer leaves nothing behind)."""
        self._run("write", name, lambda: self._call("put_object", Key=self.key(name), Body=data))

    def create(self, name: str, data: bytes) -> bool:
        return self.create_if_absent(name, data) is not None

    # -- conditional requests, for the lease lock ------------------------------------------------

    def create_if_absent(self, name: str, data: bytes) -> str | None:
        """``PutObject`` with ``If-None-Match: *``: the new ETag, or ``None`` when the object exists.

        Raises:
            LakeError: the store refuses conditional writes, or failed.
        """
        put = functools.partial(self._call, "put_object", Key=self.key(name), Body=data, IfNoneMatch="*")
        return self._conditional(name, put, "If-None-Match")

    def replace_if_match(self, name: str, data: bytes, etag: str) -> str | None:
        """``PutObject`` with ``If-Match: etag``: the new ETag, or ``None`` when the object changed (or is gone)."""
        put = functools.partial(self._call, "put_object", Key=self.key(name), Body=data, IfMatch=etag)
        return self._conditional(name, put, "If-Match")

    def _conditional(self, name: str, put: Callable[[], Awaitable[Any]], header: str) -> str | None:
        answer = self._run("write", name, put, allow=("conflict", "missing", *_REFUSED))
        if not isinstance(answer, Fault):
            return str(answer.get("ETag"))
        if answer.kind in ("conflict", "missing"):
            return None
        raise self._failed(
            "write",
            name,
            f"the store at {self.endpoint()} refuses conditional writes ({header}: {answer.cause}), which the "
            "lake's lock needs to keep two writers apart; use a store that supports them (AWS S3, MinIO, "
            "SeaweedFS, Ceph, R2) or a local folder",
        )

    def delete_if_match(self, name: str, etag: str, *, deadline: float | None = None) -> bool:
        """``DeleteObject`` with ``If-Match``; False when the object is another version now.

        A store that does not take ``If-Match`` on deletes (older S3-compatible
        servers answer 501) gets a check of the ETag and a plain delete instead.
        """
        key = self.key(name)
        answer = self._run(
            "delete",
            name,
            lambda: self._call("delete_object", Key=key, IfMatch=etag),
            allow=("conflict", "missing", "NotImplemented", "501"),
            deadline=deadline,
        )
        if not isinstance(answer, Fault) or answer.kind == "missing":
            return True
        if answer.kind == "conflict":
            return False
        current = self.get(name)
        if current is None:
            return True
        if current[1] != etag:
            return False
        self._run("delete", name, lambda: self._call("delete_object", Key=key), deadline=deadline)
        return True
