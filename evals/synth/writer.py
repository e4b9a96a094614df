"""Chunked writers for the contract tables (Parquet row groups or CSV), typed from tools/schema.py.

Byte-identical output for a seed: fixed column order and types, no timestamps or host names in the
metadata beyond the pyarrow version string, row order decided by the generator.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tools.schema import TABLES_BY_NAME

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "INTEGER": pa.int32(), "DOUBLE": pa.float64(),
    "DATE": pa.date32(), "BOOLEAN": pa.bool_(), "BIGINT": pa.int64(),
}
FORMATS = ("parquet", "csv")


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a contract table: every column of tools/schema.py, in its order."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in TABLES_BY_NAME[table].columns])


class TableSink:
    """Append batches of one table to `<out_dir>/<table>.<fmt>`."""

    def __init__(self, out_dir: Path, table: str, fmt: str, row_group_size: int = 1_000_000) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: use parquet or csv")
        self.schema = arrow_schema(table)
        if fmt == "csv":  # whole seconds read better in CSV ("2026-09-17 01:50:04")
            self.schema = pa.schema([pa.field(f.name, pa.timestamp("s") if f.type == pa.timestamp("us")
                                              else f.type) for f in self.schema])
        self.path = out_dir / f"{table}.{fmt}"
        self.rows = 0
        self.row_group_size = row_group_size
        self._writer: pq.ParquetWriter | pacsv.CSVWriter
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd", use_dictionary=True,
                                            write_statistics=True)
        else:
            self._writer = pacsv.CSVWriter(self.path, self.schema)

    def write(self, cols: dict[str, pa.Array]) -> None:
        """Write one batch; missing optional columns become nulls, types are cast to the contract."""
        n = len(next(iter(cols.values())))
        arrays = []
        for f in self.schema:
            arr = cols.get(f.name)
            if arr is None:
                arr = pa.nulls(n, f.type)
            elif not isinstance(arr, pa.Array | pa.ChunkedArray):
                arr = pa.array(arr, f.type)
            elif arr.type != f.type:
                arr = arr.cast(f.type)
            arrays.append(arr)
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        if isinstance(self._writer, pq.ParquetWriter):
            self._writer.write_table(table, row_group_size=self.row_group_size)
        else:
            self._writer.write_table(table)
        self.rows += n

    def close(self) -> None:
        """Finish the file (an empty table still gets its header/schema)."""
        self._writer.close()
