"""Scale-out: store -> hub sync through a real 3-node NATS cluster with R3 streams, two
`cloud-hub serve` processes sharing the durable consumers and one hub database."""

from __future__ import annotations

import asyncio
import socket

import nats
import pytest

from cloud_hub.ingest import DURABLE, ensure_streams
from cloud_hub.storage import open_storage
from edge_agent import audit, outcomes, sync
from storeedge import natscluster, subjects
from storeedge.errors import NatsServerError
from storeedge.natscluster import NatsCluster
from tests.cluster_helpers import HubProcess, assert_replicated, nats_cluster
from tests.helpers import hub_rows, wait_until
from tests.integration.test_sync import committed_total, two_stores

__all__ = ["nats_cluster", "two_stores"]  # fixtures used here


async def test_hub_creates_r3_streams_led_and_replicated_on_three_nodes(nats_cluster):
    nc = await nats.connect(nats_cluster.url_list)
    try:
        js = nc.jetstream()
        await ensure_streams(js, replicas=3)
        await ensure_streams(js, replicas=3)  # again, as every hub process does at start
        await assert_replicated(js, nats_cluster)
        # The leader's node is known by index, and the others are its followers.
        leader = await nats_cluster.stream_leader("STOREEDGE_UP")
        info = await nats_cluster.stream_info("STOREEDGE_UP")
        assert nats_cluster.nodes[leader].name == info.cluster.leader
        assert all(peer.current for peer in info.cluster.replicas)
        # A follower stopped gracefully comes back on its URL and store, and is current.
        follower = (leader + 1) % 3
        url = nats_cluster.url(follower)
        await asyncio.to_thread(nats_cluster.restart_node, follower)
        assert nats_cluster.url(follower) == url and nats_cluster.start() is nats_cluster
        info = await nats_cluster.stream_info("STOREEDGE_UP")
        assert len(info.cluster.replicas) == 2 and not any(p.offline for p in info.cluster.replicas)
    finally:
        await nc.close()
    with pytest.raises(NatsServerError, match="no cluster node 3"):
        nats_cluster.node(3)
    with pytest.raises(NatsServerError, match="not a node of cluster"):
        nats_cluster.index_of("elsewhere-n0")
    nats_cluster.stop_node(0)
    with pytest.raises(NatsServerError, match="partly running"):
        nats_cluster.start()


async def test_two_stores_sync_through_the_cluster_with_two_hub_processes(
    nats_cluster, two_stores, tmp_path
):
    a, b = two_stores
    for mirror in (a, b):
        while outcomes.emit_due(mirror).days:
            pass
    hub_db = tmp_path / "hub.db"
    # Two hub processes, one database, small batches so both take part.
    hubs = [
        HubProcess(tmp_path, f"hub-{n}", hub_db, nats_cluster.urls, stream_replicas=3,
                   ingest_batch=50).start()
        for n in (1, 2)
    ]  # fmt: skip
    try:
        for hub in hubs:
            await asyncio.to_thread(hub.wait_ingesting)
        # Each store on its own node of the cluster; the hubs created R3 streams.
        clients = [await nats.connect(nats_cluster.url(i)) for i in (0, 2)]
        await assert_replicated(clients[0].jetstream(), nats_cluster)

        async def both_pulling() -> bool:  # a hub still binding the fresh R3 consumer gets nothing
            info = await clients[0].jetstream().consumer_info(subjects.UP_STREAM, DURABLE)
            return info.num_waiting >= 2

        deadline = asyncio.get_running_loop().time() + 30
        while not await both_pulling():
            assert asyncio.get_running_loop().time() < deadline, "both hubs never pulled"
            await asyncio.sleep(0.1)
        for mirror, client in zip((a, b), clients, strict=True):
            report = await sync.drain(mirror, client.jetstream(), batch_size=200)
            assert report.duplicates == 0 and report.published == committed_total(mirror)
        total = committed_total(a) + committed_total(b)
        await wait_until(lambda: sum(hub_rows(hub_db).values()) >= total, what="hub ingest")
        for client in clients:
            await client.close()
    finally:
        codes = [hub.stop() for hub in hubs]
    assert codes == [0, 0]
    ingested = [hub.ingested() for hub in hubs]
    # Both shared the consumer, each record was stored by one of them, and neither ran its
    # ingest loop twice (a fresh R3 consumer answers 503 until it has a leader: that must
    # not restart the loops and leave the old ingest running beside the new one).
    assert all(messages > 0 for _, messages, _ in ingested), ingested
    assert sum(stored for _, _, stored in ingested) == total
    assert [runs for runs, _, _ in ingested] == [1, 1], ingested
    storage = open_storage(hub_db)
    try:
        status = storage.store_status()
    finally:
        storage.close()
    for mirror in (a, b):
        store = mirror.require_store().store_id
        edge = sync.sync_status(mirror)
        assert all(v["pending"] == 0 for v in edge.values()), edge
        hub = status[store]
        assert hub["received"] == {k: v["acked"] for k, v in edge.items()}
        assert hub["chain_ok"] is True and hub["quarantined"] == 0
        length, head = audit.chain_head(mirror)
        assert (hub["chain_length"], hub["chain_head"]) == (length, head.hex())


def test_a_route_port_taken_after_it_was_chosen_starts_the_cluster_on_others(tmp_path, monkeypatch):
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    real_pick = natscluster.free_ports
    picks: list[list[int]] = []

    def pick(host: str, count: int) -> list[int]:
        ports = real_pick(host, count)
        if not picks:
            ports[1] = taken  # as if another process bound it between the check and the start
        picks.append(ports)
        return ports

    monkeypatch.setattr(natscluster, "free_ports", pick)
    cluster = NatsCluster(tmp_path / "cluster", attempts=2)
    try:
        cluster.start()
        assert len(picks) == 2 and taken not in picks[1]
        assert [node.route_port for node in cluster.nodes] == picks[1]
        assert all(node.healthy() for node in cluster.nodes)
    finally:
        cluster.stop()
    # Out of attempts: a clear error that says what happened.
    monkeypatch.setattr(natscluster, "free_ports", lambda host, count: [taken] * count)
    with pytest.raises(NatsServerError, match=r"exited .* at start") as caught:
        NatsCluster(tmp_path / "again", attempts=1).start()
    assert "took one of its ports" in caught.value.hint
    squatter.close()
