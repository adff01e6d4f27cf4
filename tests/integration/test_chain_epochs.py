"""A store's hardware is replaced: the new box continues the chain in a new epoch, and
the hub links it to the old one without a tamper alarm; an unannounced fresh chain is
still a fork."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import nats

from cloud_hub.ingest import ensure_streams
from cloud_hub.registry import Registry
from cloud_hub.storage import Incoming, open_storage
from edge_agent import audit, cli, outcomes, sync
from edge_agent.clock import FixedClock
from edge_agent.cycle import load_models, run_cycle
from edge_agent.mirror import open_mirror
from edge_agent.policy import Policy
from edge_agent.simulation import run_simulation
from models import BOOTSTRAP_DIR
from storeedge.v1.audit_pb2 import AuditEntry
from tests.helpers import SIM_END, simulated_store
from tests.integration.test_sync import committed_total, ingest_until


def audit_at_hub(storage, store_id: str) -> int:
    return storage.store_status()[store_id]["received"]["audit"]


async def drained(mirror, js) -> int:
    while outcomes.emit_due(mirror).days:
        pass
    return (await sync.drain(mirror, js)).acked


async def test_a_replaced_box_continues_the_chain_in_the_next_epoch(nats_server, tmp_path):
    hub_db = tmp_path / "hub.db"
    with Registry(hub_db) as registry:
        registry.add_store("S001", tz="America/Chicago")
    storage = open_storage(hub_db)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    old = simulated_store(tmp_path / "old.db", "S001", seed=3, skus=20, days=40, cycles=1)
    try:
        await drained(old, js)
        await ingest_until(nc, storage, committed_total(old))
        verified = storage.store_status()["S001"]
        assert verified["chain_ok"] and verified["chain_length"] == audit.chain_head(old)[0]
        # The old box works on, then dies: this cycle's entries are published late,
        # after the replacement (they were in flight, or the box came back once).
        old.clock.instant += timedelta(days=1)
        run_cycle(old, load_models(BOOTSTRAP_DIR), Policy(), SIM_END + timedelta(days=2))

        with Registry(hub_db) as registry:
            entry, _seed = registry.replace_store("S001", reason="disk failed")
        assert (entry.chain_epoch, entry.epoch_anchor_seq) == (2, verified["chain_length"])
        assert entry.epoch_anchor_hash == verified["chain_head"]

        # The new box: a fresh mirror anchored where the hub's verified chain ends.
        new_db = tmp_path / "new.db"
        assert cli.main(["init", "--db", str(new_db), "--store", "S001", "--tz",
                         "America/Chicago", "--chain-epoch", "2", "--chain-anchor",
                         f"{entry.epoch_anchor_seq}:{entry.epoch_anchor_hash}"]) == 0  # fmt: skip
        clock = FixedClock(datetime(2026, 6, 29, 11, tzinfo=UTC))
        new = open_mirror(new_db, clock=clock)
        run_simulation(new, store_id="S001", skus=20, days=30, seed=9, end_date=SIM_END)
        first = next(audit.iter_records(new))
        assert first[0] == entry.epoch_anchor_seq + 1
        assert audit.event_name(first[1].event_type) == "CHAIN_EPOCH_STARTED"
        assert audit.verify(new).ok

        late = await drained(old, js)
        sent = await drained(new, js)
        assert late > 0 and sent > 0
        new_length, new_head = audit.chain_head(new)
        # The new box counts its own entries, all sent; nothing is resent next time.
        assert sync.sync_status(new)["audit"] == {
            "committed": new_length - entry.epoch_anchor_seq,
            "acked": new_length - entry.epoch_anchor_seq,
            "pending": 0,
        }
        assert (await sync.drain(new, js)).published == 0
        retired = audit.chain_head(old)[0] - verified["chain_length"]
        await ingest_until(nc, storage, committed_total(old) + committed_total(new) - retired)

        hub = storage.store_status()["S001"]
        assert hub["chain_ok"] is True, hub["chain_problem"]
        assert (hub["chain_length"], hub["chain_head"]) == (new_length, new_head.hex())
        # The old box's late entries are set aside, named, and raise no alarm.
        reasons = [r for (r,) in storage.conn.execute("SELECT reason FROM quarantine")]
        assert len(reasons) == retired > 0
        assert all(r.startswith("from retired epoch 1") for r in reasons), reasons

        # A box that starts a fresh chain without an epoch from the registry is a fork.
        rogue = simulated_store(tmp_path / "rogue.db", "S001", seed=5, skus=10, days=20,
                                cycles=0)  # fmt: skip
        storage.ingest([
            Incoming("S001", "audit", f"S001:audit:{seq}",
                     AuditEntry(seq=seq, prev_hash=prev, hash=digest, payload=payload)
                     .SerializeToString())
            for seq, prev, digest, payload in rogue.conn.execute(
                "SELECT seq, prev_hash, hash, payload FROM audit_log ORDER BY seq")
        ])  # fmt: skip
        broken = storage.store_status()["S001"]
        assert broken["chain_ok"] is False and "fork" in broken["chain_problem"]["reason"]
        rogue.close()
        new.close()
    finally:
        old.close()
        storage.close()
        await nc.close()
