"""One writer at a time on an object store: ``<lake>/_nxframe.lock``, a lease taken by a conditional write.

An object store has no ``flock`` and no atomic rename, but S3 (and MinIO,
SeaweedFS, Ceph, R2...) refuse a ``PutObject`` whose condition does not hold.
Terraform's S3 backend locks its state that way; so does this:

- **Take**: create the lock object with ``If-None-Match: *``. Of two writers
  racing, the store lets exactly one succeed. The object names the holder
  (pid, host, since) and when its lease expires (``since`` + the lease,
  300 s or ``NXFRAME_LOCK_LEASE_SECONDS``).
- **Renew**: while the writer works, a thread rewrites the object every fifth
  of the lease with ``If-Match: <its ETag>``. If the ETag changed, someone took
  the lease over (or broke it by hand): the writer is told, and
  :meth:`Lease.ensure`, called before every write, stops it with a
  ``LakeError`` before it writes again. A writer whose renewals keep failing
  renews once more itself before writing, and stops if that fails too.
- **Take over**: a lease past its expiry belongs to a writer that died; a
  waiting writer replaces it with ``If-Match`` on the ETag it read, so of two
  waiters only one wins.
- **Wait**: a second writer polls until ``lock_timeout``, then raises
  ``LakeError`` naming the holder and when its lease expires.
- **Release**: the writer deletes the object (``If-Match`` its own ETag, so it
  never deletes a lease that was taken over), also after a failure.

Before the first lease of a process on a store, the store is checked to honour
both conditions (a second create and a stale ``If-Match`` must be refused):
a store that ignores them is refused before anything is fetched. Expiry is
judged with each host's clock; clocks must agree to well within a lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from .._version import __version__
from ..errors import InvalidInputError, LakeError
from .s3 import S3Storage

__all__ = ["DEFAULT_LEASE", "LEASE_ENV", "Lease", "break_lease", "lease_seconds", "leased"]

log = logging.getLogger("nxframe")

LEASE_ENV = "NXFRAME_LOCK_LEASE_SECONDS"
DEFAULT_LEASE = 300.0
#: Seconds a release may take when the store already failed (its lease expires by itself anyway).
_RELEASE_DEADLINE = 5.0

_registry = threading.Lock()
#: Leases this process holds: store + lake -> (thread, depth, lease); re-entrant within one thread.
_held: dict[str, tuple[int, int, Lease]] = {}
#: Stores (endpoint + bucket) seen to honour If-None-Match and If-Match in this process.
_honouring: set[str] = set()


def lease_seconds() -> float:
    """The lease's lifetime: ``NXFRAME_LOCK_LEASE_SECONDS`` when set, else 300.

    Raises:
        InvalidInputError: the variable is not a number of seconds from 1 to a day.
    """
    text = os.environ.get(LEASE_ENV, "").strip()
    if not text:
        return DEFAULT_LEASE
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 1 <= value <= 86400:
        raise InvalidInputError(f"{LEASE_ENV} must be a number of seconds from 1 to 86400, not {text!r}")
    return value


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")


def _parse(data: bytes) -> dict[str, Any]:
    """A lease's record; empty when the object is not one of ours."""
    try:
        record = json.loads(data)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def holder_text(record: dict[str, Any]) -> str:
    if not record:
        return "a lock object nxframe cannot read (another tool's?)"
    return f"pid {record.get('pid')} on host {record.get('host')} since {record.get('since')}"


def _expired(record: dict[str, Any]) -> bool:
    try:
        expires = dt.datetime.fromisoformat(str(record["expires"]))
    except (KeyError, ValueError):
        return False  # not ours to judge: wait, and say how to break it
    return dt.datetime.now(dt.UTC) > expires


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {name: record.get(name) for name in ("pid", "host", "since", "expires")}


