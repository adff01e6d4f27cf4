"""Scale-out benchmark: the outbox drain through a 3-node cluster with R3 streams, as a
ratio to the same drain into a single server, same run, same records (issue 6).

Both measure ``sync.drain`` of the 100,000-record backlog of ``test_bench_sync`` (a fresh
copy of the same mirror each round, batches of 2,000, two in flight), 3 rounds each,
interleaved (single, cluster, single, ...) so that other jobs on a shared machine weigh on
both alike; medians:

- reference: a fresh single nats-server per round (JetStream, file storage, R1 streams);
- cluster: a fresh 3-node cluster per round (three nats-servers on 127.0.0.1, routes,
  each with its own JetStream store), the kit's streams with 3 replicas, the store's
  client connected to a node that does not lead STOREEDGE_UP (the usual case: a store
  reaches whichever node, the leader is one of three). A publish is acknowledged once a
  majority of the replicas stored it.

No target was set by the issue: the figure is the ratio, measured to know what R3 costs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import nats
import pytest

from cloud_hub.ingest import ensure_streams
from edge_agent import sync
from edge_agent.mirror import open_mirror
from storeedge import subjects
from storeedge.natscluster import NatsCluster
from storeedge.natsserver import NatsServer
from tests.bench.test_bench_sync import RECORDS, Backlog, _median, _record, backlog

pytestmark = pytest.mark.bench

__all__ = ["backlog"]  # the fixture, shared with test_bench_sync

ROUNDS = 3


async def _drain(urls: list[str], mirror_path: Path, replicas: int) -> tuple[float, int]:
    """Seconds for ``sync.drain`` of the whole backlog; the messages the stream then holds."""
    nc = await nats.connect(urls)
    js = nc.jetstream()
    await ensure_streams(js, replicas=replicas)
    mirror = open_mirror(mirror_path, create=False)
    try:
        started = time.perf_counter()
        report = await sync.drain(mirror, js, batch_size=2_000)
        elapsed = time.perf_counter() - started
        assert report.acked == RECORDS and report.duplicates == 0, report
        assert all(v["pending"] == 0 for v in sync.sync_status(mirror).values())
        info = await js.stream_info(subjects.UP_STREAM)
        assert info.config.num_replicas == replicas
        return elapsed, info.state.messages
    finally:
        mirror.close()
        await nc.close()


def _copy(backlog: Backlog, bench_tmp: Path, tag: str) -> Path:
    copy = bench_tmp / f"{tag}-{time.monotonic_ns()}.db"
    shutil.copyfile(backlog.template, copy)
    with copy.open("rb+") as handle:
        os.fsync(handle.fileno())  # no round pays for flushing the copy
    return copy


def _single_round(backlog: Backlog, bench_tmp: Path) -> float:
    """The drain into one fresh nats-server, R1 streams."""
    copy = _copy(backlog, bench_tmp, "single")
    directory = bench_tmp / f"single-{time.monotonic_ns()}"
    server = NatsServer(directory).start()
    try:
        elapsed, stored = asyncio.run(_drain([server.url], copy, replicas=1))
        assert stored == RECORDS
        return elapsed
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        copy.unlink()


def _cluster_round(backlog: Backlog, bench_tmp: Path, placements: list[tuple[int, int]]) -> float:
    """The drain through a fresh 3-node cluster, R3 streams, the client on a follower's node."""
    copy = _copy(backlog, bench_tmp, "cluster")
    directory = bench_tmp / f"cluster-{time.monotonic_ns()}"
    cluster = NatsCluster(directory).start()

    async def body() -> tuple[float, int]:
        nc = await nats.connect(cluster.url_list)
        await ensure_streams(nc.jetstream(), replicas=3)
        await nc.close()
        leader = await cluster.stream_leader(subjects.UP_STREAM)
        follower = (leader + 1) % len(cluster.nodes)
        placements.append((leader, follower))
        return await _drain([cluster.url(follower)], copy, replicas=3)

    try:
        elapsed, stored = asyncio.run(body())
        assert stored == RECORDS  # each record once in the replicated stream
        return elapsed
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
        copy.unlink()


def test_cluster_drain_r3(benchmark, backlog: Backlog, bench_tmp: Path) -> None:
    """The drain through a 3-node cluster with R3 streams vs one server, rounds interleaved
    (single, cluster, single, ...) so that load from other jobs on a shared machine falls
    on both alike."""
    single: list[float] = []
    clustered: list[float] = []
    placements: list[tuple[int, int]] = []

    def interleaved() -> None:
        for _ in range(ROUNDS):
            single.append(_single_round(backlog, bench_tmp))
            clustered.append(_cluster_round(backlog, bench_tmp, placements))

    benchmark.pedantic(interleaved, rounds=1, iterations=1)
    assert all(leader != client for leader, client in placements)
    median_s, single_s = _median(clustered), _median(single)
    figure, single_figure = RECORDS / median_s, RECORDS / single_s
    _record(benchmark, "drain, 3-node cluster R3", kind="cluster",
            label="outbox drain, 100,000 records, 3-node cluster, R3 streams (raw limit: the "
            "same drain into one server)", unit="msg/s", median_s=median_s, figure=figure,
            raw_figure=single_figure, raw_median_s=single_s, ratio=figure / single_figure,
            rounds=len(clustered), round_seconds=clustered, single_round_seconds=single,
            cluster_nodes=3, replicas=3)  # fmt: skip
