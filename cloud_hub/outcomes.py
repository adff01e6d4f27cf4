"""What followed each decision: the outcome join, and the metrics computed from it.

The stores sync decisions, their state changes, shelf-check results and daily outcomes
(``records``); this module links them, per decision, in the hub database:

- ``outcome_queue``: ids of records ingest stored and the join has not read yet.
  :func:`enqueue` runs inside ingest's transaction (one small insert per batch); the
  join itself (:func:`update`) runs later, in batches, off ingest's hot path;
- ``outcome_dirty``: decisions to join again (their window got new facts), worked off a
  few hundred per transaction so that ingest's write lock never waits long;
- ``outcome_sku_days`` / ``outcome_hours``: the newest revision of each (store, day, SKU)
  and (store, day, hour), kept as outcomes arrive (a late correction replaces an older
  revision; a redelivered one changes nothing);
- ``outcome_parts``: which parts of which revision of a store-day arrived, so that a
  day counts as *synced* only once every part of one revision is in;
- ``outcome_shelf_results``: the store's recorded shelf-check result per decision;
- ``outcome_metrics``: the sums behind the metrics per (week, store, category, model
  version), added up again for the groups of the decisions each transaction joined;
- ``outcome_joins``: one row per decision: its window, whether the window is fully
  synced (``complete``) or not yet (``partial``) and the numbers the metrics add up;
  ``outcome_docs``: what followed, per decision, as a JSON document.

When an outcome arrives, every decision whose window holds that store-day is joined
again, so the rows follow late and revised outcomes. The definitions and formulas are
in docs/OUTCOMES.md; :func:`metrics` adds the rows up per store, category, model
version and ISO week, and every metric row says how many decisions it came from.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from google.protobuf.message import DecodeError

from cloud_hub.errors import HubStorageError
from storeedge.ids import record_id_text
from storeedge.v1 import decision_pb2, outcome_pb2, shelf_check_pb2

__all__ = [
    "JOINED_TYPES",
    "STAFF_TRANSACTIONS_PER_HOUR",
    "SkuDay",
    "UpdateReport",
    "backfill",
    "combine",
    "decision_outcome",
    "enqueue",
    "ensure_schema",
    "is_week",
    "metrics",
    "order_outcome",
    "review_path",
    "staffing_outcome",
    "update",
]

#: Record types the join reads (the rest of ``records`` is of no use to it).
JOINED_TYPES = frozenset({"decision", "decision_state", "outcome", "shelf_check"})
#: Transactions one person serves in an hour: the staffing rule of the edge cycle
#: (edge_agent.cycle.TRANSACTIONS_PER_STAFF_HOUR), used to turn actual traffic into the
#: headcount the hour needed.
STAFF_TRANSACTIONS_PER_HOUR = 20.0

_ORDER = decision_pb2.DECISION_KIND_ORDER
_STAFFING = decision_pb2.DECISION_KIND_STAFFING
_SHELF = decision_pb2.DECISION_KIND_SHELF_CHECK
_S = decision_pb2
_EXECUTED = {_S.DECISION_STATE_AUTO, _S.DECISION_STATE_APPROVED, _S.DECISION_STATE_SUBMITTED,
             _S.DECISION_STATE_CONFIRMED}  # fmt: skip
_SHELF_STATUS = {
    shelf_check_pb2.SHELF_CHECK_STATUS_FOUND: "found",
    shelf_check_pb2.SHELF_CHECK_STATUS_MISSING: "missing",
    shelf_check_pb2.SHELF_CHECK_STATUS_NOT_CHECKED: "not_checked",
}

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outcome_queue (record_id TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS outcome_dirty (decision_id TEXT PRIMARY KEY) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS outcome_sku_days (
  store_id TEXT NOT NULL, sku TEXT NOT NULL, date TEXT NOT NULL, revision INTEGER NOT NULL,
  listed INTEGER NOT NULL, units_sold REAL NOT NULL, returns REAL NOT NULL,
  on_hand REAL, receipts REAL NOT NULL, waste REAL NOT NULL, price REAL NOT NULL,
  stockout_hours REAL NOT NULL,
  PRIMARY KEY (store_id, sku, date)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS outcome_hours (
  store_id TEXT NOT NULL, date TEXT NOT NULL, hour INTEGER NOT NULL,
  revision INTEGER NOT NULL, transactions INTEGER NOT NULL,
  PRIMARY KEY (store_id, date, hour)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS outcome_parts (
  store_id TEXT NOT NULL, date TEXT NOT NULL, revision INTEGER NOT NULL, part INTEGER NOT NULL,
  part_count INTEGER NOT NULL, closed INTEGER NOT NULL,
  PRIMARY KEY (store_id, date, revision, part)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS outcome_shelf_results (
  decision_id TEXT PRIMARY KEY, status TEXT NOT NULL, checked_by TEXT NOT NULL,
  recorded_at TEXT
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS outcome_joins (
  decision_id TEXT PRIMARY KEY,
  store_id TEXT NOT NULL, kind INTEGER NOT NULL, category TEXT NOT NULL,
  model_version TEXT NOT NULL, week TEXT NOT NULL, business_date TEXT NOT NULL,
  window_start TEXT NOT NULL, window_end TEXT NOT NULL,
  status TEXT NOT NULL,                  -- complete, partial
  review TEXT NOT NULL,                  -- auto, approved, rejected, overridden, other
  review_seconds REAL,
  forecast_point REAL, actual_point REAL, -- a point forecast and what happened
  forecast_p90 REAL, p90_actual REAL,
  coverage_days INTEGER, sales_units REAL, onhand_unit_days REAL, stockout_days INTEGER,
  lost_units REAL, lost_value REAL, excess_units REAL, aged_units REAL,
  over_hours REAL, under_hours REAL, shelf_status TEXT, random_sample INTEGER,
  updated_at TEXT NOT NULL, waste_units REAL
) WITHOUT ROWID""",
    # The per-decision document apart, so the metrics' scans read only the narrow rows.
    "CREATE TABLE IF NOT EXISTS outcome_docs (decision_id TEXT PRIMARY KEY, doc TEXT NOT NULL) "
    "WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS outcome_joins_window "
    "ON outcome_joins(store_id, window_end, window_start)",
    "CREATE INDEX IF NOT EXISTS outcome_joins_group "
    "ON outcome_joins(week, store_id, category, model_version)",
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the join's tables if missing (plain statements: safe inside a transaction)."""
    for statement in _SCHEMA:
        conn.execute(statement)
    _add_columns(conn, "outcome_joins", _ADDED_COLUMNS)


