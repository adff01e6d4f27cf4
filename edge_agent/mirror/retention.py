"""Retention of POS detail: sales lines roll up into daily totals, then go.

Sales lines are the bulkiest thing a store keeps (a year of a large store is
tens of millions of rows) and nothing reads them once their day is rolled up:
the cycle reads daily totals and hourly transactions, the hub gets daily
outcomes. So lines older than ``keep_days`` before the newest business day are
deleted, in one audited transaction (``DATA_PRUNED``), and the space is given
back to the file system. The day before which lines were pruned is kept as the
*horizon*: a line for such a day arriving later is quarantined
(``beyond_retention``), never added to a total it may already be part of.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from edge_agent.mirror.db import Mirror

__all__ = ["PruneReport", "lines_horizon", "prune_sales_lines"]

_HORIZON_KEY = "sales_lines.pruned_before"


@dataclass(frozen=True)
class PruneReport:
    before: str | None
    rows: int


def lines_horizon(mirror: Mirror) -> str | None:
    """The first business day whose sales lines are still kept (None: nothing pruned)."""
    row = mirror.conn.execute(
        "SELECT value FROM sync_state WHERE key = ?", (_HORIZON_KEY,)
    ).fetchone()
    return None if row is None else str(row[0])


def prune_sales_lines(mirror: Mirror, *, keep_days: int) -> PruneReport:
    """Delete sales lines of business days more than ``keep_days`` before the newest one."""
    from edge_agent import audit  # audit builds on the mirror package
    from storeedge.v1 import audit_pb2

    newest = mirror.conn.execute("SELECT MAX(business_date) FROM sales_lines").fetchone()[0]
    if newest is None:
        return PruneReport(lines_horizon(mirror), 0)
    before = (date.fromisoformat(newest) - timedelta(days=keep_days)).isoformat()
    current = lines_horizon(mirror)
    if current is not None and current >= before:
        return PruneReport(current, 0)
    with mirror.transaction() as conn:
        rows = conn.execute("DELETE FROM sales_lines WHERE business_date < ?", (before,)).rowcount
        conn.execute(
            "INSERT INTO sync_state(key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (_HORIZON_KEY, before, mirror.clock.now().isoformat()),
        )
        audit.append(
            mirror,
            audit_pb2.AUDIT_EVENT_TYPE_DATA_PRUNED,
            subject_id="sales_lines",
            summary=f"{rows} sales lines before {before} pruned after their roll-up "
            f"(kept: {keep_days} days)",
            attributes={"table": "sales_lines", "before": before, "rows": str(rows)},
        )
    mirror.conn.execute("PRAGMA incremental_vacuum")  # give the pages back to the disk
    return PruneReport(before, rows)
