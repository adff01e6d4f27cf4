"""Sales lines roll up into daily totals, then go; a late line for a pruned day is refused."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from edge_agent import audit
from edge_agent.mirror import Ingestor, Mirror
from edge_agent.mirror.retention import lines_horizon, prune_sales_lines
from tests.conftest import write

HEADER = "line_id,timestamp,sku,qty,unit_price,basket_id,line_type\n"
FIRST = date(2026, 1, 5)


def _lines(days: int) -> str:
    rows = []
    for d in range(days):
        day = FIRST + timedelta(days=d)
        for n in range(3):
            rows.append(f"L{d}-{n},{day.isoformat()}T10:0{n}:00+01:00,SKU1,2,0.99,B{d}-{n},sale")
    return HEADER + "\n".join(rows) + "\n"


def _totals(mirror: Mirror) -> list[tuple]:
    return (
        mirror.conn.execute(
            "SELECT sku, date, units FROM daily_sales ORDER BY date, sku"
        ).fetchall()
        + mirror.conn.execute(
            "SELECT date, hour, transactions FROM store_hourly ORDER BY date, hour"
        ).fetchall()
    )


def test_pruning_keeps_the_totals_and_refuses_late_lines(mirror: Mirror, tmp_path: Path):
    Ingestor(mirror).ingest_file(write(tmp_path, "lines.csv", _lines(40)))
    totals = _totals(mirror)
    report = prune_sales_lines(mirror, keep_days=10)
    newest = FIRST + timedelta(days=39)
    assert report.before == (newest - timedelta(days=10)).isoformat()
    # The newest day and the 10 before it keep their lines; the 29 days before go.
    assert report.rows == 3 * 29
    kept = mirror.conn.execute("SELECT MIN(business_date), COUNT(*) FROM sales_lines").fetchone()
    assert kept == (report.before, 3 * 11)
    assert _totals(mirror) == totals  # the roll-ups stay exactly as they were
    assert lines_horizon(mirror) == report.before
    # The deletion is audited, and the chain still verifies.
    last = list(audit.iter_records(mirror))[-1][1]
    assert audit.event_name(last.event_type) == "DATA_PRUNED"
    assert last.attributes["rows"] == "87"
    assert audit.verify(mirror).ok
    # An old line sent again (a new file) would be counted twice: it is refused, loudly.
    late = HEADER + f"L0-0,{FIRST.isoformat()}T10:00:00+01:00,SKU1,2,0.99,B0-0,sale\n"
    late += f"NEW-1,{newest.isoformat()}T18:00:00+01:00,SKU1,1,0.99,BN-1,sale\n"
    result = Ingestor(mirror).ingest_file(write(tmp_path, "late.csv", late))
    assert result.quarantined == {"beyond_retention": 1}
    assert result.rows_loaded == 1
    units = mirror.conn.execute(
        "SELECT units FROM daily_sales WHERE date = ?", (FIRST.isoformat(),)
    ).fetchone()[0]
    assert units == 6  # unchanged
    # Pruning again with the same horizon does nothing.
    assert prune_sales_lines(mirror, keep_days=10).rows == 0