#: Columns added to the join's tables since they were first created: a hub database made
#: by an earlier release gains them (empty: NULL, which the sums skip) when next opened.
_ADDED_COLUMNS = ("waste_units",)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _add_columns(conn: sqlite3.Connection, table: str, names: Sequence[str]) -> None:
    have = _columns(conn, table)
    for name in names:
        if name not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} REAL")


def enqueue(conn: sqlite3.Connection, records: Iterable[Any]) -> None:
    """Queue the ids of one ingest batch's records for the join, in ingest's transaction
    (objects with ``record_type`` and ``record_id``). Cheap: the join runs later."""
    ids = [(m.record_id,) for m in records if m.record_type in JOINED_TYPES]
    if ids:
        conn.execute(_SCHEMA[0])
        conn.executemany("INSERT OR IGNORE INTO outcome_queue(record_id) VALUES (?)", ids)


def backfill(conn: sqlite3.Connection) -> int:
    """Queue every record the join has never seen (a database from before the join, or
    whose join tables were dropped); returns how many. Call in a write transaction."""
    ensure_schema(conn)
    if conn.execute("SELECT 1 FROM outcome_joins LIMIT 1").fetchone() is not None:
        return 0
    before = conn.total_changes
    conn.execute(
        "INSERT OR IGNORE INTO outcome_queue(record_id) SELECT record_id FROM records "
        "WHERE record_type IN ('decision', 'decision_state', 'outcome', 'shelf_check')"
    )
    return conn.total_changes - before


@dataclass
class UpdateReport:
    records: int = 0
    joined: int = 0
    store_days: set[tuple[str, str]] = field(default_factory=set)
    #: Records or decisions that could not be read (kept in ``records`` as received).
    skipped: int = 0
    #: True when the batch was full: the queue may hold more.
    more: bool = False


