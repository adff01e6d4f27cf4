"""Opening the store mirror: pragmas, migrations, transactions, the store row.

The mirror is one SQLite file per store, in WAL mode with
``auto_vacuum=INCREMENTAL`` and ``synchronous=NORMAL``. Other edge modules
ask this package for what they need; they do not write SQL against its tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlite_utils

from edge_agent import __version__
from edge_agent.clock import Clock, SystemClock
from edge_agent.errors import (
    MirrorError,
    SchemaTooNewError,
    StoreConflictError,
    StoreNotConfigured,
)
from edge_agent.mirror.schema import MIGRATIONS, Migration

__all__ = ["Mirror", "StoreInfo", "open_mirror", "read_once"]


@dataclass(frozen=True)
class StoreInfo:
    store_id: str
    time_zone: str
    name: str | None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Mirror:
    """An open store mirror. Use :func:`open_mirror` to get one."""

    def __init__(self, path: Path, conn: sqlite3.Connection, clock: Clock) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.clock = clock
        self._store: StoreInfo | None = None

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE), committed on success, rolled back on error."""
        if self.conn.in_transaction:
            raise MirrorError("nested mirror transaction", hint="this is a bug in storeedge")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            # SQLite rolls back by itself on some errors (a full disk): keep the cause.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            if self.conn.in_transaction:  # e.g. the disk filled at commit: nothing is half-kept
                self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # -- the store ------------------------------------------------------------------------
    def store(self) -> StoreInfo | None:
        if self._store is None:
            row = self.conn.execute("SELECT store_id, time_zone, name FROM store").fetchone()
            if row is not None:
                self._store = StoreInfo(*row)
        return self._store

    def require_store(self) -> StoreInfo:
        info = self.store()
        if info is None:
            raise StoreNotConfigured(
                f"mirror {self.path} has no store yet",
                hint="run `edge-agent init --db DB --store ID --tz ZONE` or ingest a store file",
            )
        return info

    def set_store(self, store_id: str, time_zone: str, name: str | None = None) -> bool:
        """Record the store (inside the caller's transaction). Returns True if it changed."""
        ZoneInfo(time_zone)  # raises for an unknown zone before anything is written
        current = self.store()
        if current is not None:
            if current.store_id != store_id:
                raise StoreConflictError(
                    f"mirror {self.path} belongs to store {current.store_id}, not {store_id}",
                    hint="use one mirror file per store",
                )
            if current.time_zone != time_zone:
                raise StoreConflictError(
                    f"store {store_id} is in time zone {current.time_zone}; "
                    f"changing it to {time_zone} would move every stored business date",
                    hint="create a new mirror for the store and re-ingest its exports",
                )
            if name is None or name == current.name:
                return False
        self.conn.execute(
            "INSERT INTO store(store_id, time_zone, name, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(store_id) DO UPDATE SET name = excluded.name, "
            "updated_at = excluded.updated_at",
            (store_id, time_zone, name, self.clock.now().isoformat()),
        )
        self._store = StoreInfo(store_id, time_zone, name)
        return True

    def today(self) -> date:
        """The store's current business date (store-local)."""
        return self.clock.now().astimezone(self.require_store().tz).date()

    # -- record sequences -----------------------------------------------------------------
    def next_sequence(self, record_type: str) -> int:
        """Next per-store sequence number of a record type (inside a transaction)."""
        row = self.conn.execute(
            "INSERT INTO sequences(record_type, last) VALUES (?, 1) "
            "ON CONFLICT(record_type) DO UPDATE SET last = last + 1 RETURNING last",
            (record_type,),
        ).fetchone()
        return int(row[0])

    def last_sequence(self, record_type: str) -> int:
        """The last sequence number given out for a record type (0: none yet)."""
        row = self.conn.execute(
            "SELECT last FROM sequences WHERE record_type = ?", (record_type,)
        ).fetchone()
        return int(row[0]) if row else 0

    def set_sequence(self, record_type: str, last: int) -> None:
        """Record that numbers up to ``last`` were given out (a batch that counted in memory,
        inside the same transaction)."""
        self.conn.execute(
            "INSERT INTO sequences(record_type, last) VALUES (?, ?) "
            "ON CONFLICT(record_type) DO UPDATE SET last = excluded.last",
            (record_type, last),
        )

    # -- products -------------------------------------------------------------------------
    def known_skus(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT DISTINCT sku FROM products")}


#: The page cache of a one-pass read (negative: KiB, as PRAGMA cache_size takes it).
_READ_ONCE_CACHE_KIB = -4096


@contextmanager
def read_once(conn: sqlite3.Connection) -> Iterator[None]:
    """A small page cache while a scan reads each page once (the sales blocks, the product
    and promotion tables a cycle reads): caching those pages would only grow the process
    by the cache, at a cycle's peak. The connection's own cache size comes back
    afterwards."""
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {_READ_ONCE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (sqlite-utils nests savepoints).
    # check_same_thread=False: ingest hands the connection to one writer thread at a time.
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)
    # auto_vacuum must be set before the first table exists; harmless afterwards.
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise MirrorError(
            f"cannot put {path} in WAL mode (got {mode})",
            hint="keep the mirror on a local file system",
        )
    conn.execute("PRAGMA synchronous = NORMAL")
    # 64 MiB of page cache (SQLite's default is 2 MiB): bulk writes whose keys scatter over
    # an index (daily totals arrive SKU by SKU, indexed by date) stop thrashing the cache.
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA foreign_keys = ON")
    # Statement journals in memory: with the sales-window triggers (schema v4) every row an
    # executemany upserts opens one, and on disk that made daily rows 4x slower to write.
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def _migrate(mirror: Mirror, migrations: Sequence[Migration]) -> None:
    conn = mirror.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, min_reader_version INTEGER NOT NULL, applied_at TEXT NOT NULL, "
        "release TEXT NOT NULL)"
    )
    known = migrations[-1].version
    row = conn.execute(
        "SELECT version, min_reader_version, release FROM schema_migrations "
        "ORDER BY version DESC LIMIT 1"
    ).fetchone()
    current = int(row[0]) if row else 0
    if current > known:
        min_reader, release = int(row[1]), row[2]
        if min_reader > known:
            raise SchemaTooNewError(
                f"mirror {mirror.path} is at schema v{current} (migrated by storeedge {release}); "
                f"it needs a release that reads schema v{min_reader} or newer, "
                f"and this release (storeedge {__version__}) reads up to v{known}",
                hint=f"upgrade edge-agent to storeedge {release} or later",
            )
        return  # a newer, expand-only schema: still readable and writable by this release
    for migration in migrations:
        if migration.version <= current:
            continue
        with mirror.transaction():
            migration.apply(mirror.db)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?, ?)",
                (
                    migration.version,
                    migration.name,
                    migration.min_reader_version,
                    datetime.now(UTC).isoformat(),
                    __version__,
                ),
            )
            if mirror.store() is not None:  # a new file has no store (nor chain) yet
                _audit_migration(mirror, migration)


def _audit_migration(mirror: Mirror, migration: Migration) -> None:
    from edge_agent import audit  # audit builds on this module
    from storeedge.v1 import audit_pb2

    audit.append(
        mirror,
        audit_pb2.AUDIT_EVENT_TYPE_SCHEMA_MIGRATED,
        subject_id=f"schema:{migration.version}",
        summary=f"mirror migrated to schema v{migration.version} ({migration.name})",
        attributes={
            "min_reader_version": str(migration.min_reader_version),
            "release": __version__,
        },
    )


def open_mirror(
    path: str | Path,
    *,
    clock: Clock | None = None,
    create: bool = True,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Mirror:
    """Open (and create or migrate) the mirror at ``path``."""
    path = Path(path)
    if not create and not path.exists():
        raise MirrorError(
            f"mirror {path} does not exist", hint="check --db, or create it with `edge-agent init`"
        )
    try:
        conn = _connect(path)
        mirror = Mirror(path, conn, clock or SystemClock())
        _migrate(mirror, migrations)
    except sqlite3.DatabaseError as exc:
        raise MirrorError(
            f"cannot open mirror {path}: {exc}",
            hint="is it a storeedge mirror file, and is the disk writable?",
        ) from exc
    return mirror
