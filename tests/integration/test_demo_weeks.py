"""scripts/demo_weeks.py: `make demo`'s weeks of cycles on a store's own history."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from edge_agent.clock import FixedClock
from edge_agent.mirror import open_mirror
from edge_agent.simulation import run_simulation

ROOT = Path(__file__).resolve().parents[2]
END = date(2026, 6, 24)  # a Wednesday
FIRST = END - timedelta(days=6)
TZ = ZoneInfo("America/Chicago")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weeks")
    db = folder / "store.db"
    mirror = open_mirror(db, clock=FixedClock(datetime(2026, 6, 25, 12, tzinfo=UTC)))
    run_simulation(mirror, store_id="S001", skus=200, days=60, seed=3, end_date=END,
                   time_zone="America/Chicago")  # fmt: skip
    mirror.close()
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/demo_weeks.py"), "--db", str(db), "--from",
         FIRST.isoformat(), "--to", END.isoformat(), "--drop", str(folder / "erp"),
         "--json", str(folder / "weeks.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    mirror = open_mirror(db, create=False)
    yield mirror, json.loads((folder / "weeks.json").read_text()), folder, out.stdout
    mirror.close()


def test_every_past_day_decides_on_its_own_morning(replayed):
    mirror, doc, _, _ = replayed
    rows = mirror.conn.execute("SELECT kind, business_date, created_at FROM decisions").fetchall()
    days = {business for _, business, _ in rows}
    assert days == {(FIRST + timedelta(days=k)).isoformat() for k in range(7)} - {
        d["day"] for d in doc["days"] if d["closed"]}  # fmt: skip
    assert {kind for kind, _, _ in rows} == {"order", "staffing", "shelf_check"}
    for _, business, created in rows:  # the store's clock stood at 06:00 of that day
        local = datetime.fromisoformat(created).astimezone(TZ)
        assert (local.date().isoformat(), local.hour) == (business, 6)
    assert sum(doc["kinds"].values()) == len(rows)


def test_held_decisions_are_reviewed_and_the_rest_go_to_the_erp(replayed):
    mirror, doc, folder, _ = replayed
    states = dict(mirror.conn.execute("SELECT state, COUNT(*) FROM decisions GROUP BY 1"))
    assert "pending" not in states and "auto" not in states
    held = mirror.conn.execute(
        "SELECT COUNT(*) FROM decisions WHERE policy_outcome = 'pending'"
    ).fetchone()[0]
    assert sum(doc["reviews"].values()) == held
    dropped = [json.loads(line) for f in (folder / "erp").glob("*.jsonl")
               for line in f.read_text().splitlines()]  # fmt: skip
    assert len(dropped) == states["submitted"] > 0


def test_shelf_checks_record_what_the_shelf_held(replayed):
    mirror, doc, _, _ = replayed
    truth = {sku: (date.fromisoformat(start), np.frombuffer(shelf, "<f4"))
             for sku, start, shelf in mirror.conn.execute(
                 "SELECT sku, start_date, shelf_on_hand FROM sim_truth_daily")}  # fmt: skip
    checks = mirror.conn.execute(
        "SELECT sku, business_date, state, reason FROM decisions WHERE kind = 'shelf_check'"
    ).fetchall()
    assert checks and {state for _, _, state, _ in checks} == {"confirmed"}
    missing = 0
    for sku, business, _, reason in checks:
        start, shelf = truth[sku]
        scored = date.fromisoformat(business) - timedelta(days=1)  # no closed day this week
        empty = shelf[(scored - start).days] <= 0
        assert (reason == "missing from shelf") == bool(empty), (sku, business)
        missing += bool(empty)
    assert doc["shelf_checks"].get("missing", 0) == missing
