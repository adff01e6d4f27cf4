"""The issue's acceptance commands, run as a user would: the installed console scripts."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent


def edge_agent(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which("edge-agent", path=str(BIN)) or "edge-agent"
    return subprocess.run([exe, *args], capture_output=True, text=True, check=check, timeout=600)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("acceptance") / "s1.db"
    edge_agent(
        "simulate",
        "--store",
        "S001",
        "--skus",
        "2000",
        "--days",
        "400",
        "--seed",
        "7",
        "--db",
        str(db),
    )
    return db


def test_simulated_store_verifies_and_an_edited_row_is_named(simulated: Path, tmp_path: Path):
    ok = edge_agent("audit", "verify", "--db", str(simulated))
    assert ok.returncode == 0 and "audit chain OK" in ok.stdout
    for column, value in (
        ("event_type", "'APPROVAL'"),
        ("payload", "payload || x'00'"),
        ("recorded_at", "'2026-01-01T00:00:00+00:00'"),
    ):
        copy = tmp_path / f"edited_{column}.db"
        shutil.copy(simulated, copy)
        conn = sqlite3.connect(copy)
        conn.execute(f"UPDATE audit_log SET {column} = {value} WHERE seq = 4")
        conn.commit()
        conn.close()
        bad = edge_agent("audit", "verify", "--db", str(copy), check=False)
        assert bad.returncode != 0, column
        assert "S001:audit:4" in bad.stdout, column
        as_json = json.loads(
            edge_agent("audit", "verify", "--db", str(copy), "--json", check=False).stdout
        )
        assert as_json["ok"] is False and as_json["first_bad"]["record_id"] == "S001:audit:4"


def test_simulated_store_status_and_ground_truth(simulated: Path):
    status = json.loads(edge_agent("status", "--db", str(simulated), "--json").stdout)
    assert status["store"] == "S001"
    coverage = status["coverage"]
    assert coverage["products"]["skus"] == 2000
    assert coverage["daily_sales"]["rows"] > 2000 * 300
    for table in (
        "deliveries",
        "stock_adjustments",
        "open_orders",
        "labor_schedule",
        "promotions",
        "store_calendar",
        "store_hourly",
    ):
        assert coverage[table]["rows"] > 0, table
    assert status["quarantine"]["open"] == 0
    conn = sqlite3.connect(simulated)
    truth = conn.execute("SELECT COUNT(*), SUM(days) FROM sim_truth_daily").fetchone()
    assert truth[0] == 2000 and truth[1] > 2000 * 300
    # Ground truth agrees with what the POS recorded: sales never exceed true demand.
    sku, start, days, demand = conn.execute(
        "SELECT sku, start_date, days, true_demand FROM sim_truth_daily ORDER BY sku LIMIT 1"
    ).fetchone()
    demand = np.frombuffer(demand, "<f4")
    assert len(demand) == days
    sold = dict(conn.execute("SELECT date, units FROM daily_sales WHERE sku = ?", (sku,)))
    from datetime import date, timedelta

    first = date.fromisoformat(start)
    for i, d in enumerate(demand):
        day = (first + timedelta(days=i)).isoformat()
        if day in sold and not np.isnan(d):
            assert sold[day] <= d + 1e-6


def test_simulation_is_deterministic_per_seed(tmp_path: Path):
    dumps = []
    for run in ("a", "b", "c"):
        db = tmp_path / f"{run}.db"
        seed = "3" if run != "c" else "4"
        edge_agent(
            "simulate",
            "--store",
            "S009",
            "--skus",
            "150",
            "--days",
            "60",
            "--seed",
            seed,
            "--end",
            "2026-06-30",
            "--db",
            str(db),
        )
        conn = sqlite3.connect(db)
        dumps.append(
            [
                conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in (
                    "products",
                    "daily_sales",
                    "deliveries",
                    "stock_adjustments",
                    "store_hourly",
                    "sim_truth_daily",
                )
            ]
        )
        conn.close()
    assert dumps[0] == dumps[1]
    assert dumps[0] != dumps[2]