def update(
    conn: sqlite3.Connection, *, batch: int = 5_000, joins: int = 200, groups: int = 100
) -> UpdateReport:
    """One step of the join (``conn`` in autocommit mode, as :mod:`cloud_hub.hubdb` opens
    it): read up to ``batch`` queued records into the facts and mark the decisions they
    touch (one write transaction), then join up to ``joins`` marked decisions (another).
    Short transactions: ingest gets the write lock in between. Call again while
    ``more``. Safe to repeat: the facts keep the newest revision, joins are recomputed."""
    report = UpdateReport()
    with _immediate(conn):
        ensure_schema(conn)
        ids = [row[0] for row in conn.execute(
            "SELECT record_id FROM outcome_queue LIMIT ?", (batch,))]  # fmt: skip
        dirty: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(
                f"SELECT record_id, store_id, record_type, payload FROM records "
                f"WHERE record_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for record_id, store_id, record_type, payload in rows:
                _read(conn, record_id, store_id, record_type, bytes(payload), dirty, report)
            conn.executemany("DELETE FROM outcome_queue WHERE record_id = ?",
                             [(i,) for i in chunk])  # fmt: skip
        report.records = len(ids)
        for store_id, day in sorted(report.store_days):
            dirty.update(row[0] for row in conn.execute(
                "SELECT decision_id FROM outcome_joins WHERE store_id = ? AND window_end >= ? "
                "AND window_start <= ?", (store_id, day, day)))  # fmt: skip
        conn.executemany("INSERT OR IGNORE INTO outcome_dirty(decision_id) VALUES (?)",
                         [(d,) for d in dirty])  # fmt: skip
    with _immediate(conn):
        marked = [row[0] for row in conn.execute(
            "SELECT decision_id FROM outcome_dirty LIMIT ?", (joins,))]  # fmt: skip
        now = datetime.now(UTC).isoformat()
        for decision_id in marked:
            try:
                report.joined += _join(conn, decision_id, now)
            except (DecodeError, ValueError):
                report.skipped += 1  # e.g. a date that is no date: the record stays as sent
        conn.executemany("DELETE FROM outcome_dirty WHERE decision_id = ?",
                         [(d,) for d in marked])  # fmt: skip
        _mark_groups(conn, marked)
    summed = groups
    if len(marked) < joins:  # the joins caught up: add up the groups they changed, once
        with _immediate(conn):
            summed = _sum_groups(conn, groups)
    report.more = len(ids) == batch or len(marked) == joins or summed == groups
    return report


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# -- reading records -----------------------------------------------------------------------


def _read(
    conn: sqlite3.Connection, record_id: str, store_id: str, record_type: str, payload: bytes,
    dirty: set[str], report: UpdateReport,
) -> None:  # fmt: skip
    try:
        if record_type == "decision":
            dirty.add(record_id)
        elif record_type == "decision_state":
            change = decision_pb2.DecisionStateChange.FromString(payload)
            dirty.add(record_id_text(change.decision_id))
        elif record_type == "shelf_check":
            result = shelf_check_pb2.ShelfCheckResult.FromString(payload)
            recorded = result.recorded_at.ToJsonString() if result.HasField("recorded_at") else None
            conn.execute(
                "INSERT OR REPLACE INTO outcome_shelf_results(decision_id, status, checked_by, "
                "recorded_at) VALUES (?, ?, ?, ?)",
                (result.decision_id, _SHELF_STATUS.get(result.status, "not_checked"),
                 result.checked_by, recorded),
            )  # fmt: skip
            dirty.add(result.decision_id)
        elif record_type == "outcome":
            _read_outcome(conn, store_id, outcome_pb2.DailyOutcome.FromString(payload), report)
    except (DecodeError, ValueError):
        report.skipped += 1  # kept in records as received; nothing to join


def _read_outcome(
    conn: sqlite3.Connection, store_id: str, message: outcome_pb2.DailyOutcome,
    report: UpdateReport,
) -> None:  # fmt: skip
    day = message.business_date
    conn.execute(
        "INSERT OR IGNORE INTO outcome_parts(store_id, date, revision, part, part_count, closed) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (store_id, day, message.revision, message.part or 1, message.part_count or 1,
         int(message.store_closed)),
    )  # fmt: skip
    # The newest revision wins per row (a late correction; never an older redelivery).
    conn.executemany(
        "INSERT INTO outcome_sku_days(store_id, sku, date, revision, listed, units_sold, "
        "returns, on_hand, receipts, waste, price, stockout_hours) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(store_id, sku, date) DO UPDATE "
        "SET revision = excluded.revision, listed = excluded.listed, "
        "units_sold = excluded.units_sold, returns = excluded.returns, "
        "on_hand = excluded.on_hand, receipts = excluded.receipts, waste = excluded.waste, "
        "price = excluded.price, stockout_hours = excluded.stockout_hours "
        "WHERE excluded.revision >= outcome_sku_days.revision",
        [(store_id, s.sku, day, max(message.revision, s.revision), int(s.listed), s.units_sold,
          s.returns, None if math.isnan(s.on_hand) else s.on_hand, s.receipts, s.waste,
          s.price, s.stockout_hours)
         for s in message.skus],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO outcome_hours(store_id, date, hour, revision, transactions) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(store_id, date, hour) DO UPDATE "
        "SET revision = excluded.revision, transactions = excluded.transactions "
        "WHERE excluded.revision >= outcome_hours.revision",
        [(store_id, day, h.hour, max(message.revision, h.revision), h.transactions)
         for h in message.hours],
    )  # fmt: skip
    report.store_days.add((store_id, day))


