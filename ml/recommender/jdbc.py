"""Spark reads and writes the warehouse through the PostgreSQL JDBC driver: each
partition is its own query on its own connection, so rows go from Postgres to the
executors and back without passing through the driver (a cluster reads in parallel)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from .settings import SparkSettings, WarehouseSettings

JDBC_DRIVER = "org.postgresql.Driver"
# Rows per round trip of a partitioned read (the driver streams with a cursor).
FETCH_ROWS = 10_000


@dataclass(frozen=True)
class Jdbc:
    url: str
    user: str
    password: str
    rows_per_partition: int
    batch_rows: int
    write_connections: int

    @classmethod
    def of(cls, warehouse: WarehouseSettings, spark_settings: SparkSettings) -> Jdbc:
        return cls(
            url=f"jdbc:postgresql://{warehouse.host}:{warehouse.port}/{warehouse.dbname}"
            f"?ApplicationName=moovitamix-recommender&connectTimeout={warehouse.connect_timeout_s}",
            user=warehouse.user,
            password=warehouse.password,
            rows_per_partition=spark_settings.jdbc_rows_per_partition,
            batch_rows=spark_settings.jdbc_batch_rows,
            write_connections=spark_settings.jdbc_write_connections,
        )

    def _options(self) -> dict[str, str]:
        options = {"url": self.url, "driver": JDBC_DRIVER, "user": self.user}
        if self.password:
            options["password"] = self.password
        return options

    def read(
        self,
        spark: SparkSession,
        query: str,
        partition_column: str,
        bounds: tuple[int, int] | None,
        estimated_rows: int,
    ) -> DataFrame:
        """The rows of ``query``, cut into ranges of ``partition_column`` (an integer
        between ``bounds``, None when the table is empty) of about
        ``rows_per_partition`` rows each."""
        reader = spark.read.format("jdbc").options(**self._options(), fetchsize=str(FETCH_ROWS))
        if bounds is None or bounds[0] == bounds[1]:
            return reader.option("query", query).load()
        partitions = max(
            spark.sparkContext.defaultParallelism,
            math.ceil(estimated_rows / self.rows_per_partition),
        )
        # Spark's "query" option cannot be partitioned; a derived table can.
        return reader.options(
            dbtable=f"({query}) as partitioned",
            partitionColumn=partition_column,
            lowerBound=str(bounds[0]),
            upperBound=str(bounds[1] + 1),
            numPartitions=str(partitions),
        ).load()

    def append(self, frame: DataFrame, table: str) -> None:
        """Insert ``frame`` into ``table`` from the executors, in batches; each
        connection commits on its own, so the target is a staging table that one
        transaction then publishes (see data.py)."""
        (
            frame.write.format("jdbc")
            .options(
                **self._options(),
                dbtable=table,
                batchsize=str(self.batch_rows),
                numPartitions=str(self.write_connections),
                # The driver turns each batch into multi-row INSERTs: one round trip per
                # batch instead of one per row.
                reWriteBatchedInserts="true",
            )
            .mode("append")
            .save()
        )
