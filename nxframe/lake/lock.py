"""One writer at a time: ``<lake>/_nxframe.lock``, held for a whole write job, naming its holder.

The lock is the kernel's ``flock`` (through ``filelock``), so a writer that is
killed loses it at once; nobody has to clean a stale lock up. Once the lock
is ours, the file's content becomes our record (pid, host, ``since`` as an ISO
time, ``started`` as epoch seconds): a writer that waits in vain names the
holder from it, and the holder judges temporaries by it (one older than
``started`` was left by a writer that died before the lock was taken).
Re-entrant within a thread (one instance per path in a process), exclusive
across threads and processes.

``memory://`` lakes live inside one process, so their lock does too
(:func:`process_lock`); object stores hold a lease instead (:mod:`nxframe.lake.lease`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import filelock

from ..errors import InvalidInputError, LakeError

__all__ = [
    "LOCK",
    "MAX_LOCK_TIMEOUT",
    "check_lock_timeout",
    "holder",
    "local_holder_alive",
    "process_holder",
    "process_lock",
    "remove_stale_temporaries",
    "writer_lock",
]

log = logging.getLogger("nxframe")

LOCK = "_nxframe.lock"
#: Longest a writer may be asked to wait for another (a week): beyond that it is a typo.
MAX_LOCK_TIMEOUT = 7 * 86400


def _record_holder(descriptor: int) -> None:
    """Called by filelock once the lock is ours: the lock file names its holder for whoever waits."""
    now = time.time()
    since = dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds")
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since, "started": now})
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, record.encode(), 0)


@contextlib.contextmanager
def writer_lock(root: str, *, lock_timeout: float, location: str) -> Iterator[bool]:
    """Hold ``root``'s lock, waiting up to ``lock_timeout`` seconds for another writer.

    Yields ``True`` when this is the outermost hold (the lock was just taken),
    ``False`` when this thread already held it.

    Raises:
        InvalidInputError: ``lock_timeout`` is not a number of seconds from 0 to a week.
        LakeError: another writer held the lake for all of ``lock_timeout``; names it.
    """
    check_lock_timeout(lock_timeout)
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, LOCK)
    lock = filelock.FileLock(path, is_singleton=True, on_acquired=_record_holder)
    try:
        lock.acquire(timeout=float(lock_timeout))
    except filelock.Timeout:
        raise LakeError(
            f"lake {location!r} is being written by {_holder_text(root)}; waited {lock_timeout:g} s "
            "(lock_timeout) for it. Let that writer finish, or wait longer",
            path=path,
        ) from None
    try:
        yield lock.lock_counter == 1
    finally:
        lock.release()


def check_lock_timeout(lock_timeout: object) -> None:
    """Seconds from 0 to a week; anything else is a typo caught before any wait or request."""
    if (
        isinstance(lock_timeout, bool)
        or not isinstance(lock_timeout, (int, float))
        or not 0 <= lock_timeout <= MAX_LOCK_TIMEOUT
    ):
        raise InvalidInputError(
            f"lock_timeout must be seconds from 0 to {MAX_LOCK_TIMEOUT} (a week), not {lock_timeout!r}"
        )


def holder(root: str) -> dict[str, Any]:
    """What the lock file says of its (last) holder; empty when it says nothing readable."""
    try:
        with open(os.path.join(root, LOCK), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _holder_text(root: str) -> str:
    record = holder(root)
    if not record:
        return "another writer (it has not named itself yet)"
    return f"pid {record.get('pid')} on host {record.get('host')} since {record.get('since')}"


def remove_stale_temporaries(root: str, patterns: list[str]) -> None:
    """Remove temporaries matching ``patterns`` older than the lock holder's start; called holding the lock.

    A newer one belongs to a writer still alive (one that does not take the
    lock: an older nxframe, a foreign tool) and is left alone.
    """
    started = holder(root).get("started")
    if not isinstance(started, (int, float)):
        return  # no holder record to judge by: removing nothing is the safe side
    for stray in (path for pattern in patterns for path in glob.glob(pattern)):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(stray).st_mtime < started:
                os.remove(stray)
                log.info("removed %s, left by a writer that stopped before this one began", stray)
            else:
                log.warning("%s is newer than this writer's lock; left for its writer", stray)


def local_holder_alive(root: str) -> dict[str, Any] | None:
    """The holder of a local lake's lock when a live process holds it now; ``None`` when nobody does.

    The kernel frees a local lock when its process dies, so there is never a
    dead writer's lock to break; only a live one to name.
    """
    path = os.path.join(root, LOCK)
    if not os.path.exists(path):
        return None
    lock = filelock.FileLock(path, is_singleton=True)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        return holder(root) or {"pid": None, "host": None, "since": None}
    lock.release()
    return None


class _ProcessLock:
    """A re-entrant lock for one ``memory://`` lake, naming its holder."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0
        self.record: dict[str, Any] = {}


_process_locks: dict[str, _ProcessLock] = {}
_process_registry = threading.Lock()


@contextlib.contextmanager
def process_lock(key: str, *, lock_timeout: float, location: str) -> Iterator[bool]:
    """Hold an in-process lock (``memory://`` lakes); yields whether this is the outermost hold.

    Raises:
        LakeError: another thread held it for all of ``lock_timeout``; names it.
    """
    with _process_registry:
        entry = _process_locks.setdefault(key, _ProcessLock())
    if not entry.lock.acquire(timeout=float(lock_timeout)):
        record = entry.record
        raise LakeError(
            f"lake {location!r} is being written by thread {record.get('thread')} of this process (pid "
            f"{record.get('pid')} on host {record.get('host')}) since {record.get('since')}; waited "
            f"{lock_timeout:g} s (lock_timeout) for it. Let that writer finish, or wait longer",
            path=location,
        )
    entry.depth += 1
    if entry.depth == 1:
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        entry.record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": since,
            "thread": threading.current_thread().name,
        }
    try:
        yield entry.depth == 1
    finally:
        entry.depth -= 1
        if entry.depth == 0:
            entry.record = {}
        entry.lock.release()


def process_holder(key: str) -> dict[str, Any] | None:
    """Who holds an in-process lock now, or ``None``."""
    with _process_registry:
        entry = _process_locks.get(key)
    return dict(entry.record) if entry is not None and entry.record else None
