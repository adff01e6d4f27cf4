"""Store -> hub sync through a real nats-server: every record arrives once, chains verify."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import nats
import pytest

from cloud_hub.ingest import consume, ensure_streams
from cloud_hub.storage import open_storage
from edge_agent import audit, outcomes, sync
from edge_agent.mirror import Ingestor, Mirror
from storeedge.v1 import outcome_pb2
from tests.helpers import simulated_store


async def ingest_until(nc, storage, expected_total: int, timeout_s: float = 30.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consume(nc, storage, stop=stop, idle_wait_s=0.2))
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        received = sum(sum(s["received"].values()) for s in storage.store_status().values())
        if received >= expected_total:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await task


def committed_total(mirror: Mirror) -> int:
    return sum(v["committed"] for v in sync.sync_status(mirror).values())


@pytest.fixture
def two_stores(tmp_path):
    a = simulated_store(tmp_path / "a.db", "S001", seed=3)
    b = simulated_store(tmp_path / "b.db", "S002", seed=4)
    yield a, b
    a.close()
    b.close()


async def test_two_stores_with_coinciding_sequences_arrive_exactly_once(
    nats_server, two_stores, tmp_path
):
    a, b = two_stores
    # Both stores number their records from 1: S001:audit:1 and S002:audit:1 both exist.
    assert a.conn.execute("SELECT record_id FROM audit_log WHERE seq = 1").fetchone()[0] == (
        "S001:audit:1"
    )
    assert b.conn.execute("SELECT record_id FROM audit_log WHERE seq = 1").fetchone()[0] == (
        "S002:audit:1"
    )
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    storage = open_storage(tmp_path / "hub.db")
    try:
        for mirror in (a, b):
            while outcomes.emit_due(mirror).days:
                pass
        assert sync.sync_status(a)["outcomes"]["committed"] > 0
        report_a = await sync.drain(a, js, batch_size=200)
        report_b = await sync.drain(b, js, batch_size=200)
        assert report_a.duplicates == 0 and report_b.duplicates == 0
        await ingest_until(nc, storage, committed_total(a) + committed_total(b))
        # A second drain has nothing left to send; a replay of the stream changes nothing.
        assert (await sync.drain(a, js)).published == 0
        status = storage.store_status()
        for mirror in (a, b):
            store = mirror.require_store().store_id
            edge = sync.sync_status(mirror)
            assert all(v["pending"] == 0 for v in edge.values()), edge
            hub = status[store]
            assert hub["received"] == {k: v["acked"] for k, v in edge.items()}
            assert hub["chain_ok"] is True
            length, head = audit.chain_head(mirror)
            assert hub["chain_length"] == length and hub["chain_head"] == head.hex()
            assert (
                edge["decisions"]["committed"]
                == mirror.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
            )
            assert mirror.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    finally:
        storage.close()
        await nc.close()


def test_outcomes_go_out_once_and_a_correction_gets_a_new_revision(tmp_path):
    mirror = simulated_store(tmp_path / "a.db", "S001", seed=3)
    try:
        days = 0
        while (report := outcomes.emit_due(mirror, max_days=20)).days:
            days += report.days
        first, last = mirror.conn.execute("SELECT MIN(date), MAX(date) FROM daily_sales").fetchone()
        assert days == (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
        assert sync.sync_status(mirror)["outcomes"]["pending"] == days
        assert outcomes.emit_due(mirror).days == 0  # nothing changed: nothing sent again
        # A late correction of one SKU-day, three days back, through the normal ingest.
        day = (date.fromisoformat(last) - timedelta(days=3)).isoformat()
        sku = mirror.conn.execute("SELECT MIN(sku) FROM daily_sales WHERE date = ?",
                                  (day,)).fetchone()[0]  # fmt: skip
        export = tmp_path / "correction.csv"
        export.write_text(f"sku,date,units\n{sku},{day},77\n")
        Ingestor(mirror).ingest_file(export)
        again = outcomes.emit_due(mirror)
        assert (again.days, again.revisions) == (1, 1)
        payload = mirror.conn.execute(
            "SELECT payload FROM outbox WHERE record_type = 'outcome' ORDER BY seq DESC LIMIT 1"
        ).fetchone()[0]
        message = outcome_pb2.DailyOutcome.FromString(payload)
        assert (message.business_date, message.revision) == (day, 2)
        assert {s.sku: s.units_sold for s in message.skus}[sku] == 77
        assert message.id.sequence == days + 1  # a new record id, not a duplicate
    finally:
        mirror.close()
