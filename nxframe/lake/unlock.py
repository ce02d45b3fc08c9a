"""``unlock_lake``: break a lock left by a writer that died, and say whose it was."""

from __future__ import annotations

import os
from typing import Any

from ..errors import LakeError
from .lock import LOCK, local_holder_alive, process_holder
from .store import Lake

__all__ = ["unlock_lake"]


def unlock_lake(lake: str | os.PathLike[str] | Lake, *, storage_options: object = None) -> dict[str, Any] | None:
    """Break the lake's writer lock by hand; returns the holder removed (``pid``, ``host``, ``since``, ``expires``).

    On an object store the lock is a lease object that a writer killed
    mid-sync leaves behind until it expires (5 minutes by default); this
    removes it now. A writer still alive notices at its next renewal and stops
    before writing again. Returns ``None`` when there was no lock.

    A local lake's lock is the kernel's and ends with its process, and a
    ``memory://`` lake's lives in this process: there is never a dead
    writer's lock to break, so these return ``None``, or refuse to break the
    lock of a writer that is alive.

    Raises:
        LakeError: a live writer holds a local or ``memory://`` lake (names it),
            or the storage failed (names the lake and the cause).
    """
    store = Lake(lake, storage_options=storage_options)
    kind = store.storage.kind
    if kind == "s3":
        from .lease import break_lease

        return break_lease(store.storage, LOCK)  # type: ignore[arg-type]
    if kind == "local":
        alive = local_holder_alive(store.root)
    elif kind == "memory":
        alive = process_holder(f"memory:{store.root}")
    else:
        return None
    if alive is None:
        return None
    raise LakeError(
        f"lake {store.location!r} is being written by pid {alive.get('pid')} on host {alive.get('host')} since "
        f"{alive.get('since')}, which is alive: its lock ends with it. Stop that writer instead of unlocking",
        path=store.location,
    )