# -- the join of one decision --------------------------------------------------------------


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _synced(conn: sqlite3.Connection, store_id: str, first: str, last: str) -> dict[str, bool]:
    """Store-days in [first, last] with every part of one revision in: day -> closed."""
    return {
        day: bool(closed)
        for day, closed in conn.execute(
            "SELECT date, MAX(closed) FROM (SELECT date, revision, MAX(part_count) AS wanted, "
            "COUNT(*) AS have, MAX(closed) AS closed FROM outcome_parts WHERE store_id = ? "
            "AND date BETWEEN ? AND ? GROUP BY date, revision) WHERE have >= wanted "
            "GROUP BY date",
            (store_id, first, last),
        )
    }


def review_path(created_state: int, states: Sequence[int]) -> str:
    """How a decision was handled: ``overridden``, ``rejected``, ``approved`` (a person
    reviewed it), ``auto`` (the policy executed it unreviewed), or ``other`` (pending,
    expired, blocked or superseded)."""
    seen = {created_state, *states}
    for state, name in ((_S.DECISION_STATE_OVERRIDDEN, "overridden"),
                        (_S.DECISION_STATE_REJECTED, "rejected"),
                        (_S.DECISION_STATE_APPROVED, "approved"),
                        (_S.DECISION_STATE_AUTO, "auto")):  # fmt: skip
        if state in seen:
            return name
    return "other"


@dataclass(frozen=True)
class SkuDay:
    """One synced SKU-day as the join sees it."""

    units_sold: float
    #: None when the store did not know it (no stock count that day).
    on_hand: float | None
    receipts: float = 0.0
    waste: float = 0.0
    price: float = 0.0
    stockout_hours: float = 0.0


def order_outcome(
    order_date: date, lead_days: int, protection_days: int, forecast_p90: float,
    forecast_mean: float, synced: dict[date, bool], facts: dict[date, SkuDay],
) -> dict[str, Any]:  # fmt: skip
    """What followed an order (docs/OUTCOMES.md): ``synced`` maps each synced store-day of
    the protection window to whether the store was closed; ``facts`` the SKU's rows."""
    protection = _days(order_date, order_date + timedelta(days=max(protection_days, 1) - 1))
    delivery = order_date + timedelta(days=lead_days)
    coverage = [d for d in protection if d >= delivery] or [delivery]
    complete = all(d in synced for d in set(protection) | set(coverage))
    open_days = [d for d in coverage if d in synced and not synced[d]]
    sales = {d: facts[d].units_sold if d in facts else 0.0 for d in open_days}

    def out_of_stock(d: date) -> bool:
        if d not in facts:
            return False
        on_hand = facts[d].on_hand
        return (on_hand is not None and on_hand <= 0) or facts[d].stockout_hours > 0

    stocked = [d for d in protection if d in synced and not synced[d] and d in facts
               and not out_of_stock(d)]  # fmt: skip
    rate = sum(facts[d].units_sold for d in stocked) / len(stocked) if stocked else 0.0
    stockouts = [d for d in open_days if out_of_stock(d)]
    lost = {d: max(0.0, rate - sales[d]) for d in stockouts}
    counted = {d: max(v, 0.0) for d in open_days if d in facts
               and (v := facts[d].on_hand) is not None}  # fmt: skip
    end_on_hand = counted[max(counted)] if counted else 0.0
    protection_sales = sum(facts[d].units_sold for d in protection if d in synced and d in facts)
    coverage_sales = sum(sales.values())
    received = facts[delivery].receipts if delivery in facts else 0.0
    return {
        "complete": complete,
        "window_start": protection[0].isoformat(),
        "window_end": protection[-1].isoformat(),
        "days_expected": len(protection),
        "days_synced": sum(d in synced for d in protection),
        "coverage_start": coverage[0].isoformat(),
        "coverage_end": coverage[-1].isoformat(),
        "expected_delivery_date": delivery.isoformat(),
        "forecast_p90": forecast_p90,
        "forecast_mean": forecast_mean if forecast_mean > 0 else None,
        "protection_sales": protection_sales,
        "p90_covered": protection_sales <= forecast_p90,
        "coverage_days": len(open_days),
        "sales_units": coverage_sales,
        "onhand_unit_days": sum(counted.values()),
        "end_on_hand": end_on_hand,
        "stockout_days": len(stockouts),
        "lost_units": sum(lost.values()),
        "lost_value": sum(units * facts[d].price for d, units in lost.items()),
        "received_units": received if received > 0 else None,
        "waste_units": sum(facts[d].waste for d in open_days if d in facts),
        "excess_units": max(0.0, end_on_hand - coverage_sales),
        "aged_units": end_on_hand if protection_sales == 0 and end_on_hand > 0 else 0.0,
    }


