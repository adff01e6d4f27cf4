"""Reconnect storm: 50 stores come back at once after a hub-side outage.

50 real edge daemons (``edge_agent.daemon.Agent``, several per process as the
issue allows, here all in one) are connected to a real nats-server with a
``cloud-hub serve`` process ingesting. The server goes down; each store then
queues 2,000 records (audit entries, ~200 bytes each) while offline; the server
comes back on the same port and store. Measured: the time from the server's
return until the hub database holds all 100,000 records, and the hub process's
peak RSS over the round.

Two rounds, same run: the kit's defaults for a fleet (each store waits a random
0-10 s after reconnecting, then drains at most 100 kB/s), and the raw limit
(no jitter, no cap: every store drains at once, as fast as it can).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_agent import audit
from edge_agent.config import EdgeSettings
from edge_agent.daemon import Agent
from edge_agent.mirror import open_mirror
from storeedge.natsserver import NatsServer
from storeedge.v1 import audit_pb2
from tests.helpers import empty_store, hub_rows, status_mib

pytestmark = pytest.mark.bench

STORES = 50
RECORDS_PER_STORE = 2_000
JITTER_S = 10.0
CAP_BYTES_PER_S = 100_000
BIN = Path(sys.executable).parent
RESULTS: dict[str, float] = {}


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _queue(db: Path, store_id: str) -> None:
    """What a store decides while its link is down: records committed to its chain."""
    mirror = open_mirror(db, create=False)
    try:
        with mirror.transaction():
            for n in range(RECORDS_PER_STORE):
                audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_DECISION_CREATED,
                             subject_id=f"{store_id}:decision:{n}",
                             summary=f"order 12 x SKU{n:06d} (protection P90 41.3, on hand 9)",
                             attributes={"policy": "auto", "rule": "value<=500"})  # fmt: skip
    finally:
        mirror.close()


async def _storm(directory: Path, *, jitter_s: float, cap: float) -> tuple[float, float]:
    """One round on fresh stores, server and hub; (seconds to all at hub, hub peak RSS)."""
    directory.mkdir(parents=True)
    server = NatsServer(directory / "nats").start()
    hub_db = directory / "hub.db"
    hub = subprocess.Popen(
        [str(BIN / "cloud-hub"), "serve", "--db", str(hub_db), "--nats", server.url,
         "--insecure"], stdout=subprocess.DEVNULL, stderr=(directory / "hub.log").open("w"),
    )  # fmt: skip
    agents: list[Agent] = []
    tasks: list[asyncio.Task] = []
    try:
        dbs = []
        for n in range(STORES):
            db = empty_store(directory / f"S{n:03d}.db", f"S{n:03d}")
            dbs.append(db)
            settings = EdgeSettings(
                db=db, nats_url=server.url, insecure=True, cycle_times=[],
                reconnect_jitter_s=jitter_s, sync_max_bytes_per_s=cap,
                heartbeat_interval_s=10.0, backoff_max_s=5.0,
            )  # fmt: skip
            agents.append(Agent(settings))
        tasks = [asyncio.create_task(agent.run()) for agent in agents]
        await asyncio.wait_for(asyncio.gather(*(a.connected.wait() for a in agents)), 60)
        await asyncio.to_thread(server.stop)  # the hub side goes down
        await asyncio.gather(*(asyncio.to_thread(_queue, db, f"S{n:03d}")
                               for n, db in enumerate(dbs)))  # fmt: skip
        started = time.monotonic()
        await asyncio.to_thread(server.start)  # and comes back
        expected = STORES * RECORDS_PER_STORE
        while hub_rows(hub_db).get("audit", 0) < expected:
            assert time.monotonic() - started < 600, "the hub did not catch up in 10 min"
            assert hub.poll() is None, (directory / "hub.log").read_text()[-2000:]
            await asyncio.sleep(0.2)
        seconds = time.monotonic() - started
        return seconds, status_mib("VmHWM", hub.pid)
    finally:
        for agent in agents:
            agent.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        hub.terminate()
        hub.wait(60)
        server.stop()


def test_reconnect_storm_raw(benchmark, bench_tmp: Path) -> None:
    """Raw limit: no jitter, no cap."""
    seconds, rss = benchmark.pedantic(
        lambda: asyncio.run(_storm(bench_tmp / "storm-raw", jitter_s=0.0, cap=0.0)),
        rounds=1, iterations=1,
    )  # fmt: skip
    RESULTS["raw_s"] = seconds
    info = {"kind": "raw", "label": "raw limit: the same storm, no jitter and no cap",
            "unit": "rec/s", "median_s": seconds, "figure": STORES * RECORDS_PER_STORE / seconds,
            "peak_rss_mib": rss, "peak_rss_of": "the hub process (cloud-hub serve)",
            "rounds": 1}  # fmt: skip
    benchmark.extra_info.update(info)
    _say(f"storm raw: {seconds:.1f} s, hub peak RSS {rss:.0f} MiB")


def test_reconnect_storm(benchmark, bench_tmp: Path) -> None:
    """The kit's fleet behaviour: jittered drains, each capped."""
    seconds, rss = benchmark.pedantic(
        lambda: asyncio.run(_storm(bench_tmp / "storm", jitter_s=JITTER_S,
                                   cap=CAP_BYTES_PER_S)),
        rounds=1, iterations=1,
    )  # fmt: skip
    figure = STORES * RECORDS_PER_STORE / seconds
    info = {"kind": "storm",
            "label": f"{STORES} stores x {RECORDS_PER_STORE:,} queued records reconnect after "
            f"an outage (jitter 0-{JITTER_S:g} s, cap {CAP_BYTES_PER_S // 1000} kB/s each)",
            "unit": "rec/s", "median_s": seconds, "figure": figure, "peak_rss_mib": rss,
            "peak_rss_of": "the hub process (cloud-hub serve)", "rounds": 1,
            "target_text": "reported: time until all hub totals match, hub peak RSS",
            "target": None}  # fmt: skip
    if "raw_s" in RESULTS:
        info["raw_figure"] = STORES * RECORDS_PER_STORE / RESULTS["raw_s"]
        info["ratio"] = figure / info["raw_figure"]
    benchmark.extra_info.update(info)
    _say(f"storm: {seconds:.1f} s, hub peak RSS {rss:.0f} MiB")