class Lease:
    """This writer's lease on one lake; see the module docstring for the protocol."""

    def __init__(self, storage: S3Storage, name: str, lease: float) -> None:
        self.storage = storage
        self.name = name
        self.lease = lease
        self.token = uuid.uuid4().hex
        self.since = time.time()
        self.etag = ""
        self._valid_until = 0.0  # monotonic: when the lease we last wrote runs out, by our clock
        self._lost: str | None = None
        self._renewing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _record(self) -> bytes:
        now = time.time()
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": _iso(self.since),
            "expires": _iso(math.ceil(now + self.lease)),  # rounded up: others wait, never the holder
            "token": self.token,
            "nxframe": __version__,
        }
        return json.dumps(record).encode()

    # -- taking it --------------------------------------------------------------------------

    def acquire(self, lock_timeout: float) -> None:
        """Take the lease, waiting up to ``lock_timeout`` seconds for another writer's to end.

        Raises:
            LakeError: another writer held it all along (names it and its expiry), the store
                does not honour conditional writes, or the store failed.
        """
        deadline = time.monotonic() + lock_timeout
        while True:
            started = time.monotonic()
            data = self._record()
            etag = self.storage.create_if_absent(self.name, data)
            if etag is not None:
                self._took(etag, started)
                self._check_conditions(data)
                return
            current = self.storage.get(self.name, what="read the lock")
            if current is None and time.monotonic() < deadline + 5:
                continue  # released between our two requests: try again at once
            record, etag = (_parse(current[0]), current[1]) if current is not None else ({}, "")
            if record.get("token") == self.token:  # our own create, answered late and retried
                self._took(etag, started)
                return
            if _expired(record):
                started = time.monotonic()
                taken = self.storage.replace_if_match(self.name, self._record(), etag)
                if taken is not None:
                    log.warning("lake %s: took over the expired lock of %s", self.storage.url, holder_text(record))
                    self._took(taken, started)
                    self._check_conditions(self._record())
                    return
                continue  # another waiter won it, or its holder renewed just in time
            left = deadline - time.monotonic()
            if left <= 0:
                raise LakeError(
                    f"lake {self.storage.url!r} is being written by {holder_text(record)}, whose lease expires at "
                    f"{record.get('expires', 'an unknown time')}; waited {lock_timeout:g} s (lock_timeout) for it. "
                    "Let that writer finish, or wait longer; if it died, its lease ends by itself then, "
                    "or break it now with unlock_lake (nxframe unlock)",
                    path=self.storage.where(self.name),
                )
            time.sleep(min(left, random.uniform(0.5, 1.0) * min(1.0, self.lease / 4)))

    def _took(self, etag: str, started: float) -> None:
        self.etag = etag
        self._valid_until = started + self.lease
        self._thread = threading.Thread(target=self._renew_loop, name="nxframe-lease", daemon=True)
        self._thread.start()

    def _check_conditions(self, data: bytes) -> None:
        """Refuse a store that ignores If-None-Match or If-Match (before anything is fetched)."""
        store = f"{self.storage.endpoint()}|{self.storage.bucket}"
        if store in _honouring:
            return
        ignored = []
        if self.storage.create_if_absent(self.name, data) is not None:
            ignored.append("If-None-Match")
        if self.storage.replace_if_match(self.name, data, '"00000000000000000000000000000000"') is not None:
            ignored.append("If-Match")
        if ignored:
            self.release()
            raise LakeError(
                f"lake {self.storage.url!r}: the store at {self.storage.endpoint()} ignores conditional writes "
                f"({' and '.join(ignored)}), which the lake's lock needs to keep two writers apart; write this "
                "lake from one place only, on a store that honours them (AWS S3, MinIO, SeaweedFS, Ceph, R2)",
                path=self.storage.where(self.name),
            )
        _honouring.add(store)

    # -- keeping it -------------------------------------------------------------------------

    def ensure(self) -> None:
        """Called before every write: still ours, for long enough to write? Else stop.

        Raises:
            LakeError: the lease was taken over or broken, or could not be renewed.
        """
        if self._lost is None and time.monotonic() > self._valid_until - self.lease / 2:
            self._renew(quiet=False)  # the renewal thread is behind: renew now, or stop
        if self._lost is not None:
            raise LakeError(
                f"lake {self.storage.url!r}: this writer's lock was {self._lost}; it stopped before writing again. "
                "Run it again once the other writer is done",
                path=self.storage.where(self.name),
            )

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease / 5):
            if self._lost is not None:
                return
            self._renew(quiet=True)

    def _renew(self, *, quiet: bool) -> None:
        with self._renewing:
            if self._lost is not None or self._stop.is_set():
                return
            started = time.monotonic()
            try:
                etag = self.storage.replace_if_match(self.name, self._record(), self.etag)
                current = None if etag is not None else self.storage.get(self.name, what="read the lock")
            except LakeError as exc:
                if quiet:
                    log.warning("lake %s: could not renew the lock (%s); trying again", self.storage.url, exc)
                    return
                raise LakeError(
                    f"lake {self.storage.url!r}: could not renew this writer's lock ({exc}); "
                    "it stopped before writing again",
                    path=self.storage.where(self.name),
                ) from None
            if etag is None and current is not None and _parse(current[0]).get("token") == self.token:
                etag = current[1]  # our own renewal, answered late and retried
            if etag is None:
                record = _parse(current[0]) if current is not None else None
                self._lost = (
                    f"taken over by {holder_text(record)}"
                    if record is not None
                    else "taken over, or broken by hand (the lock object is gone)"
                )
                log.warning("lake %s: this writer's lock was %s", self.storage.url, self._lost)
                return
            self.etag = etag
            self._valid_until = started + self.lease

    # -- giving it back ---------------------------------------------------------------------

    def release(self) -> None:
        """Delete the lease if it is still ours; a failure is logged (the lease expires by itself)."""
        self._stop.set()
        got = self._renewing.acquire(timeout=_RELEASE_DEADLINE)  # a renewal stuck on a hanging store: go on
        try:
            if self._lost is not None or not self.etag:
                return
            deadline = _RELEASE_DEADLINE if self.storage.failure is not None else None
            try:
                self.storage.delete_if_match(self.name, self.etag, deadline=deadline)
            except LakeError as exc:
                log.warning("lake %s: could not remove the lock (%s); it expires by itself", self.storage.url, exc)
            self.etag = ""
        finally:
            if got:
                self._renewing.release()