def staffing_outcome(
    detail: decision_pb2.StaffingDetail, executed: bool, synced: bool, transactions: float
) -> dict[str, Any]:
    """What followed a staffing recommendation for one hour (docs/OUTCOMES.md)."""
    staffed = detail.recommended_staff if executed else detail.scheduled_staff
    needed = float(math.ceil(transactions / STAFF_TRANSACTIONS_PER_HOUR))
    return {
        "complete": synced,
        "hour": detail.hour,
        "forecast_transactions": detail.forecast_transactions,
        "transactions": transactions if synced else None,
        "staffed": staffed,
        "needed": needed if synced else None,
        "transactions_per_staff_hour": transactions / staffed if synced and staffed else None,
        "over_hours": max(0.0, staffed - needed) if synced else None,
        "under_hours": max(0.0, needed - staffed) if synced else None,
    }


def _join(conn: sqlite3.Connection, decision_id: str, now: str) -> int:
    row = conn.execute(
        "SELECT store_id, payload FROM records WHERE record_id = ? AND record_type = 'decision'",
        (decision_id,),
    ).fetchone()
    if row is None:
        return 0  # a state change or result ahead of its decision: joined when it comes
    store_id = row[0]
    try:
        d = decision_pb2.Decision.FromString(bytes(row[1]))
    except DecodeError:
        return 0
    states = [(s, at) for s, at in conn.execute(
        "SELECT state, changed_at FROM api_decision_states WHERE decision_id = ? ORDER BY seq",
        (decision_id,))] if _has_table(conn, "api_decision_states") else []  # fmt: skip
    review = review_path(int(d.state), [s for s, _ in states])
    review_seconds = None
    if review in ("approved", "rejected", "overridden") and d.HasField("recorded_at"):
        reviewed = {_S.DECISION_STATE_APPROVED, _S.DECISION_STATE_REJECTED,
                    _S.DECISION_STATE_OVERRIDDEN}  # fmt: skip
        at = next((at for s, at in states if s in reviewed and at), None)
        if at is not None:
            changed = datetime.fromisoformat(at.replace("Z", "+00:00"))
            review_seconds = (changed - d.recorded_at.ToDatetime(tzinfo=UTC)).total_seconds()
    day = date.fromisoformat(d.business_date)
    year, week, _ = day.isocalendar()
    doc: dict[str, Any] = {"decision_id": decision_id, "store_id": store_id,
                           "kind": decision_pb2.DecisionKind.Name(d.kind).removeprefix(
                               "DECISION_KIND_").lower(),
                           "sku": d.sku, "category": d.category, "model_name": d.model_name,
                           "model_version": d.model_version, "business_date": d.business_date,
                           "review": review, "review_seconds": review_seconds}  # fmt: skip
    columns: dict[str, Any] = {}
    first = last = d.business_date
    if d.kind == _ORDER and d.HasField("order"):
        o = d.order
        order_date = date.fromisoformat(o.order_date or d.business_date)
        delivery = date.fromisoformat(o.expected_delivery_date) if o.expected_delivery_date \
            else order_date  # fmt: skip
        protection = max(int(o.protection_days), 1)
        end = order_date + timedelta(days=protection - 1)
        synced = {date.fromisoformat(k): v for k, v in _synced(
            conn, store_id, order_date.isoformat(), end.isoformat()).items()}  # fmt: skip
        facts = {
            date.fromisoformat(day_text): SkuDay(*values)
            for day_text, *values in conn.execute(
                "SELECT date, units_sold, on_hand, receipts, waste, price, stockout_hours "
                "FROM outcome_sku_days WHERE store_id = ? AND sku = ? AND date BETWEEN ? AND ?",
                (store_id, d.sku, order_date.isoformat(), end.isoformat()))
        }  # fmt: skip
        out = order_outcome(order_date, (delivery - order_date).days, protection,
                            o.protection_quantile, o.forecast_mean, synced, facts)  # fmt: skip
        doc["order"] = out
        first, last = out["window_start"], out["window_end"]
        complete = out["complete"]
        columns = {
            "forecast_point": out["forecast_mean"],
            "actual_point": out["protection_sales"] if out["forecast_mean"] is not None else None,
            "forecast_p90": out["forecast_p90"], "p90_actual": out["protection_sales"],
            "coverage_days": out["coverage_days"], "sales_units": out["sales_units"],
            "onhand_unit_days": out["onhand_unit_days"], "stockout_days": out["stockout_days"],
            "lost_units": out["lost_units"], "lost_value": out["lost_value"],
            "excess_units": out["excess_units"], "aged_units": out["aged_units"],
            "waste_units": out["waste_units"],
        }  # fmt: skip
        doc.update(days_expected=out["days_expected"], days_synced=out["days_synced"])
    elif d.kind == _STAFFING and d.HasField("staffing"):
        synced = bool(_synced(conn, store_id, d.business_date, d.business_date))
        found = conn.execute(
            "SELECT transactions FROM outcome_hours WHERE store_id = ? AND date = ? AND hour = ?",
            (store_id, d.business_date, d.staffing.hour),
        ).fetchone()
        current = conn.execute("SELECT state FROM api_decisions WHERE decision_id = ?",
                               (decision_id,)).fetchone() if _has_table(
                                   conn, "api_decisions") else None  # fmt: skip
        executed = review in ("auto", "approved") and (
            current is None or int(current[0]) in _EXECUTED
        )
        out = staffing_outcome(d.staffing, executed, synced, float(found[0]) if found else 0.0)
        doc["staffing"] = out
        complete = out["complete"]
        columns = {"forecast_point": out["forecast_transactions"] if complete else None,
                   "actual_point": out["transactions"], "over_hours": out["over_hours"],
                   "under_hours": out["under_hours"]}  # fmt: skip
        doc.update(days_expected=1, days_synced=int(synced))
    elif d.kind == _SHELF:
        result = conn.execute(
            "SELECT status, checked_by, recorded_at FROM outcome_shelf_results "
            "WHERE decision_id = ?", (decision_id,)).fetchone()  # fmt: skip
        random_sample = bool(d.shelf_check.random_sample) if d.HasField("shelf_check") else False
        doc["shelf_check"] = {
            "status": result[0] if result else None,
            "checked_by": result[1] if result else "",
            "random_sample": random_sample,
            "rank": int(d.shelf_check.rank) if d.HasField("shelf_check") else 0,
        }
        complete = result is not None
        columns = {"shelf_status": result[0] if result else None,
                   "random_sample": int(random_sample)}  # fmt: skip
        doc.update(days_expected=1, days_synced=int(complete))
    else:
        complete = False
        doc.update(days_expected=0, days_synced=0)
    status = "complete" if complete else "partial"
    doc.update(status=status, window_start=first, window_end=last, updated_at=now)
    values = {
        "decision_id": decision_id, "store_id": store_id, "kind": int(d.kind),
        "category": d.category, "model_version": d.model_version,
        "week": f"{year}-W{week:02d}", "business_date": d.business_date,
        "window_start": first, "window_end": last, "status": status, "review": review,
        "review_seconds": review_seconds, **columns, "updated_at": now,
    }  # fmt: skip
    names = list(values)
    conn.execute(
        f"INSERT OR REPLACE INTO outcome_joins({', '.join(names)}) "
        f"VALUES ({', '.join('?' * len(names))})",
        [values[n] for n in names],
    )
    conn.execute("INSERT OR REPLACE INTO outcome_docs(decision_id, doc) VALUES (?, ?)",
                 (decision_id, json.dumps(doc, sort_keys=True)))  # fmt: skip
    return 1


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        is not None
    )


