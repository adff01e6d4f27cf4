"""The mirror's schema and its migrations.

Migrations are expand-then-contract: a release may only *add* tables, columns
and indexes (expand); dropping or renaming (contract) happens in a later
release, after every store runs code that no longer needs the old shape. Each
migration records ``min_reader_version``: the oldest schema version whose code
can still read and write the file after it. An older release opens a migrated
file as long as its own SCHEMA_VERSION >= that number, and refuses otherwise
with a message that says which release is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlite_utils

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    min_reader_version: int
    apply: Callable[[sqlite_utils.Database], None]


def _initial(db: sqlite_utils.Database) -> None:
    """Version 1: the store, its products, POS facts, quarantine, ingest log, audit log."""
    text, real, integer, blob = str, float, int, bytes

    def table(name: str, columns: dict, pk, not_null: Sequence[str] = ()) -> sqlite_utils.db.Table:
        return db[name].create(columns, pk=pk, not_null=set(not_null))  # type: ignore[union-attr]

    # The store itself: one row. Trading hours per weekday (0 = Monday).
    table(
        "store",
        {"store_id": text, "time_zone": text, "name": text, "updated_at": text},
        "store_id",
        ["time_zone"],
    )
    table("store_hours", {"weekday": integer, "opens": text, "closes": text}, "weekday")
    # Closures and holidays (status: open, closed, holiday); opens/closes override the hours.
    table(
        "store_calendar",
        {"date": text, "status": text, "name": text, "opens": text, "closes": text},
        "date",
        ["status"],
    )
    # Effective-dated product attributes: the row with the latest effective_from <= day applies.
    table(
        "products",
        {
            "sku": text,
            "effective_from": text,
            "category": text,
            "department": text,
            "description": text,
            "case_pack": real,
            "unit_cost": real,
            "price": real,
            "shelf_capacity": real,
            "supplier": text,
            "lead_time_days": integer,
            "order_days": text,
            "order_cutoff": text,
            "perishable": integer,
            "shelf_life_days": integer,
            "status": text,
        },
        ("sku", "effective_from"),
        ["category", "case_pack", "status"],
    )
    # POS lines as sold; qty is positive for every line type (sale, return, void).
    # WITHOUT ROWID: one B-tree keyed by line id instead of a table plus its key index,
    # which makes ingest ~25% faster on a mirror holding a year of lines.
    db.execute(
        """CREATE TABLE sales_lines (
             line_id TEXT NOT NULL PRIMARY KEY, ts_utc TEXT NOT NULL,
             business_date TEXT NOT NULL, local_hour INTEGER NOT NULL, sku TEXT NOT NULL,
             qty REAL NOT NULL, unit_price REAL, basket_id TEXT, line_type TEXT NOT NULL,
             file_id INTEGER) WITHOUT ROWID"""
    )
    db["sales_lines"].create_index(["business_date"])
    # Daily totals per SKU: from a daily export (source 'export', authoritative) or rolled
    # up from sales lines (source 'lines'). Returns are kept apart from units sold.
    # sales_value and priced_units (lines only) keep the average price exact as lines add up.
    table(
        "daily_sales",
        {
            "sku": text,
            "date": text,
            "units": real,
            "returns": real,
            "price": real,
            "promo": integer,
            "on_hand": real,
            "source": text,
            "sales_value": real,
            "priced_units": real,
        },
        ("sku", "date"),
        ["units", "source"],
    )
    db["daily_sales"].create_index(["date"])
    # Store transactions per local hour (source 'export' or 'lines').
    table(
        "store_hourly",
        {"date": text, "hour": integer, "transactions": integer, "source": text},
        ("date", "hour"),
        ["transactions", "source"],
    )
    table(
        "inventory_snapshots",
        {"sku": text, "ts_utc": text, "business_date": text, "on_hand": real, "file_id": integer},
        ("sku", "ts_utc"),
        ["business_date", "on_hand"],
    )
    table(
        "stock_adjustments",
        {
            "adjustment_id": text,
            "sku": text,
            "business_date": text,
            "ts_utc": text,
            "qty": real,
            "reason": text,
            "file_id": integer,
        },
        ("adjustment_id", "sku"),
        ["business_date", "qty", "reason"],
    )
    table(
        "deliveries",
        {
            "delivery_id": text,
            "sku": text,
            "business_date": text,
            "ts_utc": text,
            "qty": real,
            "order_id": text,
            "file_id": integer,
        },
        ("delivery_id", "sku"),
        ["business_date", "qty"],
    )
    table(
        "open_orders",
        {
            "order_id": text,
            "sku": text,
            "order_date": text,
            "expected_date": text,
            "qty": real,
            "status": text,
            "file_id": integer,
        },
        ("order_id", "sku"),
        ["expected_date", "qty", "status"],
    )
    table(
        "labor_schedule",
        {"date": text, "hour": integer, "role": text, "staff": real},
        ("date", "hour", "role"),
        ["staff"],
    )
    table(
        "promotions",
        {
            "promo_id": text,
            "sku": text,
            "start_date": text,
            "end_date": text,
            "promo_price": real,
            "discount_pct": real,
            "kind": text,
        },
        ("promo_id", "sku"),
        ["start_date", "end_date"],
    )
    # Every bad row, with where it came from and why. Only known, non-sensitive columns
    # are kept in `raw`. A released row stays here with released_at set.
    table(
        "quarantine",
        {
            "id": integer,
            "file_id": integer,
            "file_name": text,
            "line_no": integer,
            "kind": text,
            "reason": text,
            "detail": text,
            "sku": text,
            "raw": text,
            "quarantined_at": text,
            "released_at": text,
        },
        "id",
        ["kind", "reason", "raw", "quarantined_at"],
    )
    db["quarantine"].create_index(["reason", "sku"])
    table(
        "ingest_files",
        {
            "file_id": integer,
            "name": text,
            "sha256": text,
            "kind": text,
            "ingested_at": text,
            "rows_read": integer,
            "rows_loaded": integer,
            "rows_quarantined": integer,
            "rows_already_present": integer,
            "audit_seq": integer,
        },
        "file_id",
        ["name", "kind", "ingested_at"],
    )
    db["ingest_files"].create_index(["sha256"], unique=True)
    # Per-store sequences of each record type (the third part of every record id).
    table("sequences", {"record_type": text, "last": integer}, "record_type", ["last"])
    # Append-only, hash-chained: hash = sha256(prev_hash || payload), payload stored as written.
    table(
        "audit_log",
        {
            "seq": integer,
            "record_id": text,
            "event_type": text,
            "recorded_at": text,
            "prev_hash": blob,
            "hash": blob,
            "payload": blob,
        },
        "seq",
        ["record_id", "event_type", "recorded_at", "prev_hash", "hash", "payload"],
    )
    # Simulator ground truth (only in simulated mirrors): float32 arrays per SKU, one value a day.
    table(
        "sim_truth_daily",
        {
            "sku": text,
            "start_date": text,
            "days": integer,
            "true_demand": blob,
            "shelf_on_hand": blob,
            "system_on_hand": blob,
        },
        "sku",
        ["start_date", "days"],
    )
    table(
        "sim_truth_hourly", {"date": text, "hour": integer, "true_traffic": real}, ("date", "hour")
    )
    db.execute(
        """CREATE VIEW products_current AS
           SELECT p.* FROM products p
           WHERE p.effective_from = (
             SELECT MAX(q.effective_from) FROM products q
             WHERE q.sku = p.sku AND q.effective_from <= date('now'))
              OR (p.effective_from = (SELECT MIN(q.effective_from) FROM products q
                                      WHERE q.sku = p.sku)
                  AND NOT EXISTS (SELECT 1 FROM products q
                                  WHERE q.sku = p.sku AND q.effective_from <= date('now')))"""
    )


def _decisions(db: sqlite_utils.Database) -> None:
    """Version 2 (expand only): decisions and the outbox the sync drains."""
    db.execute(
        """CREATE TABLE decisions (
             decision_id TEXT PRIMARY KEY,   -- record id text, e.g. S001:decision:17
             seq INTEGER NOT NULL UNIQUE,
             kind TEXT NOT NULL,             -- order, staffing, shelf_check
             state TEXT NOT NULL,
             business_date TEXT NOT NULL,
             created_at TEXT NOT NULL,
             updated_at TEXT NOT NULL,
             sku TEXT, category TEXT, order_date TEXT, hour INTEGER,
             quantity REAL NOT NULL, value REAL NOT NULL, confidence REAL NOT NULL,
             model_name TEXT, model_version TEXT,
             rule TEXT NOT NULL, policy_hash TEXT NOT NULL, policy_outcome TEXT NOT NULL,
             shadow INTEGER NOT NULL DEFAULT 0,
             expires_at TEXT, supersedes_id TEXT, actor TEXT, reason TEXT,
             payload BLOB NOT NULL)          -- the Decision message as created"""
    )
    # At most one live order per SKU and order date: a re-run or a restart never orders twice.
    db.execute(
        "CREATE UNIQUE INDEX decisions_one_live_order ON decisions(sku, order_date) "
        "WHERE kind = 'order' AND state IN ('pending', 'approved', 'overridden', 'auto', "
        "'submitted', 'confirmed')"
    )
    db.execute("CREATE INDEX decisions_state ON decisions(state, kind)")
    # What a cycle asks before each proposal: the live decision for this SKU and day.
    db.execute("CREATE INDEX decisions_subject ON decisions(kind, sku, order_date, state)")
    db.execute("CREATE INDEX decisions_hours ON decisions(kind, business_date, hour, state)")
    # Records waiting for the hub, in per-store order; acked_at is set after the JetStream ack.
    db.execute(
        """CREATE TABLE outbox (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             record_id TEXT NOT NULL UNIQUE,
             record_type TEXT NOT NULL,
             payload BLOB NOT NULL,
             created_at TEXT NOT NULL,
             acked_at TEXT)"""
    )
    db.execute("CREATE INDEX outbox_pending ON outbox(acked_at, seq)")


def _sync(db: sqlite_utils.Database) -> None:
    """Version 3 (expand only): what the sync needs beside the outbox."""
    # Outbox rows are deleted once JetStream acknowledged them; these counters keep
    # how many of each type were acknowledged, so committed = acked + still queued.
    db.execute("CREATE TABLE sync_counters (record_type TEXT PRIMARY KEY, acked INTEGER NOT NULL)")
    # The agent's own progress: `audit.sent_seq` (the audit chain is append-only and
    # ordered, so it is drained by cursor, not copied into the outbox), `hub.chain_ack`
    # (the chain head the hub verified), `sales_lines.pruned_before` (retention.py).
    db.execute(
        "CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)"
    )
    # Each business day's outcome as last sent: a changed digest sends a new revision.
    db.execute(
        "CREATE TABLE outcome_days (date TEXT PRIMARY KEY, revision INTEGER NOT NULL, "
        "digest TEXT NOT NULL, sent_at TEXT NOT NULL)"
    )


def _sales_windows(db: sqlite_utils.Database) -> None:
    """Version 4 (expand only): packed per-SKU sales windows, what the cycle reads
    (see :mod:`edge_agent.mirror.windows`), kept in step by triggers on daily_sales."""
    # Per SKU and block of days (days since 1970-01-01 // windows.BLOCK_DAYS), packed:
    # units f4, the row's price f4, promotion u1 per day; on hand f8 per day apart.
    for table in ("sales_blocks", "on_hand_blocks"):
        db.execute(
            f"""CREATE TABLE {table} (
                  block INTEGER NOT NULL, sku TEXT NOT NULL, data BLOB NOT NULL,
                  PRIMARY KEY (block, sku)) WITHOUT ROWID"""
        )
    # Rows of daily_sales written since the last fold, as they then stood (units NULL: the
    # row is gone), appended in write order: a log, since a table keyed by SKU and day
    # made every daily row cost a random B-tree insert (3x slower ingest). Triggers fill
    # it in the writer's transaction, so a release that predates the windows, or plain
    # SQL, still leaves the windows able to catch up.
    db.execute(
        """CREATE TABLE sales_window_changes (
             seq INTEGER PRIMARY KEY,
             sku TEXT NOT NULL, date TEXT NOT NULL,
             units REAL, price REAL, promo INTEGER, on_hand REAL)"""
    )
    # The blocks hold every daily row from covered_from on (older days: read daily_sales),
    # in blocks of block_days days (a release with other blocks rebuilds them).
    db.execute(
        "CREATE TABLE sales_window_state (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "covered_from TEXT NOT NULL, block_days INTEGER NOT NULL)"
    )
    changed = (
        "INSERT INTO sales_window_changes(sku, date, units, price, promo, on_hand) "
        "VALUES (NEW.sku, NEW.date, NEW.units, NEW.price, NEW.promo, NEW.on_hand);"
    )
    db.execute(f"CREATE TRIGGER daily_sales_windows_insert AFTER INSERT ON daily_sales "
               f"BEGIN {changed} END")  # fmt: skip
    # A changed key (nothing does that today) leaves the old key's day without a row.
    moved = (
        "INSERT INTO sales_window_changes(sku, date) SELECT OLD.sku, OLD.date "
        "WHERE OLD.sku IS NOT NEW.sku OR OLD.date IS NOT NEW.date;"
    )
    db.execute(
        "CREATE TRIGGER daily_sales_windows_update AFTER UPDATE OF sku, date, units, price, "
        f"promo, on_hand ON daily_sales BEGIN {moved} {changed} END"
    )
    db.execute(
        "CREATE TRIGGER daily_sales_windows_delete AFTER DELETE ON daily_sales BEGIN "
        "INSERT INTO sales_window_changes(sku, date) VALUES (OLD.sku, OLD.date); END"
    )
    from edge_agent.mirror import windows  # numpy: loaded only when a mirror migrates

    windows.seed(db.conn)


def _hourly_sku_sales(db: sqlite_utils.Database) -> None:
    """Version 5 (expand only): packed hourly sales per SKU, what the availability model
    reads (see :mod:`edge_agent.mirror.hours`), added to at ingest from the sale lines."""
    # Per SKU and block of days (days since 1970-01-01 // hours.BLOCK_DAYS): f4 per hour.
    db.execute(
        """CREATE TABLE sku_hour_blocks (
              block INTEGER NOT NULL, sku TEXT NOT NULL, data BLOB NOT NULL,
              PRIMARY KEY (block, sku)) WITHOUT ROWID"""
    )
    # The last ingest file whose lines the blocks hold; a later lines or products file
    # not folded (an older release wrote it) makes the next reader rebuild them.
    db.execute(
        "CREATE TABLE sku_hour_state (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "folded_through INTEGER NOT NULL, block_days INTEGER NOT NULL)"
    )
    from edge_agent.mirror import hours  # numpy: loaded only when a mirror migrates

    hours.seed(db.conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(version=1, name="initial", min_reader_version=1, apply=_initial),
    # Expand only: a release at schema 1 still reads and writes the file.
    Migration(version=2, name="decisions and outbox", min_reader_version=1, apply=_decisions),
    Migration(version=3, name="sync state and outcomes", min_reader_version=1, apply=_sync),
    # Expand only: an older release writes daily_sales as before, and the triggers record it.
    Migration(version=4, name="sales windows", min_reader_version=1, apply=_sales_windows),
    # Expand only: an older release writes lines as before; readers rebuild the blocks.
    Migration(version=5, name="hourly sku sales", min_reader_version=1, apply=_hourly_sku_sales),
)

# The newest schema this release writes.
SCHEMA_VERSION = MIGRATIONS[-1].version
