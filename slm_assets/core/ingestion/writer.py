"""Parquet output: rows buffered and written in batches, and the final ``occurrences`` pass."""

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from slm_assets.core.schema import OCCURRENCES

_BUFFER_BYTES = 64 << 20


class Writer:
    """Rows (tuples) or record batches collected and written to Parquet every ``batch_rows``
    rows or ``_BUFFER_BYTES`` of data, whichever comes first (inputs can be 1 MB each)."""

    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int):
        self.schema = schema
        self.rows: list[tuple[Any, ...]] = []
        self.batches: list[pa.RecordBatch] = []
        self.pending = self.size = 0
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.batch_rows = batch_rows

    def add(self, row: tuple[Any, ...], size: int) -> None:
        self.rows.append(row)
        self._grew(1, size)

    def add_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.batches.append(batch)
            self._grew(batch.num_rows, batch.nbytes)

    def _grew(self, rows: int, size: int) -> None:
        self.pending += rows
        self.size += size
        if self.pending >= self.batch_rows or self.size >= _BUFFER_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            columns = [pa.array(values, type=f.type) for f, values in zip(self.schema, zip(*self.rows))]
            self.batches.append(pa.RecordBatch.from_arrays(columns, schema=self.schema))
            self.rows = []
        if self.batches:
            self.writer.write_table(pa.Table.from_batches(self.batches, schema=self.schema))
            self.batches = []
        self.pending = self.size = 0

    def close(self) -> None:
        self.flush()
        self.writer.close()



def write_production(kept: Path, dest: Path, schema: pa.Schema, repeats: Counter[int], batch_rows: int) -> None:
    """Rewrite the kept rows with the folded exact-repeat counts as ``occurrences``."""
    source = pq.ParquetFile(kept)
    index = schema.get_field_index(OCCURRENCES)
    offset = 0
    with pq.ParquetWriter(dest, schema, compression="zstd") as writer:
        for batch in source.iter_batches(batch_size=min(batch_rows, 10_000)):
            n = batch.num_rows
            occurrences = [1] * n
            for row in range(offset, offset + n):
                extra = repeats.get(row)
                if extra:
                    occurrences[row - offset] += extra
            batch = batch.set_column(index, schema.field(index), pa.array(occurrences, pa.int64()))
            writer.write_batch(batch)
            offset += n
