"""Opening the hub database file: one way for storage, registry and keys.

Several hub processes (and the CLI) open the same SQLite file. Each connection
waits for the others' write locks (``timeout``), the file is in WAL, and writes
go through ``BEGIN IMMEDIATE`` so a transaction never fails half-way on a lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["BUSY_TIMEOUT_S", "connect", "immediate"]

BUSY_TIMEOUT_S = 30.0


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous NORMAL."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, timeout=BUSY_TIMEOUT_S,
        check_same_thread=check_same_thread,
    )  # fmt: skip
    _use_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: it takes the write lock at the start, or waits for it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _use_wal(conn: sqlite3.Connection, timeout_s: float = BUSY_TIMEOUT_S) -> None:
    """Switch the file to WAL, waiting for other processes. Several hub processes may open
    the same new file at once, and SQLite answers the switch with "database is locked" at
    once, without its busy handler, while another connection holds a write lock on a file
    not yet in WAL: retry until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