@contextlib.contextmanager
def leased(storage: S3Storage, name: str, *, lock_timeout: float) -> Iterator[Lease]:
    """Hold the lake's lease for the block; re-entrant within a thread (one lease, nested holds)."""
    key = f"{storage.endpoint()}|{storage.bucket}/{storage.prefix}"
    me = threading.get_ident()
    with _registry:
        held = _held.get(key)
        if held is not None and held[0] == me:
            _held[key] = (me, held[1] + 1, held[2])
    if held is not None and held[0] == me:
        try:
            yield held[2]
        finally:
            with _registry:
                thread, depth, lease = _held[key]
                _held[key] = (thread, depth - 1, lease)
        return
    lease = Lease(storage, name, lease_seconds())
    lease.acquire(lock_timeout)
    with _registry:
        _held[key] = (me, 1, lease)
    try:
        yield lease
    finally:
        with _registry:
            del _held[key]
        lease.release()


def break_lease(storage: S3Storage, name: str) -> dict[str, Any] | None:
    """Delete the lease whoever holds it; the removed holder (pid, host, since, expires), or None.

    Raises:
        LakeError: the store failed, or the lease kept changing while it was being removed.
    """
    for _ in range(5):
        current = storage.get(name, what="read the lock")
        if current is None:
            return None
        if storage.delete_if_match(name, current[1]):
            record = _parse(current[0])
            log.warning("lake %s: broke the lock of %s", storage.url, holder_text(record))
            return _public(record)
    raise LakeError(
        f"lake {storage.url!r}: the lock kept changing while it was being removed (a live writer renewing it?); "
        "try again",
        path=storage.where(name),
    )
