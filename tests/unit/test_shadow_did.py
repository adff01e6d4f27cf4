"""Shadow difference-in-differences on a hub database: a hand-built case whose answer is
known (executing stores' stock-outs fall after going live, shadow stores' do not)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from cloud_hub import outcomes
from cloud_hub.errors import HubStorageError
from cloud_hub.lift import shadow_did
from cloud_hub.storage import open_storage
from storeedge.v1 import audit_pb2

LIVE = date(2026, 6, 1)
SKUS = 50


def _hub(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "hub.db"
    open_storage(path).close()
    conn = sqlite3.connect(path)
    outcomes.ensure_schema(conn)
    return conn


def _store(conn: sqlite3.Connection, store_id: str, mode: str, before: float, after: float,
           rng: np.random.Generator, closed_day: date | None = None) -> None:  # fmt: skip
    """Decisions from LIVE on (audit records carry the mode); 28 days of outcomes either
    side with the given stock-out shares; one closed day full of stock-outs if asked."""
    for seq in range(3):
        record = audit_pb2.AuditRecord(
            event_type=audit_pb2.AUDIT_EVENT_TYPE_DECISION_CREATED,
            business_date=(LIVE + timedelta(days=seq)).isoformat(), subject_id=f"d{seq}",
        )  # fmt: skip
        record.attributes["mode"] = mode
        conn.execute("INSERT INTO audit_entries VALUES (?, ?, ?, ?, ?, ?)",
                     (store_id, seq, b"", b"", record.SerializeToString(), "now"))  # fmt: skip
    # A store-level audit record of another kind, earlier: not a decision, not go-live.
    other = audit_pb2.AuditRecord(event_type=audit_pb2.AUDIT_EVENT_TYPE_SIMULATION,
                                  business_date="2026-01-01")  # fmt: skip
    conn.execute("INSERT INTO audit_entries VALUES (?, ?, ?, ?, ?, ?)",
                 (store_id, 99, b"", b"", other.SerializeToString(), "now"))  # fmt: skip
    for offset in range(-28, 28):
        day = LIVE + timedelta(days=offset)
        share = before if offset < 0 else after
        out = rng.random(SKUS) < share
        if day == closed_day:
            out[:] = True
            conn.execute("INSERT INTO outcome_parts VALUES (?, ?, 1, 0, 1, 1)",
                         (store_id, day.isoformat()))  # fmt: skip
        for j in range(SKUS):
            on_hand = 0.0 if out[j] else 10.0
            conn.execute(
                "INSERT INTO outcome_sku_days VALUES (?, ?, ?, 1, 1, 1.0, 0, ?, 0, 0, 2.0, 0)",
                (store_id, f"SKU{j}", day.isoformat(), on_hand),
            )


def test_did_finds_the_executing_stores_drop(tmp_path: Path) -> None:
    conn = _hub(tmp_path)
    rng = np.random.default_rng(3)
    for k in range(4):
        _store(conn, f"E{k}", "execute", 0.10, 0.04, rng, closed_day=LIVE + timedelta(days=3))
        _store(conn, f"S{k}", "shadow", 0.10, 0.10, rng)
    conn.commit()
    doc = shadow_did(conn)
    assert doc["kind"] == "shadow_did"
    assert doc["source"]["executing_stores"] == ["E0", "E1", "E2", "E3"]
    assert doc["source"]["shadow_stores"] == ["S0", "S1", "S2", "S3"]
    assert doc["source"]["went_live"]["E0"] == LIVE.isoformat()
    rate = doc["metrics"]["stockout_rate"]
    assert rate["baseline_tuned"] is None and rate["lift_vs_tuned"] is None
    assert rate["lift"]["mean"] == pytest.approx(-0.06, abs=0.02)  # the closed day left out
    lo, hi = rate["lift"]["ci95"]
    assert lo <= rate["lift"]["mean"] <= hi < 0
    assert rate["levels"]["baseline"]["after"] == pytest.approx(0.10, abs=0.02)
    inventory = doc["metrics"]["avg_inventory_units"]
    # 50 SKUs x 10 units when in stock: 6 % fewer stock-outs is +30 units a store-day.
    assert inventory["lift"]["mean"] == pytest.approx(30.0, abs=10.0)


def test_too_few_shadow_stores_is_a_clear_error(tmp_path: Path) -> None:
    conn = _hub(tmp_path)
    rng = np.random.default_rng(1)
    for k in range(3):
        _store(conn, f"E{k}", "execute", 0.1, 0.05, rng)
    _store(conn, "S0", "shadow", 0.1, 0.1, rng)
    conn.commit()
    with pytest.raises(HubStorageError, match="1 shadow store"):
        shadow_did(conn)


def test_the_command_writes_a_lift_file_the_roi_statement_reads(tmp_path: Path) -> None:
    from cloud_hub import roi
    from tests.helpers import cli

    conn = _hub(tmp_path)
    rng = np.random.default_rng(5)
    for k in range(3):
        _store(conn, f"E{k}", "execute", 0.10, 0.04, rng)
        _store(conn, f"S{k}", "shadow", 0.10, 0.10, rng)
    conn.commit()
    conn.close()
    out = tmp_path / "shadow-lift.json"
    done = cli("cloud-hub", "outcomes", "shadow", "--db", str(tmp_path / "hub.db"),
               "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 executing vs 3 shadow stores" in done.stdout and "stockout_rate" in done.stdout
    lift = roi.load_lift(out)
    assert lift.kind == "shadow_did"
    assert lift.metrics["stockout_rate"].lift.ci95[1] < 0
