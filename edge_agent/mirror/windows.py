"""Packed sales windows: the daily facts the cycle reads, kept in step with ``daily_sales``.

Reading 400 days of daily rows at 30,000 SKUs (12 M rows) costs seconds and hundreds of
MB. The same facts are kept here as packed arrays, per SKU and block of
:data:`BLOCK_DAYS` days (aligned on 1970-01-01): a row of ``sales_blocks`` holds per day
units (float32, NaN = no daily row), the row's own price (float32, NaN = none) and its
promotion flag; a row of ``on_hand_blocks`` the reported on hand (float64, exact, NaN =
none), apart because the cycle reads it for three weeks only. A 30,000-SKU cycle reads
~200,000 blobs instead of 12 M rows, and a day of sales rewrites one small block per SKU
in each table, not a whole history.

Staying in step: triggers on ``daily_sales`` (schema v4) append every written row's
state (a deleted row as a tombstone) to ``sales_window_changes``, in the writer's own
transaction, whoever the writer is: ingest, a release that predates the windows (the
migration is expand-only), or plain SQL. :func:`fold` moves pending changes into the
blocks; ingest folds at the end of each file's transaction, and readers fold before they
read, so a block is never read stale.

Blocks more than :data:`KEEP_DAYS` before the newest sales day are dropped;
``sales_window_state.covered_from`` is the first day the blocks are complete for, and
:func:`covers` tells readers of older days to read ``daily_sales`` instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np

from edge_agent.mirror.db import Mirror, read_once
from models.features import SCALE_DAYS

__all__ = [
    "BLOCK_DAYS",
    "KEEP_DAYS",
    "covers",
    "fill_days",
    "fold",
    "latest_on_hand",
    "seed",
]

#: 64 days: a sales block is 576 bytes and an on-hand block 512, so each row stays inside
#: its B-tree page (a row of more than ~1,000 bytes spills to an overflow page and reads
#: 1.7x slower).
BLOCK_DAYS = 64
#: The daily features' naive scale reads SCALE_DAYS (two years; the cycle itself 400
#: days); seven more weeks let reads for recent past days (re-runs, backfills) use blocks
#: too.
KEEP_DAYS = SCALE_DAYS + 50
_EPOCH = date(1970, 1, 1).toordinal()
_SALES = np.dtype(
    [
        ("units", "<f4", (BLOCK_DAYS,)),
        ("price", "<f4", (BLOCK_DAYS,)),
        ("promo", "u1", (BLOCK_DAYS,)),
    ]
)
_ON_HAND = np.dtype([("on_hand", "<f8", (BLOCK_DAYS,))])
_EMPTY = {"sales_blocks": np.zeros(1, dtype=_SALES), "on_hand_blocks": np.zeros(1, dtype=_ON_HAND)}
for _table, _names in (("sales_blocks", ("units", "price")), ("on_hand_blocks", ("on_hand",))):
    for _name in _names:
        _EMPTY[_table][_name] = np.nan
_CHUNK = 50_000
_ROW = "sku, date, units, price, promo, on_hand"


def seed(conn: sqlite3.Connection) -> None:
    """Build the blocks from ``daily_sales`` (migration 4, or blocks of another size)."""
    newest = conn.execute("SELECT MAX(date) FROM daily_sales").fetchone()[0]
    covered = _boundary(newest) if newest else date.min.isoformat()
    conn.execute("DELETE FROM sales_blocks")
    conn.execute("DELETE FROM on_hand_blocks")
    conn.execute("DELETE FROM sales_window_changes")
    conn.execute(
        "INSERT OR REPLACE INTO sales_window_state(id, covered_from, block_days) VALUES (1, ?, ?)",
        (covered, BLOCK_DAYS),
    )
    # In key order (the primary key's index): each block is then written once.
    rows = f"SELECT {_ROW} FROM daily_sales WHERE date >= ? ORDER BY sku, date"
    _apply_all(conn, conn.execute(rows, (covered,)))


def _block_of(ordinal: int) -> int:
    return (ordinal - _EPOCH) // BLOCK_DAYS


def _block_start(block: int) -> date:
    return date.fromordinal(_EPOCH + block * BLOCK_DAYS)


def _boundary(newest: str) -> str:
    """The first day of the oldest block kept when ``newest`` is the newest sales day."""
    oldest = date.fromisoformat(newest).toordinal() - KEEP_DAYS
    return _block_start(_block_of(oldest)).isoformat()


def _covered_from(mirror: Mirror) -> str:
    return mirror.conn.execute("SELECT covered_from FROM sales_window_state").fetchone()[0]


def _same_layout(mirror: Mirror) -> bool:
    """Blocks of this release's size over this release's span: a release that kept fewer
    days left ``covered_from`` later than :data:`KEEP_DAYS` asks (rebuilt once)."""
    days, covered = mirror.conn.execute(
        "SELECT block_days, covered_from FROM sales_window_state"
    ).fetchone()
    newest = mirror.conn.execute("SELECT MAX(date) FROM daily_sales").fetchone()[0]
    return int(days) == BLOCK_DAYS and (newest is None or covered <= _boundary(newest))


def fold(mirror: Mirror) -> int:
    """Move pending changes into the blocks and drop blocks past the horizon.

    Runs in the caller's transaction, or in its own. Returns the changes folded.
    """
    pending = "SELECT 1 FROM sales_window_changes LIMIT 1"
    if not mirror.conn.in_transaction:
        if mirror.conn.execute(pending).fetchone() is None and _same_layout(mirror):
            return 0  # readers pay three lookups when nothing is pending
        with mirror.transaction():
            return fold(mirror)
    conn = mirror.conn
    if not _same_layout(mirror):  # written by a release with other blocks or span: rebuild
        seed(conn)
        return 0
    if conn.execute(pending).fetchone() is None:
        return 0
    covered = _covered_from(mirror)
    newest = conn.execute("SELECT MAX(date) FROM daily_sales").fetchone()[0]
    if newest is not None and _boundary(newest) > covered:
        covered = _boundary(newest)
        first_block = _block_of(date.fromisoformat(covered).toordinal())
        conn.execute("DELETE FROM sales_blocks WHERE block < ?", (first_block,))
        conn.execute("DELETE FROM on_hand_blocks WHERE block < ?", (first_block,))
        conn.execute("UPDATE sales_window_state SET covered_from = ?", (covered,))
    # By SKU and day, each key's writes in order (the last one is the row as it stands).
    cursor = conn.execute(
        f"SELECT {_ROW} FROM sales_window_changes WHERE date >= ? ORDER BY sku, date, seq",
        (covered,),
    )
    folded = _apply_all(conn, cursor)
    conn.execute("DELETE FROM sales_window_changes")
    return folded


def _apply_all(conn: sqlite3.Connection, cursor: sqlite3.Cursor) -> int:
    # A group cut between two chunks is simply read back and completed by the next one.
    folded = 0
    while chunk := cursor.fetchmany(_CHUNK):
        folded += _apply(conn, chunk)
    return folded


def _apply(conn: sqlite3.Connection, rows: list[tuple]) -> int:
    """Write rows (ordered by sku, date, write order) into their blocks (read, modify,
    write); of several rows for one SKU and day the last wins."""
    ordinals: dict[str, int] = {}
    days = np.fromiter(
        (ordinals.get(r[1]) or ordinals.setdefault(r[1], date.fromisoformat(r[1]).toordinal())
         for r in rows), dtype=np.int64, count=len(rows))  # fmt: skip
    skus = np.array([r[0] for r in rows], dtype=object)
    blocks = (days - _EPOCH) // BLOCK_DAYS
    offsets = (days - _EPOCH) % BLOCK_DAYS
    nan = float("nan")
    units = np.array([nan if r[2] is None else r[2] for r in rows], dtype=np.float64)
    price = np.array([nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
    promo = np.array([1 if r[4] else 0 for r in rows], dtype=np.uint8)
    on_hand = np.array([nan if r[5] is None else r[5] for r in rows], dtype=np.float64)
    # Only the last write of a SKU-day in this chunk (a later chunk overwrites it anyway).
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = (skus[1:] != skus[:-1]) | (days[1:] != days[:-1])
    if not last.all():
        skus, days, blocks, offsets = skus[last], days[last], blocks[last], offsets[last]
        units, price, promo, on_hand = units[last], price[last], promo[last], on_hand[last]
    starts = np.flatnonzero(
        np.concatenate([[True], (skus[1:] != skus[:-1]) | (blocks[1:] != blocks[:-1])])
    )
    ends = np.append(starts[1:], len(skus))
    written: dict[str, list[tuple]] = {"sales_blocks": [], "on_hand_blocks": []}
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        sku, block, at = skus[a], int(blocks[a]), offsets[a:b]
        sales, stock = (_read_block(conn, table, block, sku) for table in written)
        sales["units"][0, at] = units[a:b]
        sales["price"][0, at] = price[a:b]
        sales["promo"][0, at] = promo[a:b]
        stock["on_hand"][0, at] = on_hand[a:b]
        written["sales_blocks"].append((block, sku, sales.tobytes()))
        written["on_hand_blocks"].append((block, sku, stock.tobytes()))
    for table, rows_out in written.items():
        conn.executemany(
            f"INSERT OR REPLACE INTO {table}(block, sku, data) VALUES (?, ?, ?)", rows_out
        )
    return len(rows)


def _read_block(conn: sqlite3.Connection, table: str, block: int, sku: str) -> np.ndarray:
    """A block as a writable record (an empty one when the table has none yet)."""
    old = conn.execute(
        f"SELECT data FROM {table} WHERE block = ? AND sku = ?", (block, sku)
    ).fetchone()
    empty = _EMPTY[table]
    return np.frombuffer(old[0], dtype=empty.dtype).copy() if old else empty.copy()


def covers(mirror: Mirror, start: date) -> bool:
    """True when the blocks hold every daily row from ``start`` on (pending changes folded)."""
    fold(mirror)
    return start.isoformat() >= _covered_from(mirror)


def _blocks(
    mirror: Mirror, table: str, first: date, last: date
) -> Iterable[tuple[list[str], np.ndarray, np.ndarray]]:
    """(skus, block numbers, records) of ``table``'s blocks that hold ``first .. last``,
    in chunks."""
    with read_once(mirror.conn):  # each block is read once
        cursor = mirror.conn.execute(
            f"SELECT sku, block, data FROM {table} WHERE block BETWEEN ? AND ?",
            (_block_of(first.toordinal()), _block_of(last.toordinal())),
        )
        while chunk := cursor.fetchmany(5_000):
            records = np.frombuffer(b"".join(r[2] for r in chunk), dtype=_EMPTY[table].dtype)
            blocks = np.fromiter((r[1] for r in chunk), dtype=np.int64, count=len(chunk))
            yield [r[0] for r in chunk], blocks, records


def fill_days(
    mirror: Mirror,
    start: date,
    index: dict[str, int],
    sales: np.ndarray,
    price: np.ndarray,
    promo: np.ndarray,
) -> None:
    """Write the daily rows of the days from ``start`` (the arrays' first column) into
    ``(SKU, day)`` arrays, SKU rows as in ``index``: units into ``sales``, the row's own
    price (when it has one) into ``price``, its promotion flag into ``promo``. A day
    without a row leaves all three as they are. The caller checks :func:`covers` first."""
    n_days = sales.shape[1]
    end = start + timedelta(days=n_days - 1)
    for skus, blocks, records in _blocks(mirror, "sales_blocks", start, end):
        rows = np.fromiter((index.get(s, -1) for s in skus), dtype=np.int64, count=len(skus))
        # One block number at a time: its rows share their columns (whole slices copied).
        for block in np.unique(blocks).tolist():
            take = (blocks == block) & (rows >= 0)
            first = (_block_start(block) - start).days  # column of the block's first day
            a, b = max(0, -first), min(BLOCK_DAYS, n_days - first)
            if a >= b or not take.any():
                continue
            i, part = rows[take], records[take]
            cols = slice(first + a, first + b)
            units = part["units"][:, a:b]
            known = ~np.isnan(units)  # a day with a daily row
            sales[i, cols] = np.where(known, units, sales[i, cols])
            row_price = part["price"][:, a:b]
            price[i, cols] = np.where(np.isnan(row_price), price[i, cols], row_price)
            promo[i, cols] = np.where(known, part["promo"][:, a:b], promo[i, cols])


def latest_on_hand(mirror: Mirror, since: date, before: date) -> dict[str, float]:
    """Each SKU's latest reported on hand on a day in ``since .. before - 1``."""
    last = before - timedelta(days=1)
    if not covers(mirror, since):
        return dict(mirror.conn.execute(
            "SELECT sku, on_hand FROM (SELECT sku, on_hand, ROW_NUMBER() OVER "
            "(PARTITION BY sku ORDER BY date DESC) AS newest FROM daily_sales "
            "WHERE on_hand IS NOT NULL AND date < ? AND date >= ?) WHERE newest = 1",
            (before.isoformat(), since.isoformat())).fetchall())  # fmt: skip
    latest: dict[str, tuple[int, float]] = {}
    lo, hi = since.toordinal(), last.toordinal()
    for skus, blocks, records in _blocks(mirror, "on_hand_blocks", since, last):
        values = records["on_hand"]
        day = (_EPOCH + blocks * BLOCK_DAYS)[:, None] + np.arange(BLOCK_DAYS)[None, :]
        known = ~np.isnan(values) & (day >= lo) & (day <= hi)
        rows = np.flatnonzero(known.any(axis=1))
        at = BLOCK_DAYS - 1 - np.argmax(known[rows, ::-1], axis=1)  # newest known day
        for k, j in zip(rows.tolist(), at.tolist(), strict=True):
            sku, when = skus[k], int(day[k, j])
            if sku not in latest or latest[sku][0] < when:
                latest[sku] = (when, float(values[k, j]))
    return {sku: value for sku, (_, value) in latest.items()}
