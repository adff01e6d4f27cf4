"""The outcome join on real data flow: a simulated store runs decision cycles on days of
its history, people approve, reject and complete shelf checks, the store's outcomes and
records drain over a real nats-server into a real `cloud-hub serve`, which joins them.

What the join says about an order is recomputed here from the store's own mirror
(`daily_sales`, the store calendar, the decision's own detail), and the metrics from
the joined rows, so neither side can agree with the other by copying it.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from datetime import UTC, date, datetime, timedelta

import nats
import pytest

from edge_agent import decisions, executor, outcomes, sync
from edge_agent.clock import FixedClock
from edge_agent.cycle import load_models, run_cycle
from edge_agent.mirror import open_mirror
from edge_agent.policy import KindPolicy, Policy
from edge_agent.simulation import run_simulation
from models import BOOTSTRAP_DIR
from tests.helpers import SIM_END, cli, hub_rows, start, wait_until

pytestmark = pytest.mark.slow

#: Cycles on three days well inside the history, so every order's window is in it too.
CYCLE_DAYS = [SIM_END - timedelta(days=n) for n in (16, 15, 14)]


def _simulate_and_decide(path):
    # The history is written as of the day after it ends (ingest refuses sales from the
    # future), then the clock goes back to each cycle's morning.
    clock = FixedClock(datetime(2026, 6, 29, 11, tzinfo=UTC))
    mirror = open_mirror(path, clock=clock)
    run_simulation(mirror, store_id="S001", skus=40, days=70, seed=11, end_date=SIM_END)
    models = load_models(BOOTSTRAP_DIR)
    people = {"approved": 0, "rejected": 0, "found": 0, "missing": 0}
    for day in CYCLE_DAYS:
        clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
        # Staffing waits for a person, who answers half an hour later.
        run_cycle(mirror, models, Policy(staffing=KindPolicy(auto_min_confidence=1.0)), day)
        clock.instant += timedelta(minutes=30)
        pending = [r[0] for r in mirror.conn.execute(
            "SELECT decision_id FROM decisions WHERE state = 'pending' AND business_date = ? "
            "ORDER BY seq", (day.isoformat(),))]  # fmt: skip
        for i, decision_id in enumerate(pending[:4]):
            action = "approved" if i % 2 == 0 else "rejected"
            decisions.transition(mirror, decision_id, action, actor="ana", reason="test")
            people[action] += 1
        checks = [r[0] for r in mirror.conn.execute(
            "SELECT decision_id FROM decisions WHERE kind = 'shelf_check' AND business_date = ? "
            "AND state IN ('auto', 'approved') ORDER BY seq", (day.isoformat(),))]  # fmt: skip
        for i, decision_id in enumerate(checks[:4]):
            found = i % 2 == 0
            executor.complete_shelf_check(mirror, decision_id, found=found, by="kim")
            people["found" if found else "missing"] += 1
    clock.instant = datetime(SIM_END.year, SIM_END.month, SIM_END.day, 23, tzinfo=UTC)
    while outcomes.emit_due(mirror).days:
        pass
    return mirror, people


def _expected_order(mirror, decision_id: str) -> dict:
    """An order's outcome from the mirror's own tables (docs/OUTCOMES.md)."""
    detail = decisions.stored_message(mirror, decision_id)
    order = detail.order
    first = date.fromisoformat(order.order_date)
    last = first + timedelta(days=order.protection_days - 1)
    delivery = date.fromisoformat(order.expected_delivery_date)
    closed = {r[0] for r in mirror.conn.execute(
        "SELECT date FROM store_calendar WHERE status = 'closed'")}  # fmt: skip
    rows = {
        day: (units, on_hand)
        for day, units, on_hand in mirror.conn.execute(
            "SELECT date, units, on_hand FROM daily_sales WHERE sku = ? AND date BETWEEN ? AND ?",
            (detail.sku, first.isoformat(), last.isoformat()),
        )
    }
    coverage = [(first + timedelta(days=i)).isoformat()
                for i in range((last - first).days + 1)
                if first + timedelta(days=i) >= delivery]  # fmt: skip
    open_days = [d for d in coverage if d not in closed]
    counted = [rows[d][1] for d in open_days if d in rows and rows[d][1] is not None]
    received = mirror.conn.execute(
        "SELECT SUM(qty) FROM deliveries WHERE sku = ? AND business_date = ?",
        (detail.sku, delivery.isoformat()),
    ).fetchone()[0]
    marks = ", ".join("?" * len(open_days))
    written_off = mirror.conn.execute(
        f"SELECT -SUM(qty) FROM stock_adjustments WHERE sku = ? AND business_date IN ({marks}) "
        "AND reason IN ('waste', 'damage')",
        (detail.sku, *open_days),
    ).fetchone()[0]
    return {
        "protection_sales": sum(u for u, _ in rows.values()),
        "sales_units": sum(rows[d][0] for d in open_days if d in rows),
        "coverage_days": len(open_days),
        "stockout_days": sum(
            1 for d in open_days if d in rows and rows[d][1] is not None and rows[d][1] <= 0
        ),
        "onhand_unit_days": sum(max(v, 0.0) for v in counted),
        "end_on_hand": max(counted[-1], 0.0) if counted else 0.0,
        "p90_covered": sum(u for u, _ in rows.values()) <= order.protection_quantile,
        "received_units": received or None,
        "waste_units": written_off or 0.0,
        "forecast_mean": order.forecast_mean,
    }


async def test_orders_staffing_and_shelf_checks_join_to_what_followed(nats_server, tmp_path):
    mirror, people = _simulate_and_decide(tmp_path / "s1.db")
    assert min(people.values()) > 0, people
    hub_db = tmp_path / "hub.db"
    log = tmp_path / "hub.log"
    hub = start(log, "cloud-hub", "serve", "--db", str(hub_db), "--nats", nats_server.url,
                "--insecure")  # fmt: skip
    try:
        await wait_until(lambda: "hub ingesting" in log.read_text(), what="the hub")
        nc = await nats.connect(nats_server.url)
        try:
            await sync.drain(mirror, nc.jetstream(), batch_size=500)
        finally:
            await nc.close()
        committed = {k: v["committed"] for k, v in sync.sync_status(mirror).items()}
        total = mirror.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]

        def joined() -> bool:
            if sum(hub_rows(hub_db).values()) < sum(committed.values()):
                return False
            conn = sqlite3.connect(hub_db, timeout=30)
            try:
                queued = conn.execute(
                    "SELECT (SELECT COUNT(*) FROM outcome_queue) + "
                    "(SELECT COUNT(*) FROM outcome_dirty) + "
                    "(SELECT COUNT(*) FROM outcome_dirty_groups)"
                ).fetchone()[0]
                rows = conn.execute("SELECT COUNT(*) FROM outcome_joins").fetchone()[0]
            except sqlite3.OperationalError:
                return False
            finally:
                conn.close()
            return queued == 0 and rows == total

        await wait_until(joined, what="the hub joining every decision", timeout_s=60)
    finally:
        hub.send_signal(signal.SIGTERM)
        assert hub.wait(30) == 0, log.read_text()[-2000:]

    # Orders: every window lies inside the synced history, so each join is complete and
    # matches what the store's own tables say.
    orders = [r[0] for r in mirror.conn.execute(
        "SELECT decision_id FROM decisions WHERE kind = 'order' ORDER BY seq")]  # fmt: skip
    assert len(orders) >= 10
    stockouts, received = 0, 0
    for decision_id in orders:
        shown = cli("cloud-hub", "outcomes", "show", decision_id, "--db", str(hub_db), "--json")
        assert shown.returncode == 0, shown.stderr
        doc = json.loads(shown.stdout)
        assert doc["status"] == "complete" and doc["days_synced"] == doc["days_expected"], doc
        expected = _expected_order(mirror, decision_id)
        got = {k: doc["order"][k] for k in expected}
        assert got == pytest.approx(expected), decision_id
        stockouts += expected["stockout_days"]
        received += expected["received_units"] is not None
        assert expected["forecast_mean"] > 0, decision_id  # the demand the order expects
    # The store's deliveries reached the hub (its write-offs too: test_features checks
    # both through the wire; these 40 SKUs' order windows saw no waste).
    assert received, "no order's delivery day had a receipt"

    # Staffing and shelf checks: the hours' traffic and the people's results.
    hub = sqlite3.connect(hub_db)
    docs = [json.loads(r[0]) for r in hub.execute("SELECT doc FROM outcome_docs")]
    hub.close()
    staffing = [d for d in docs if d["kind"] == "staffing"]
    assert staffing and all(d["status"] == "complete" for d in staffing)
    traffic = dict(
        ((day, hour), n)
        for day, hour, n in mirror.conn.execute("SELECT date, hour, transactions FROM store_hourly")
    )
    for d in staffing:
        assert d["staffing"]["transactions"] == traffic.get(
            (d["business_date"], d["staffing"]["hour"]), 0
        )
    reviewed = [d for d in docs if d["review"] in ("approved", "rejected")]
    assert len(reviewed) == people["approved"] + people["rejected"]
    assert {d["review_seconds"] for d in reviewed} == {1800.0}
    shelf = [d for d in docs if d["kind"] == "shelf_check"]
    results = [d["shelf_check"]["status"] for d in shelf if d["status"] == "complete"]
    assert (results.count("found"), results.count("missing")) == (people["found"],
                                                                  people["missing"])  # fmt: skip

    unknown = cli("cloud-hub", "outcomes", "show", "S001:decision:999999", "--db", str(hub_db))
    assert unknown.returncode == 2 and "no decision S001:decision:999999" in unknown.stderr
    table = cli("cloud-hub", "outcomes", "metrics", "--db", str(hub_db)).stdout.splitlines()
    assert table[1].split()[:5] == ["week", "store", "category", "model", "dec"]

    # Metrics: the same figures again from the joined rows.
    done = cli("cloud-hub", "outcomes", "metrics", "--store", "S001", "--db", str(hub_db),
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["metrics"]
    assert sum(r["decisions"] for r in rows) == len(docs) == total
    assert sum(r["approved"] for r in rows) == people["approved"]
    assert sum(r["rejected"] for r in rows) == people["rejected"]
    assert sum(r["stockout_days"] for r in rows) == stockouts
    assert sum(r["missing_ranked"] + r["missing_random"] for r in rows) == people["missing"]
    checked = {"stockout_rate": 0, "wape": 0, "order_wape": 0}
    for row in rows:
        group = [d for d in docs if (d["store_id"], d["category"], d["model_version"])
                 == (row["store_id"], row["category"], row["model_version"])
                 and _week(d["business_date"]) == row["week"]]  # fmt: skip
        assert row["decisions"] == len(group)
        done_orders = [d["order"] for d in group if "order" in d and d["status"] == "complete"]
        days = sum(o["coverage_days"] for o in done_orders)
        if days:
            rate = sum(o["stockout_days"] for o in done_orders) / days
            assert row["stockout_rate"] == pytest.approx(rate)
            checked["stockout_rate"] += 1
            covered = sum(o["p90_covered"] for o in done_orders) / len(done_orders)
            assert row["p90_coverage"] == pytest.approx(covered)
            for name in ("lost_units", "excess_units", "aged_units", "sales_units", "waste_units"):
                assert row[name] == pytest.approx(sum(o[name] for o in done_orders)), name
            onhand = sum(o["onhand_unit_days"] for o in done_orders)
            sold = sum(o["sales_units"] for o in done_orders)
            if sold:
                assert row["inventory_turns"] == pytest.approx(365 * sold / onhand)
            # Orders' WAPE: their expected demand against the protection interval's sales.
            demand = sum(o["protection_sales"] for o in done_orders)
            if demand:
                error = sum(abs(o["forecast_mean"] - o["protection_sales"]) for o in done_orders)
                assert row["wape"] == pytest.approx(error / demand)
                checked["order_wape"] += 1
        checks = [d["shelf_check"] for d in group if d.get("shelf_check", {}).get("status")]
        ranked = [c["status"] for c in checks if not c["random_sample"]
                  and c["status"] in ("found", "missing")]  # fmt: skip
        if ranked:
            assert row["hit_rate_ranked"] == pytest.approx(ranked.count("missing") / len(ranked))
        else:
            assert row["hit_rate_ranked"] is None
        hours = [d["staffing"] for d in group if "staffing" in d]
        actual = sum(h["transactions"] for h in hours)
        if actual:
            wape = sum(abs(h["forecast_transactions"] - h["transactions"]) for h in hours) / actual
            assert row["wape"] == pytest.approx(wape)
            assert row["under_hours"] == pytest.approx(sum(h["under_hours"] for h in hours))
            checked["wape"] += 1
        auto = sum(d["review"] == "auto" for d in group)
        assert row["share_auto"] == pytest.approx(auto / len(group))
    assert checked["stockout_rate"] >= 3 and checked["wape"] >= 1, checked
    assert checked["order_wape"] >= 3, checked
    mirror.close()


def _week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"
