"""The Parquet lake, storage only: Hive partitions, atomic writes, one writer, checked reads.

Layout::

    <lake>/_nxframe_lake.json                 the query the lake holds (filters, tz)
    <lake>/_nxframe.lock                      held by the one writer; names it (pid, host, since)
    <lake>/date=2024-03-01/part-0.parquet     one file per date, zstd, page checksums, same schema
    <lake>/date=2024-03-02/part-0.parquet     zero rows when the day had no calls

Writes: a partition is serialised in memory, then stored in one step. On a
local disk it is written to a hidden temporary beside the target
(``.part-0.parquet.<pid>-<id>.tmp``, which Arrow, DuckDB, Polars and Spark all
skip), fsynced and renamed over the target; on S3 it is one ``PutObject`` of
the whole file. A process killed at any moment leaves the old complete file
or the new one. Every write happens under the lake's lock
(:meth:`Lake.writer`): ``flock`` on ``_nxframe.lock`` locally (a temporary
older than the holder's start belongs to a dead writer and is removed), a
lease object ``_nxframe.lock`` on S3 (:mod:`.lease`), a lock inside the
process for ``memory://``.

Reads: each partition is pinned to one version (one open handle locally,
one request on an object store), so a file replaced mid-read yields the old
or the new partition, never an error; a page whose checksum fails, or a
footer naming another date or query than the folder and the lake, is a
:class:`~nxframe.errors.LakeError` naming the file.

Modules: :mod:`.opener` (a location -> its storage), :mod:`.storage` (local, memory, other fsspec), :mod:`.s3`
(S3, with bounded retries), :mod:`.faults` (a failure in words), :mod:`.lock`
and :mod:`.lease` (one writer), :mod:`.footer` (what a partition must hold),
:mod:`.store` (the lake), :mod:`.unlock`.

The ``date`` column lives in the directory name only (Hive style, what Spark
and DuckDB expect): :meth:`Lake.write_date` drops it, :meth:`Lake.read` adds it back first.
"""

from .footer import PartitionInfo
from .lock import LOCK
from .store import Lake, local_today, read_lake
from .unlock import unlock_lake

__all__ = ["LOCK", "Lake", "PartitionInfo", "local_today", "read_lake", "unlock_lake"]
