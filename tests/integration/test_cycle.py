"""Decision cycles over a simulated week: all three kinds, by policy, never twice."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent import audit, decisions
from edge_agent.clock import FixedClock
from edge_agent.cycle import load_models, run_cycle
from edge_agent.errors import EdgeAgentError
from edge_agent.mirror import open_mirror
from edge_agent.policy import Policy
from edge_agent.simulation import run_simulation
from models import BOOTSTRAP_DIR

END = date(2026, 6, 28)  # a Sunday; the week after it is cycled


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    path = tmp_path_factory.mktemp("cycle") / "store.db"
    clock = FixedClock(datetime(2026, 6, 29, 11, tzinfo=UTC))
    mirror = open_mirror(path, clock=clock)
    run_simulation(mirror, store_id="S001", skus=300, days=150, seed=11, end_date=END,
                   time_zone="America/Chicago")  # fmt: skip
    models = load_models(BOOTSTRAP_DIR)
    results = []
    for offset in range(1, 8):
        day = END + timedelta(days=offset)
        clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)  # 6 am local
        results.append(run_cycle(mirror, models, Policy(), day))
    yield mirror, models, results
    mirror.close()


def test_a_week_of_cycles_makes_all_three_kinds(week):
    mirror, _, results = week
    kinds = {d.kind for r in results for d in r.decisions}
    assert kinds == {"order", "staffing", "shelf_check"}
    states = {d.state for r in results for d in r.decisions}
    assert states <= {"auto", "pending", "blocked"}
    assert audit.verify(mirror).ok


def test_orders_follow_order_days_and_case_packs(week):
    mirror, _, results = week
    products = {sku: (days, pack) for sku, days, pack in mirror.conn.execute(
        "SELECT sku, order_days, case_pack FROM products")}  # fmt: skip
    orders = [d for r in results for d in r.decisions if d.kind == "order"]
    assert orders
    for d in orders:
        order_days, pack = products[d.sku]
        weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
            date.fromisoformat(d.order_date).weekday()]  # fmt: skip
        assert weekday in order_days.split(",")
        assert d.quantity > 0 and abs(d.quantity / pack - round(d.quantity / pack)) < 1e-9


def test_rerunning_a_day_orders_nothing_twice(week):
    mirror, models, results = week
    day = results[2].as_of
    before = mirror.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    again = run_cycle(mirror, models, Policy(), day)
    after = mirror.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    assert after == before
    assert {d.decision_id for d in again.decisions} <= {
        d.decision_id for r in results for d in r.decisions}  # fmt: skip
    live = mirror.conn.execute(
        "SELECT sku, order_date, COUNT(*) FROM decisions WHERE kind = 'order' AND state IN "
        "('pending', 'approved', 'overridden', 'auto', 'submitted', 'confirmed') "
        "GROUP BY sku, order_date HAVING COUNT(*) > 1"
    ).fetchall()
    assert live == []


def test_a_closed_day_makes_no_decisions(week, tmp_path):
    mirror, models, _ = week
    copy = tmp_path / "closed.db"
    mirror.conn.execute("VACUUM INTO ?", (str(copy),))
    other = open_mirror(copy, clock=FixedClock(datetime(2026, 7, 6, 11, tzinfo=UTC)))
    with other.transaction():
        other.conn.execute("INSERT INTO store_calendar(date, status, name) VALUES "
                           "('2026-07-06', 'closed', 'Inventory day')")  # fmt: skip
    result = run_cycle(other, models, Policy(), date(2026, 7, 6))
    assert result.closed and result.decisions == []
    other.close()


def test_each_order_says_the_demand_it_expects_over_its_protection_interval(week):
    mirror, models, results = week
    orders = [decisions.stored_message(mirror, d.decision_id).order
              for r in results for d in r.decisions if d.kind == "order"]  # fmt: skip
    assert orders and all(o.forecast_mean > 0 for o in orders)
    # The protection mean model's expectation, not the P90 the order is sized by: below it
    # for nearly every order.
    below = sum(o.forecast_mean <= o.protection_quantile for o in orders)
    assert below >= 0.9 * len(orders), (below, len(orders))
    # It names the version that gave it (the decision's own is the P90 model's).
    version = models.versions["replenishment_protection_mean"]
    assert {o.forecast_mean_version for o in orders} == {version}


def test_a_models_folder_without_the_protection_mean_model_still_orders(week, tmp_path):
    """A folder made before the model existed keeps serving: orders carry no expectation."""
    mirror, _, _ = week
    folder = tmp_path / "models"
    shutil.copytree(BOOTSTRAP_DIR, folder)
    for suffix in (".onnx", ".manifest.json"):
        (folder / f"replenishment_protection_mean{suffix}").unlink()
    models = load_models(folder)
    assert models.protection_mean is None
    assert "replenishment_protection_mean" not in models.versions
    copy = tmp_path / "older.db"
    mirror.conn.execute("VACUUM INTO ?", (str(copy),))
    other = open_mirror(copy, clock=FixedClock(datetime(2026, 7, 6, 11, tzinfo=UTC)))
    result = run_cycle(other, models, Policy(), date(2026, 7, 6))
    orders = [decisions.stored_message(other, d.decision_id).order
              for d in result.decisions if d.kind == "order"]  # fmt: skip
    assert orders and all(o.forecast_mean == 0 for o in orders)
    assert {o.forecast_mean_version for o in orders} == {""}
    other.close()


def test_an_edited_decision_record_breaks_the_chain(week, tmp_path):
    mirror, _, _ = week
    copy = tmp_path / "edited.db"
    mirror.conn.execute("VACUUM INTO ?", (str(copy),))
    conn = sqlite3.connect(copy)
    seq = conn.execute("SELECT MAX(seq) FROM audit_log WHERE event_type = 'DECISION_CREATED'"
                       ).fetchone()[0]  # fmt: skip
    conn.execute("UPDATE audit_log SET payload = payload || x'00' WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()
    edited = open_mirror(copy)
    report = audit.verify(edited)
    assert not report.ok and report.problem.seq == seq
    edited.close()


def test_models_built_on_other_features_are_refused(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(BOOTSTRAP_DIR, models)
    manifest = models / "labor.manifest.json"
    manifest.write_text(manifest.read_text().replace('"featureSpecHash": "',
                                                     '"featureSpecHash": "0000'))  # fmt: skip
    with pytest.raises(EdgeAgentError, match="was built on features"):
        load_models(models)
    (models / "labor.onnx").write_bytes(b"corrupt")
    shutil.copy(BOOTSTRAP_DIR / "labor.manifest.json", manifest)
    with pytest.raises(EdgeAgentError, match="does not match the manifest's sha256"):
        load_models(models)


def test_a_replayed_day_counts_only_the_orders_placed_before_it(tmp_path):
    """The open-orders snapshot is the latest one: a cycle for a past day (a replay) must
    not count orders placed on or after that day as already on order."""
    from edge_agent.cycle import _stock_positions

    mirror = open_mirror(tmp_path / "s.db", clock=FixedClock(datetime(2026, 6, 29, tzinfo=UTC)))
    run_simulation(mirror, store_id="S001", skus=200, days=60, seed=3,
                   end_date=date(2026, 6, 24), time_zone="America/Chicago")  # fmt: skip
    rows = mirror.conn.execute(
        "SELECT sku, order_date, expected_date, qty FROM open_orders WHERE status = 'open'"
    ).fetchall()
    day = max(r[1] for r in rows)  # the newest order's day: some orders were placed on it
    assert any(placed == day and due >= day for _, placed, due, _ in rows)
    _, open_orders, _ = _stock_positions(mirror, date.fromisoformat(day))
    known: dict[str, float] = {}
    for sku, placed, due, qty in rows:
        if placed < day <= due:
            known[sku] = known.get(sku, 0.0) + qty
    assert open_orders == pytest.approx(known)
    mirror.close()


def test_pending_orders_can_be_approved_until_their_cutoff(week):
    mirror, _, results = week
    pending = [d for r in results for d in r.decisions if d.kind == "order"
               and d.state == "pending"]  # fmt: skip
    if not pending:
        pytest.skip("the policy made every order auto this week")
    # The week is over: every order's cutoff has passed, so approval expires it.
    with pytest.raises(decisions.DecisionError, match="expired"):
        decisions.transition(mirror, pending[0].decision_id, "approved", actor="ana",
                             reason="late")  # fmt: skip


def test_cycle_commands_print_one_json_document(week, tmp_path):
    import json
    import subprocess
    import sys

    mirror, _, results = week
    copy = tmp_path / "cli.db"
    mirror.conn.execute("VACUUM INTO ?", (str(copy),))
    exe = str(Path(sys.executable).parent / "edge-agent")
    future = (date.today() + timedelta(days=3)).isoformat()

    def run(*args: str) -> dict:
        done = subprocess.run([exe, *args, "--db", str(copy), "--json"], capture_output=True,
                              text=True, check=True, timeout=300)  # fmt: skip
        return json.loads(done.stdout)

    cycle = run("cycle", "--as-of", future)
    assert cycle["as_of"] == future and isinstance(cycle["decisions"], list)
    for decision in cycle["decisions"]:
        assert {"id", "kind", "state", "confidence", "value", "model_version", "rule"} <= set(
            decision
        )
    check = next(d for r in results for d in r.decisions if d.kind == "shelf_check")
    done = run("tasks", "complete", check.decision_id, "--found", "--by", "ana")
    assert done["found"] is True and done["result_id"].startswith("S001:shelf_check:")
    drop = run("submit", "--drop", str(tmp_path / "drop"))
    assert drop["submitted"] and Path(drop["file"]).exists()
    acks = tmp_path / "acks.jsonl"
    acks.write_text(json.dumps({"decision_id": drop["submitted"][0], "status": "confirmed"})
                    + "\n")  # fmt: skip
    assert run("ack", str(acks)) == {"confirmed": 1, "failed": 0, "skipped": 0}
    assert run("decisions", "--state", "confirmed")["decisions"]


def test_each_order_says_its_service_level_and_shelf_life_cap_in_the_audit(week):
    mirror, _, results = week
    orders = {d.decision_id: d for r in results for d in r.decisions if d.kind == "order"}
    fresh = {sku for (sku,) in mirror.conn.execute("SELECT sku FROM products WHERE perishable = 1")}
    said = {}
    for _, record in audit.iter_records(mirror):
        if record.subject_id in orders and "order_rule" in record.attributes:
            said[record.subject_id] = (dict(record.attributes), record.decision.order)
    assert said.keys() == orders.keys()
    capped = 0
    for decision_id, (attributes, detail) in said.items():
        level = float(attributes["service_level"])
        assert 0.5 <= level <= 0.95
        assert attributes["order_rule"].startswith(f"service level {level:.3f} (newsvendor)")
        if "shelf_life_cap" in attributes:  # only perishables are capped, at the cap
            capped += 1
            assert orders[decision_id].sku in fresh, decision_id
            assert "capped by shelf life" in attributes["order_rule"]
            assert detail.order_up_to == pytest.approx(float(attributes["shelf_life_cap"]),
                                                       abs=1e-3)  # fmt: skip
            # at the expiry newsvendor's quantile: margin / price of a row of the product
            quantile = float(attributes["shelf_life_quantile"])
            margins = [(price - cost) / price for price, cost in mirror.conn.execute(
                "SELECT price, unit_cost FROM products WHERE sku = ? AND price > unit_cost",
                (orders[decision_id].sku,))]  # fmt: skip
            assert min(abs(m - quantile) for m in margins) < 1e-3, (attributes, margins)
        else:  # the model's P90 stays in the detail; a level above 0.9 orders up to more
            above = detail.order_up_to >= detail.protection_quantile - 1e-3
            below = detail.order_up_to <= detail.protection_quantile + 1e-3
            assert above if level > 0.9 else below, (attributes, detail)
    assert capped > 0  # the simulated store has short-lived perishables
