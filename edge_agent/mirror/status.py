"""A summary of what the mirror holds, for `edge-agent status`."""

from __future__ import annotations

from typing import Any

from edge_agent import audit
from edge_agent.mirror.db import Mirror

__all__ = ["mirror_status"]

# (table, the date column that says what the data covers)
_COVERAGE = (
    ("sales_lines", "business_date"),
    ("daily_sales", "date"),
    ("store_hourly", "date"),
    ("inventory_snapshots", "business_date"),
    ("stock_adjustments", "business_date"),
    ("deliveries", "business_date"),
    ("open_orders", "expected_date"),
    ("labor_schedule", "date"),
    ("promotions", "start_date"),
    ("store_calendar", "date"),
    ("products", "effective_from"),
)


def mirror_status(mirror: Mirror) -> dict[str, Any]:
    store = mirror.require_store()
    conn = mirror.conn
    coverage = {}
    for table, column in _COVERAGE:
        rows, first, last = conn.execute(
            f"SELECT COUNT(*), MIN({column}), MAX({column}) FROM {table}"
        ).fetchone()
        coverage[table] = {"rows": rows, "first": first, "last": last}
    coverage["products"]["skus"] = conn.execute(
        "SELECT COUNT(DISTINCT sku) FROM products"
    ).fetchone()[0]
    open_by_reason = dict(
        conn.execute(
            "SELECT reason, COUNT(*) FROM quarantine WHERE released_at IS NULL "
            "GROUP BY reason ORDER BY reason"
        ).fetchall()
    )
    released = conn.execute(
        "SELECT COUNT(*) FROM quarantine WHERE released_at IS NOT NULL"
    ).fetchone()[0]
    length, head = audit.chain_head(mirror)
    by_kind: dict[str, dict[str, int]] = {}
    for kind, state, count in conn.execute(
        "SELECT kind, state, COUNT(*) FROM decisions GROUP BY kind, state ORDER BY kind, state"
    ):
        by_kind.setdefault(kind, {})[state] = count
    last_cycle = conn.execute(
        "SELECT business_date, COUNT(*), MAX(created_at) FROM decisions "
        "WHERE business_date = (SELECT MAX(business_date) FROM decisions)"
    ).fetchone()
    outbox = conn.execute("SELECT COUNT(*), SUM(acked_at IS NULL) FROM outbox").fetchone()
    files = conn.execute("SELECT COUNT(*), MAX(ingested_at) FROM ingest_files").fetchone()
    return {
        "store": store.store_id,
        "time_zone": store.time_zone,
        "schema_version": mirror.schema_version(),
        "business_date": mirror.today().isoformat(),
        "coverage": coverage,
        "quarantine": {
            "open": sum(open_by_reason.values()),
            "released": released,
            "open_by_reason": open_by_reason,
        },
        "ingest": {"files": files[0], "last_ingest_at": files[1]},
        "chain_length": length,
        "chain_head": head.hex(),
        "decisions": by_kind,
        "last_cycle": None
        if last_cycle[0] is None
        else {"as_of": last_cycle[0], "decisions": last_cycle[1], "at": last_cycle[2]},
        "outbox": {"rows": outbox[0], "pending": outbox[1] or 0},
    }
