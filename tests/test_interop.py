"""Spark and Dask read a synced lake with exact decimal totals (``make interop``: needs pyspark, dask, Java 17).

The lake holds nxframe's own files beside the partitions (``_nxframe.lock``,
``_nxframe_lake.json``) and partitions written with page checksums; both
engines skip ``_``-prefixed files and read checksummed pages.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import nxframe
from nxframe.simulator import Simulator

pytestmark = pytest.mark.interop

MONTH = ("2024-02-01", "2024-02-29")


@pytest.fixture
def lake(tmp_path: Path, sim: Simulator, client: nxframe.Client) -> Path:
    path = tmp_path / "lake"
    nxframe.sync_lake(path, *MONTH, client=client)
    assert (path / "_nxframe.lock").is_file() and (path / "_nxframe_lake.json").is_file()  # engines must skip both
    return path


def test_spark_reads_decimals_and_dates_exactly(sim: Simulator, lake: Path) -> None:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    spark = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("nxframe-interop")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        frame = spark.read.parquet(str(lake))
        types = dict(frame.dtypes)
        assert types["call_price"] == "decimal(18,6)"
        assert types["date"] == "date"
        ((total, rows),) = frame.selectExpr("sum(call_price)", "count(*)").collect()
    finally:
        spark.stop()
    truth = sim.ground_truth(*MONTH)
    assert Decimal(total) == truth["call_price"].sum()
    assert rows == len(truth)


@pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")  # inside Dask, not nxframe
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_dask_reads_decimals_exactly(sim: Simulator, lake: Path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.read_parquet(str(lake), dtype_backend="pyarrow")
    assert str(frame["call_price"].dtype) == "decimal128(18, 6)[pyarrow]"
    # A plain ddf.call_price.sum() hits a Dask tokenisation limitation (see the README); sum per partition.
    total = sum(frame.map_partitions(lambda part: part["call_price"].sum()).compute())
    assert total == sim.ground_truth(*MONTH)["call_price"].sum()
