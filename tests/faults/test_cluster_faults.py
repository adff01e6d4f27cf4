"""A 3-node cluster losing the leader of the up stream in the middle of a drain.

Real processes only: three nats-servers (R3 streams), two `cloud-hub serve` sharing
the durable consumer and one hub database, the store's drain in this process. The
node that leads STOREEDGE_UP is killed with SIGKILL while the drain runs; the
drain fails over (its unacknowledged publishes are sent again), the other two
nodes elect a new leader, and afterwards the hub holds every record exactly once
and the dead node, restarted, catches up.
"""

from __future__ import annotations

import asyncio

import nats
from nats.js import api

from cloud_hub.ingest import DURABLE, ensure_streams
from cloud_hub.storage import open_storage
from edge_agent import audit, sync
from edge_agent.mirror import open_mirror
from storeedge import subjects
from storeedge.v1 import audit_pb2
from tests.cluster_helpers import HubProcess, assert_replicated, nats_cluster
from tests.helpers import drain_through, hub_rows, simulated_store, wait_until

__all__ = ["nats_cluster"]  # the fixture used here

BACKLOG = 8_000  # audit records on top of the simulated store's own records


async def test_killing_the_stream_leader_mid_drain_loses_and_duplicates_nothing(
    nats_cluster, tmp_path
):
    store_db, hub_db = tmp_path / "s1.db", tmp_path / "hub.db"
    simulated_store(store_db, seed=9, skus=80, cycles=1).close()
    mirror = open_mirror(store_db, create=False)
    with mirror.transaction():
        for n in range(BACKLOG):
            audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED, summary=f"change {n}")
    nc = await nats.connect(
        nats_cluster.url_list, max_reconnect_attempts=-1, reconnect_time_wait=0.2
    )
    js = nc.jetstream()
    await ensure_streams(js, replicas=3)
    # The hubs' consumer as `consume` makes it, but with a short ack wait: a delivery lost
    # with the dead node comes back in seconds instead of a minute (the test stays short).
    await js.add_consumer(
        subjects.UP_STREAM,
        api.ConsumerConfig(
            durable_name=DURABLE, filter_subject=f"{subjects.PREFIX}.*.up.*",
            ack_policy=api.AckPolicy.EXPLICIT, ack_wait=5.0, max_ack_pending=50_000,
            deliver_policy=api.DeliverPolicy.ALL,
        ),
    )  # fmt: skip
    hubs = [
        HubProcess(tmp_path, f"hub-{n}", hub_db, nats_cluster.urls, stream_replicas=3).start()
        for n in (1, 2)
    ]
    try:
        for hub in hubs:
            await asyncio.to_thread(hub.wait_ingesting)
        await assert_replicated(js, nats_cluster)
        victims: list[int] = []

        async def kill_the_leader() -> None:
            victims.append(await nats_cluster.kill_stream_leader(subjects.UP_STREAM))

        failures = await drain_through(mirror, js, kill_the_leader, "kill")
        killed = victims[0]
        assert failures >= 1, "the leader's death went unnoticed: it did not hit the drain"
        assert await nats_cluster.stream_leader(subjects.UP_STREAM) != killed
        committed = sum(v["committed"] for v in sync.sync_status(mirror).values())
        await wait_until(lambda: sum(hub_rows(hub_db).values()) >= committed,
                         what="hub ingest after the leader died", timeout_s=90)  # fmt: skip
        # The dead node comes back on its ports and store, and catches up.
        await asyncio.to_thread(nats_cluster.start_node, killed)

        async def caught_up() -> bool:
            info = await nats_cluster.stream_info(subjects.UP_STREAM)
            replicas = info.cluster.replicas or []
            return len(replicas) == 2 and all(r.current and not r.offline for r in replicas)

        for _ in range(100):
            if await caught_up():
                break
            await asyncio.sleep(0.2)
        info = await nats_cluster.stream_info(subjects.UP_STREAM)
        assert await caught_up(), info.cluster
        # The stream itself holds each record once: re-sent publishes were deduplicated.
        assert info.state.messages == committed
    finally:
        codes = [hub.stop() for hub in hubs]
        await nc.close()
        mirror.close()
    assert codes == [0, 0], [hub.log.read_text()[-2000:] for hub in hubs]
    # Each hub rode the election out in one ingest loop; between them they stored every
    # record once (a redelivered copy counts as a duplicate, not as stored).
    ingested = [hub.ingested() for hub in hubs]
    assert [runs for runs, _, _ in ingested] == [1, 1], ingested
    assert sum(stored for _, _, stored in ingested) == committed, ingested
    assert_exactly_once(store_db, hub_db)


def assert_exactly_once(store_db, hub_db) -> None:
    """Per type the hub holds what the store committed, nothing twice, nothing quarantined,
    the same decisions, and the chain verified to the store's own head."""
    mirror = open_mirror(store_db, create=False)
    try:
        edge = sync.sync_status(mirror)
        report = audit.verify(mirror)
        decisions = {r[0] for r in mirror.conn.execute("SELECT decision_id FROM decisions")}
    finally:
        mirror.close()
    assert all(v["pending"] == 0 for v in edge.values()), edge
    assert report.ok, report.problem
    storage = open_storage(hub_db)
    try:
        store = storage.store_status()["S001"]
        hub_decisions = [r[0] for r in storage.conn.execute(
            "SELECT record_id FROM records WHERE record_type = 'decision'")]  # fmt: skip
        entries = storage.conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM audit_entries"
        ).fetchone()
    finally:
        storage.close()
    assert store["received"] == {k: v["committed"] for k, v in edge.items()}
    assert sorted(hub_decisions) == sorted(decisions)
    assert entries == (report.length, report.length, 1, report.length)
    assert store["quarantined"] == 0
    assert store["chain_ok"] is True and store["chain_gap"] is None
    assert (store["chain_length"], store["chain_head"]) == (report.length, report.head.hex())