# -- reading the join ----------------------------------------------------------------------


def decision_outcome(conn: sqlite3.Connection, decision_id: str) -> dict[str, Any] | None:
    """The joined outcome of one decision, or None when the decision is not joined (yet)."""
    if not _has_table(conn, "outcome_docs"):
        return None
    row = conn.execute("SELECT doc FROM outcome_docs WHERE decision_id = ?",
                       (decision_id,)).fetchone()  # fmt: skip
    return None if row is None else json.loads(row[0])


#: (name, SQL aggregate) of what :func:`metrics` adds up per group; ``c`` = complete.
_SUMS = (
    ("decisions", "COUNT(*)"),
    ("joins_complete", "SUM(status = 'complete')"),
    ("joins_partial", "SUM(status = 'partial')"),
    ("forecasts", "SUM(c AND forecast_point IS NOT NULL AND actual_point IS NOT NULL)"),
    ("abs_error", "SUM(CASE WHEN c THEN ABS(forecast_point - actual_point) END)"),
    ("error", "SUM(CASE WHEN c THEN forecast_point - actual_point END)"),
    ("actual", "SUM(CASE WHEN c AND forecast_point IS NOT NULL THEN actual_point END)"),
    ("p90_forecasts", "SUM(c AND forecast_p90 IS NOT NULL)"),
    ("p90_covered", "SUM(c AND p90_actual <= forecast_p90)"),
    ("order_windows", "SUM(c AND kind = 1)"),
    ("sku_days", "SUM(CASE WHEN c THEN coverage_days END)"),
    ("stockout_days", "SUM(CASE WHEN c THEN stockout_days END)"),
    ("lost_units", "SUM(CASE WHEN c THEN lost_units END)"),
    ("lost_value", "SUM(CASE WHEN c THEN lost_value END)"),
    ("sales_units", "SUM(CASE WHEN c THEN sales_units END)"),
    ("onhand_unit_days", "SUM(CASE WHEN c THEN onhand_unit_days END)"),
    ("excess_units", "SUM(CASE WHEN c THEN excess_units END)"),
    ("aged_units", "SUM(CASE WHEN c THEN aged_units END)"),
    ("staffing_hours", "SUM(c AND kind = 2)"),
    ("over_hours", "SUM(CASE WHEN c THEN over_hours END)"),
    ("under_hours", "SUM(CASE WHEN c THEN under_hours END)"),
    ("checks_ranked", "SUM(shelf_status IN ('found', 'missing') AND NOT random_sample)"),
    ("missing_ranked", "SUM(shelf_status = 'missing' AND NOT random_sample)"),
    ("checks_random", "SUM(shelf_status IN ('found', 'missing') AND random_sample)"),
    ("missing_random", "SUM(shelf_status = 'missing' AND random_sample)"),
    ("not_checked", "SUM(shelf_status = 'not_checked')"),
    ("auto", "SUM(review = 'auto')"),
    ("approved", "SUM(review = 'approved')"),
    ("rejected", "SUM(review = 'rejected')"),
    ("overridden", "SUM(review = 'overridden')"),
    ("other", "SUM(review = 'other')"),
    ("reviewed", "COUNT(review_seconds)"),
    ("review_seconds_mean", "AVG(review_seconds)"),
    ("review_seconds_max", "MAX(review_seconds)"),
    # Last: a metrics table made before it has it appended (_sum_groups inserts by position).
    ("waste_units", "SUM(CASE WHEN c THEN waste_units END)"),
)
_KEYS = ("week", "store_id", "category", "model_version")
_KEY_COLUMNS = ", ".join(f"{k} TEXT NOT NULL" for k in _KEYS)
_METRICS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS outcome_metrics ({_KEY_COLUMNS}, "
    f"{', '.join(name for name, _ in _SUMS)}, PRIMARY KEY ({', '.join(_KEYS)})) WITHOUT ROWID"
)
_DIRTY_GROUPS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS outcome_dirty_groups ({_KEY_COLUMNS}, "
    f"PRIMARY KEY ({', '.join(_KEYS)})) WITHOUT ROWID"
)
#: The columns the sums read (never ``doc``: the JSON would be read for every row).
_COLUMNS = ", ".join((*_KEYS, "kind", "status", "review", "review_seconds", "forecast_point",
                      "actual_point", "forecast_p90", "p90_actual", "coverage_days",
                      "sales_units", "onhand_unit_days", "stockout_days", "lost_units",
                      "lost_value", "excess_units", "aged_units", "over_hours", "under_hours",
                      "shelf_status", "random_sample", "waste_units"))  # fmt: skip


