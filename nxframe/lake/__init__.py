"""The Parquet lake, storage only: Hive partitions, atomic writes, one writer, checked reads.

Layout::

    <lake>/_nxframe_lake.json                 the query the lake holds (filters, tz)
    <lake>/_nxframe.lock                      held by the one writer; names it (pid, host, since)
    <lake>/date=2024-03-01/part-0.parquet     one file per date, zstd, page checksums, same schema
    <lake>/date=2024-03-02/part-0.parquet     zero rows when the day had no calls

Writes: a partition is serialised in memory, written to a hidden temporary
beside the target (``.part-0.parquet.<pid>-<id>.tmp``, which Arrow, DuckDB,
Polars and Spark all skip), fsynced and renamed over the target, so a process
killed at any moment leaves the old complete file or the new one. Every write
to a local lake happens under ``_nxframe.lock`` (:meth:`Lake.writer`), so a
temporary older than the lock holder's start belongs to a dead writer and is
removed; a newer one is left alone. Object stores (``s3://``...) have no lock
(a single PUT is atomic there, but two writers are not kept apart).

Reads: each partition's footer and rows come from one open handle, so a file
renamed over mid-read yields the old or the new partition, never an error; a
page whose checksum fails is a :class:`~nxframe.errors.LakeError` naming the file.

The ``date`` column lives in the directory name only (Hive style, what Spark
and DuckDB expect): :meth:`Lake.write_date` drops it, :meth:`Lake.read` adds it back first.
"""

from .footer import PartitionInfo
from .lock import LOCK
from .store import Lake, local_today, read_lake

__all__ = ["LOCK", "Lake", "PartitionInfo", "local_today", "read_lake"]
