"""The packed sales windows give exactly the panel the daily rows give, whatever wrote
the rows: corrections, late rows, exports overriding lines, plain SQL, a migration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge_agent.clock import FixedClock
from edge_agent.mirror import Ingestor, hours, open_mirror
from edge_agent.mirror import windows as W
from edge_agent.mirror.db import Mirror
from edge_agent.mirror.panels import daily_panel, daily_panel_from_rows, latest_on_hand
from edge_agent.mirror.schema import MIGRATIONS, SCHEMA_VERSION
from edge_agent.simulation import run_simulation

END = date(2026, 3, 1)
CLOCK = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _same_panels(mirror: Mirror, start: date, end: date) -> None:
    assert W.covers(mirror, start), "the windows should cover this range"
    packed, rows = daily_panel(mirror, start, end), daily_panel_from_rows(mirror, start, end)
    assert packed.skus == rows.skus
    for name in ("sales", "price", "promo", "closed", "holiday", "event", "category"):
        np.testing.assert_array_equal(getattr(packed, name), getattr(rows, name), err_msg=name)


def _on_hand_from_rows(mirror: Mirror, since: date, before: date) -> dict[str, float]:
    return dict(mirror.conn.execute(
        "SELECT sku, on_hand FROM (SELECT sku, on_hand, ROW_NUMBER() OVER (PARTITION BY sku "
        "ORDER BY date DESC) AS newest FROM daily_sales WHERE on_hand IS NOT NULL "
        "AND date < ? AND date >= ?) WHERE newest = 1",
        (before.isoformat(), since.isoformat())).fetchall())  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Mirror:
    mirror = open_mirror(tmp_path / "store.db", clock=FixedClock(CLOCK))
    run_simulation(mirror, store_id="S001", skus=60, days=120, seed=4, end_date=END)
    yield mirror
    mirror.close()


def _skus(mirror: Mirror, n: int) -> list[str]:
    return [r[0] for r in mirror.conn.execute(
        "SELECT DISTINCT sku FROM daily_sales ORDER BY sku LIMIT ?", (n,))]  # fmt: skip


def test_simulated_store_panel_and_on_hand_match_the_rows(store: Mirror):
    assert store.conn.execute("SELECT COUNT(*) FROM sales_window_changes").fetchone()[0] == 0
    assert store.conn.execute("SELECT COUNT(*) FROM sales_blocks").fetchone()[0] > 0
    _same_panels(store, END - timedelta(days=100), END + timedelta(days=28))
    since, before = END - timedelta(days=20), END + timedelta(days=1)
    packed = latest_on_hand(store, since, before)
    assert packed and packed == _on_hand_from_rows(store, since, before)


def test_corrections_late_rows_and_exports_over_lines_stay_identical(store: Mirror, tmp_path: Path):
    a, b, c = _skus(store, 3)
    day, late = END.isoformat(), (END - timedelta(days=70)).isoformat()
    ingest = Ingestor(store)
    # Sales lines for today (added to the day's totals, twice), a late line 70 days back.
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "line_id,timestamp,sku,qty,unit_price,basket_id,line_type\n"
        f"L1,{day}T10:00:00-05:00,{a},2,1.50,B1,sale\n"
        f"L2,{day}T11:00:00-05:00,{b},1,,B2,sale\n"
        f"L3,{late}T11:00:00-05:00,{c},4,2.25,B3,sale\n"
    )
    more = tmp_path / "more.csv"
    more.write_text(
        "line_id,timestamp,sku,qty,unit_price,basket_id,line_type\n"
        f"L4,{day}T12:00:00-05:00,{a},3,1.10,B4,sale\n"
    )
    # A daily export that corrects earlier totals and overrides today's lines for b.
    export = tmp_path / "daily.csv"
    export.write_text(
        "store_id,sku,date,units,price,promo,on_hand\n"
        f"S001,{a},{late},17,0.75,1,40\n"
        f"S001,{b},{day},9,,0,\n"
        f"S001,{c},{(END - timedelta(days=3)).isoformat()},0,2.5,0,11.25\n"
    )
    for path in (lines, more, export):
        report = ingest.ingest_file(path)
        assert report.rows_loaded > 0 and report.rows_quarantined == 0, report.as_dict()
        _same_panels(store, END - timedelta(days=100), END + timedelta(days=10))
    # The same export again with a correction: last write wins, in the windows too.
    export.write_text(export.read_text().replace(",17,0.75,1,40", ",5,0.80,0,39"))
    ingest.ingest_file(export)
    _same_panels(store, END - timedelta(days=100), END + timedelta(days=10))
    since, before = END - timedelta(days=20), END + timedelta(days=1)
    assert latest_on_hand(store, since, before) == _on_hand_from_rows(store, since, before)


def test_plain_sql_writes_and_deletes_are_caught_up_before_a_read(store: Mirror):
    # What a release without windows code does: write daily_sales, never fold.
    a, b = _skus(store, 2)
    with store.transaction():
        store.conn.execute(
            "UPDATE daily_sales SET units = units + 5, price = 9.5, promo = 1 WHERE sku = ?", (a,)
        )
        store.conn.execute("DELETE FROM daily_sales WHERE sku = ? AND date >= ?",
                           (b, (END - timedelta(days=10)).isoformat()))  # fmt: skip
    assert store.conn.execute("SELECT COUNT(*) FROM sales_window_changes").fetchone()[0] > 0
    _same_panels(store, END - timedelta(days=100), END)


def test_days_before_the_horizon_are_read_from_the_rows(store: Mirror):
    # A mirror whose newest day is far ahead keeps only KEEP_DAYS of blocks.
    a = _skus(store, 1)[0]
    far = END + timedelta(days=W.KEEP_DAYS + 40)
    with store.transaction():
        store.conn.execute(
            "INSERT INTO daily_sales(sku, date, units, source) VALUES (?, ?, 3, 'export')",
            (a, far.isoformat()),
        )
    start = END - timedelta(days=100)
    assert not W.covers(store, start)
    assert W.covers(store, far - timedelta(days=W.KEEP_DAYS))
    panel = daily_panel(store, start, END)  # falls back to the rows
    rows = daily_panel_from_rows(store, start, END)
    np.testing.assert_array_equal(panel.sales, rows.sales)
    _same_panels(store, far - timedelta(days=W.KEEP_DAYS), far)


def test_blocks_of_another_size_are_rebuilt(store: Mirror):
    with store.transaction():
        store.conn.execute("UPDATE sales_window_state SET block_days = 7")
        store.conn.execute("UPDATE sales_blocks SET data = zeroblob(length(data))")
    _same_panels(store, END - timedelta(days=100), END)
    assert store.conn.execute("SELECT block_days FROM sales_window_state").fetchone()[0] == (
        W.BLOCK_DAYS
    )


def test_blocks_over_a_shorter_span_are_rebuilt(store: Mirror):
    # A release that kept fewer days (450 before the daily model's two-year scale) left
    # its blocks complete from a later day: this one rebuilds them over KEEP_DAYS.
    later = (END - timedelta(days=30)).isoformat()
    with store.transaction():
        store.conn.execute("UPDATE sales_window_state SET covered_from = ?", (later,))
        store.conn.execute("UPDATE sales_blocks SET data = zeroblob(length(data))")
    _same_panels(store, END - timedelta(days=100), END)
    covered = store.conn.execute("SELECT covered_from FROM sales_window_state").fetchone()[0]
    assert covered < (END - timedelta(days=100)).isoformat()


def test_migrating_an_existing_mirror_builds_the_windows(tmp_path: Path):
    path = tmp_path / "old.db"
    made = open_mirror(path, clock=FixedClock(CLOCK))
    run_simulation(made, store_id="S001", skus=40, days=90, seed=2, end_date=END)
    # Back to the file a schema-3 release leaves: its rows, no windows.
    with made.transaction():
        for name in ("daily_sales_windows_insert", "daily_sales_windows_update",
                     "daily_sales_windows_delete"):  # fmt: skip
            made.conn.execute(f"DROP TRIGGER {name}")
        for name in ("sales_blocks", "on_hand_blocks", "sales_window_changes",
                     "sales_window_state", "sku_hour_blocks", "sku_hour_state"):  # fmt: skip
            made.conn.execute(f"DROP TABLE {name}")
        made.conn.execute("DELETE FROM schema_migrations WHERE version >= 4")
    made.close()
    old = open_mirror(path, clock=FixedClock(CLOCK), migrations=MIGRATIONS[:3])
    assert old.schema_version() == 3
    old.close()
    mirror = open_mirror(path, clock=FixedClock(CLOCK))
    try:
        assert mirror.schema_version() == SCHEMA_VERSION
        assert mirror.conn.execute("SELECT COUNT(*) FROM sales_blocks").fetchone()[0] > 0
        # Schema 5 builds the hourly blocks from the lines already in the file.
        lines = mirror.conn.execute(
            "SELECT business_date, local_hour, SUM(qty) FROM sales_lines WHERE sku = "
            "(SELECT MIN(sku) FROM sales_lines) GROUP BY business_date, local_hour"
        ).fetchall()
        assert lines
        sku = mirror.conn.execute("SELECT MIN(sku) FROM sales_lines").fetchone()[0]
        first = date.fromisoformat(min(day for day, _, _ in lines))
        hourly = hours.hourly_sales(mirror, first, (END - first).days + 1, {sku: 0})[0]
        for day, hour, qty in lines:
            assert hourly[(date.fromisoformat(day) - first).days * 24 + hour] == pytest.approx(qty)
        assert hourly.sum() == pytest.approx(sum(q for _, _, q in lines))
        _same_panels(mirror, END - timedelta(days=89), END + timedelta(days=28))
    finally:
        mirror.close()


def test_coming_promotion_days_carry_the_announced_price_in_every_path(store: Mirror):
    from edge_agent.mirror.panels import store_days
    from models.panels import panel_from_days

    start, end = END - timedelta(days=30), END + timedelta(days=28)
    sku, regular = store.conn.execute(
        "SELECT sku, price FROM products WHERE status = 'active' AND price > 0 "
        "AND sku NOT IN (SELECT sku FROM promotions) ORDER BY sku LIMIT 1").fetchone()  # fmt: skip
    day, own = store.conn.execute(
        "SELECT date, price FROM daily_sales WHERE sku = ? AND price IS NOT NULL AND date < ? "
        "ORDER BY date DESC LIMIT 1", (sku, END.isoformat())).fetchone()  # fmt: skip
    at = {d: (d - start).days for d in (END + timedelta(days=k) for k in range(1, 29))}
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO promotions (promo_id, sku, start_date, end_date, promo_price, "
            "discount_pct, kind) VALUES (?, ?, ?, ?, ?, ?, 'tpr')",
            [("P1", sku, str(END + timedelta(days=3)), str(END + timedelta(days=9)), 1.23, None),
             ("P2", sku, str(END + timedelta(days=12)), str(END + timedelta(days=15)), None, 20.0),
             ("P3", sku, str(END + timedelta(days=14)), str(END + timedelta(days=20)), 0.99, None),
             ("P4", sku, day, day, 0.01, None),  # a sold day: its row's own price wins
             # P5 announces no price: P1's holds on its days
             ("P5", sku, str(END + timedelta(days=5)), str(END + timedelta(days=6)), None, None)],
        )  # fmt: skip
    panel = daily_panel(store, start, end)
    row = panel.price[panel.skus.index(sku)]
    expected = {1: regular, 3: 1.23, 5: 1.23, 9: 1.23, 10: regular, 12: regular * 0.8,
                13: regular * 0.8, 14: 0.99, 20: 0.99, 21: regular}  # fmt: skip
    for k, price in expected.items():
        assert row[at[END + timedelta(days=k)]] == np.float32(price), k
    assert row[(date.fromisoformat(day) - start).days] == np.float32(own)
    assert panel.promo[panel.skus.index(sku), at[END + timedelta(days=12)]] == 1.0
    # The packed windows, the daily rows and the store-days the hub receives agree.
    _same_panels(store, start, end)
    synced = panel_from_days(list(store_days(store, start, end)))
    np.testing.assert_array_equal(synced.price[synced.skus.index(sku)], row)