def _ratio(top: float | None, bottom: float | None, scale: float = 1.0) -> float | None:
    return None if not bottom else scale * (top or 0.0) / bottom


def _finish(sums: dict[str, Any]) -> dict[str, Any]:
    """Ratios from the sums (None when the denominator is empty: no data, not zero)."""
    s = {k: (v if v is not None else 0) for k, v in sums.items()
         if not k.startswith("review_seconds")}  # fmt: skip
    out = dict(sums)
    out.update({k: s[k] for k in s})
    out.update(
        wape=_ratio(s["abs_error"], s["actual"]) if s["forecasts"] else None,
        bias=_ratio(s["error"], s["actual"]) if s["forecasts"] else None,
        p90_coverage=_ratio(s["p90_covered"], s["p90_forecasts"]),
        stockout_rate=_ratio(s["stockout_days"], s["sku_days"]),
        inventory_turns=_ratio(s["sales_units"], s["onhand_unit_days"], 365.0),
        days_of_supply=_ratio(s["onhand_unit_days"], s["sales_units"]),
        hit_rate_ranked=_ratio(s["missing_ranked"], s["checks_ranked"]),
        hit_rate_random=_ratio(s["missing_random"], s["checks_random"]),
    )
    for name in ("auto", "approved", "rejected", "overridden", "other"):
        out[f"share_{name}"] = _ratio(s[name], s["decisions"])
    return out


