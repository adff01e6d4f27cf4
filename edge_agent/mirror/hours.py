"""Packed hourly SKU sales: what the availability model reads, kept in step with the lines.

The cycle scores every SKU at one hour from 15 days of its hourly sales. Summing those
from ``sales_lines`` (a year of lines, millions of rows) at cycle time costs seconds; so
ingest adds each file's sale lines to packed blocks, per SKU and block of
:data:`BLOCK_DAYS` days (aligned on 1970-01-01): a row of ``sku_hour_blocks`` holds units
sold per local hour (float32, ``BLOCK_DAYS * 24`` of them, 0 = no sale). Lines are
immutable and only ever added, so adding what a file brings keeps the blocks exact.

Staying in step: ``sku_hour_state.folded_through`` is the last ingest file whose lines
are in the blocks. Ingest folds every sales-lines and products file (products release
quarantined lines) in the file's own transaction; when a file of those kinds lies
between (written by a release that predates the blocks: migration 5 is expand-only),
the blocks are rebuilt from ``sales_lines``, and readers call :func:`catch_up` first.
Lines written by plain SQL are not seen until the next rebuild.

Blocks more than :data:`KEEP_DAYS` before the newest line's day are dropped.
A store that sends no sales lines (daily exports only) has no blocks: :func:`has_lines`
tells the cycle to fall back to a rule on daily sales.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # db imports the schema, whose migration 5 calls seed() here
    from edge_agent.mirror.db import Mirror

__all__ = ["BLOCK_DAYS", "KEEP_DAYS", "catch_up", "fold", "has_lines", "hourly_sales", "seed"]

#: 8 days: a block is 768 bytes, inside its B-tree page (see windows.BLOCK_DAYS).
BLOCK_DAYS = 8
#: The cycle reads 15 days; five more weeks let re-runs for recent past days read blocks.
KEEP_DAYS = 50
_HOURS = BLOCK_DAYS * 24
_EPOCH = date(1970, 1, 1).toordinal()
#: Ingest files that may add sales lines (products files release quarantined lines).
_LINE_KINDS = "('sales_lines', 'products')"
_CHUNK = 50_000


def _block_of(day: date) -> int:
    return (day.toordinal() - _EPOCH) // BLOCK_DAYS


def _block_start(block: int) -> date:
    return date.fromordinal(_EPOCH + block * BLOCK_DAYS)


def _first_kept_block(conn: sqlite3.Connection) -> int | None:
    newest = conn.execute("SELECT MAX(business_date) FROM sales_lines").fetchone()[0]
    if newest is None:
        return None
    return _block_of(date.fromisoformat(newest) - timedelta(days=KEEP_DAYS))


def seed(conn: sqlite3.Connection) -> None:
    """Rebuild the blocks from ``sales_lines`` (migration 5, or after another writer)."""
    conn.execute("DELETE FROM sku_hour_blocks")
    first = _first_kept_block(conn)
    if first is not None:
        cursor = conn.execute(
            "SELECT sku, business_date, local_hour, SUM(qty) FROM sales_lines "
            "WHERE business_date >= ? AND line_type = 'sale' "
            "GROUP BY sku, business_date, local_hour",
            (_block_start(first).isoformat(),),
        )
        while chunk := cursor.fetchmany(_CHUNK):
            sums: dict[tuple[str, str], list[float]] = {}
            for sku, day, hour, qty in chunk:
                hours = sums.get((sku, day))
                if hours is None:
                    hours = sums[(sku, day)] = [0.0] * 24
                hours[hour] += qty
            _add(conn, sums)  # a SKU-day cut between two chunks adds up across them
    newest_file = conn.execute(
        f"SELECT MAX(file_id) FROM ingest_files WHERE kind IN {_LINE_KINDS}"
    ).fetchone()[0]
    conn.execute(
        "INSERT OR REPLACE INTO sku_hour_state(id, folded_through, block_days) VALUES (1, ?, ?)",
        (newest_file or 0, BLOCK_DAYS),
    )


def _add(conn: sqlite3.Connection, sums: Mapping[tuple[str, str], list[float]]) -> None:
    """Add units per (SKU, day) and hour into the blocks (read, add, write)."""
    by_block: dict[tuple[int, str], list[tuple[int, list[float]]]] = {}
    for (sku, day), hours in sums.items():
        ordinal = date.fromisoformat(day).toordinal() - _EPOCH
        block, offset = divmod(ordinal, BLOCK_DAYS)
        by_block.setdefault((block, sku), []).append((offset * 24, hours))
    written = []
    for (block, sku), parts in by_block.items():
        old = conn.execute(
            "SELECT data FROM sku_hour_blocks WHERE block = ? AND sku = ?", (block, sku)
        ).fetchone()
        data = np.frombuffer(old[0], dtype="<f4").copy() if old else np.zeros(_HOURS, "<f4")
        for at, hours in parts:
            data[at : at + 24] += np.asarray(hours, dtype="<f4")
        written.append((block, sku, data.tobytes()))
    conn.executemany(
        "INSERT OR REPLACE INTO sku_hour_blocks(block, sku, data) VALUES (?, ?, ?)", written
    )


def _in_step(conn: sqlite3.Connection, file_id: int | None) -> bool:
    """No file that may add lines was ingested past the blocks (other than ``file_id``)."""
    row = conn.execute("SELECT folded_through, block_days FROM sku_hour_state").fetchone()
    if row is None or int(row[1]) != BLOCK_DAYS:
        return False
    later = conn.execute(
        f"SELECT 1 FROM ingest_files WHERE kind IN {_LINE_KINDS} AND file_id > ? "
        "AND file_id IS NOT ? LIMIT 1",
        (row[0], file_id),
    ).fetchone()
    return later is None


def fold(
    mirror: Mirror, file_id: int | None, sums: Iterable[Mapping[tuple[str, str], list[float]]]
) -> None:
    """Add the sale units a file's lines brought (per (SKU, day), 24 hours each) in the
    file's transaction, and mark the file folded; rebuild when another writer came
    between (the rebuild reads the file's lines from ``sales_lines``)."""
    conn = mirror.conn
    if not _in_step(conn, file_id):
        seed(conn)
        return
    for part in sums:
        if part:
            _add(conn, part)
    first = _first_kept_block(conn)
    if first is not None:
        conn.execute("DELETE FROM sku_hour_blocks WHERE block < ?", (first,))
    if file_id is not None:
        conn.execute("UPDATE sku_hour_state SET folded_through = MAX(folded_through, ?)",
                     (file_id,))  # fmt: skip


def catch_up(mirror: Mirror) -> None:
    """Rebuild the blocks if a file was ingested without folding (an older release)."""
    if _in_step(mirror.conn, None):
        return
    if mirror.conn.in_transaction:
        seed(mirror.conn)
        return
    with mirror.transaction():
        seed(mirror.conn)


def has_lines(mirror: Mirror, day: date) -> bool:
    """True when the mirror holds sales lines for ``day`` (hourly sales are known)."""
    row = mirror.conn.execute(
        "SELECT 1 FROM sales_lines WHERE business_date = ? LIMIT 1", (day.isoformat(),)
    ).fetchone()
    return row is not None


def hourly_sales(mirror: Mirror, start: date, n_days: int, index: Mapping[str, int]) -> np.ndarray:
    """Units sold per SKU (rows as in ``index``) and hour of ``start .. start + n_days - 1``:
    float32 (n_sku, n_days * 24), hour = day * 24 + local hour; 0 where no line sold."""
    catch_up(mirror)
    out = np.zeros((len(index), n_days * 24), dtype=np.float32)
    end = start + timedelta(days=n_days - 1)
    cursor = mirror.conn.execute(
        "SELECT sku, block, data FROM sku_hour_blocks WHERE block BETWEEN ? AND ?",
        (_block_of(start), _block_of(end)),
    )
    while chunk := cursor.fetchmany(10_000):
        rows = np.fromiter((index.get(r[0], -1) for r in chunk), dtype=np.int64, count=len(chunk))
        blocks = np.fromiter((r[1] for r in chunk), dtype=np.int64, count=len(chunk))
        data = np.frombuffer(b"".join(r[2] for r in chunk), dtype="<f4").reshape(-1, _HOURS)
        for block in np.unique(blocks).tolist():
            take = (blocks == block) & (rows >= 0)
            first = (_block_start(block) - start).days * 24  # the block's first hour column
            a, b = max(0, -first), min(_HOURS, n_days * 24 - first)
            if a < b and take.any():
                out[rows[take], first + a : first + b] = data[take, a:b]
    return out