def combine(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Metric rows (from :func:`metrics`) added up into one: the sums summed and the ratios
    worked out again from them, as for one row (e.g. a category over every week and
    store); ``rows`` counts the rows it came from."""
    rows = list(rows)
    sums: dict[str, Any] = {name: sum(r[name] or 0 for r in rows) for name, _ in _SUMS}
    reviewed = sum(r["reviewed"] or 0 for r in rows)
    sums["review_seconds_mean"] = (
        sum((r["review_seconds_mean"] or 0) * (r["reviewed"] or 0) for r in rows) / reviewed
        if reviewed else None
    )  # fmt: skip
    longest = [r["review_seconds_max"] for r in rows if r["review_seconds_max"] is not None]
    sums["review_seconds_max"] = max(longest) if longest else None
    return {**_finish(sums), "rows": len(rows)}


def metrics(
    conn: sqlite3.Connection, *, store_id: str = "", category: str | None = None,
    model_version: str = "", week_from: str = "", week_to: str = "",
    after: tuple[str, str, str, str] | None = None, limit: int = 1000,
) -> list[dict[str, Any]]:  # fmt: skip
    """Metric rows per (ISO week, store, category, model version), in that order, filtered
    (weeks as ``2026-W27``; ``category=""`` is the store-level group, e.g. staffing)."""
    for name, value in (("week_from", week_from), ("week_to", week_to)):
        if value and not is_week(value):
            raise HubStorageError(f"{name}: {value!r} is not an ISO week like 2026-W27",
                                  hint="weeks are YYYY-Www, e.g. 2026-W27")  # fmt: skip
    if not _has_table(conn, "outcome_metrics"):
        return []
    where, params = [], []
    for clause, value, given in (
        ("store_id = ?", store_id, bool(store_id)),
        ("category = ?", category, category is not None),
        ("model_version = ?", model_version, bool(model_version)),
        ("week >= ?", week_from, bool(week_from)),
        ("week <= ?", week_to, bool(week_to)),
        ("(week, store_id, category, model_version) > (?, ?, ?, ?)", after, after is not None),
    ):
        if given:
            where.append(clause)
            params.extend(value if isinstance(value, tuple) else [value])
    names = [*_KEYS, *(n for n, _ in _SUMS)]
    # A table an earlier release made lacks the added columns until the join next sums.
    have = _columns(conn, "outcome_metrics")
    columns = [n if n in have else f"NULL AS {n}" for n in names]
    rows = conn.execute(
        f"SELECT {', '.join(columns)} FROM outcome_metrics WHERE {' AND '.join(where) or '1'} "
        f"ORDER BY {', '.join(_KEYS)} LIMIT ?",
        (*params, limit),
    )
    return [_finish(dict(zip(names, row, strict=True))) for row in rows]


def _mark_groups(conn: sqlite3.Connection, decision_ids: Sequence[str]) -> None:
    """Note the metric groups of these decisions to add up again (``outcome_dirty_groups``)."""
    conn.execute(_DIRTY_GROUPS_TABLE)
    for start in range(0, len(decision_ids), 500):
        chunk = list(decision_ids[start : start + 500])
        conn.execute(
            f"INSERT OR IGNORE INTO outcome_dirty_groups SELECT DISTINCT {', '.join(_KEYS)} "
            f"FROM outcome_joins WHERE decision_id IN ({','.join('?' * len(chunk))})",
            chunk,
        )


def _sum_groups(conn: sqlite3.Connection, limit: int) -> int:
    """Add up again up to ``limit`` noted groups (``outcome_metrics``) from their rows in
    ``outcome_joins``, in the caller's transaction, so that reading metrics is one indexed
    read whatever the number of decisions; returns how many."""
    conn.execute(_METRICS_TABLE)
    _add_columns(conn, "outcome_metrics", _ADDED_COLUMNS)
    conn.execute(_DIRTY_GROUPS_TABLE)
    groups = conn.execute("SELECT * FROM outcome_dirty_groups LIMIT ?", (limit,)).fetchall()
    sums = ", ".join(f"{sql} AS {name}" for name, sql in _SUMS)
    match = " AND ".join(f"{k} = ?" for k in _KEYS)
    for group in groups:
        conn.execute(f"DELETE FROM outcome_dirty_groups WHERE {match}", group)
        conn.execute(f"DELETE FROM outcome_metrics WHERE {match}", group)
        conn.execute(
            f"INSERT INTO outcome_metrics SELECT {', '.join(_KEYS)}, {sums} FROM (SELECT "
            f"{_COLUMNS}, status = 'complete' AS c FROM outcome_joins WHERE {match}) "
            f"GROUP BY {', '.join(_KEYS)}",
            group,
        )
    return len(groups)


def is_week(text: str) -> bool:
    try:
        datetime.strptime(text + "-1", "%G-W%V-%u")
    except ValueError:
        return False
    return len(text) == 8
