"""Exactly-once sync through real faults, with real processes and a real nats-server.

- kill -9 of the edge agent at named failpoints during cycles and drains, and of
  the hub during ingest (seeded; every kill is counted and asserted);
- nats-server restarted in the middle of a drain;
- a store offline through two hours of decisions on a controlled clock, then back.

After each: the hub's totals per store equal the store's, no record twice, no
order twice, and both sides' chains verify to the same head.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest

from cloud_hub.ingest import consume, ensure_streams
from cloud_hub.storage import open_storage
from edge_agent import audit, decisions, executor, sync
from edge_agent.clock import FixedClock
from edge_agent.config import load_settings
from edge_agent.daemon import Agent
from edge_agent.mirror import open_mirror
from storeedge.natsserver import NatsServer
from storeedge.v1 import audit_pb2
from tests.helpers import SIM_END, drain_through, hub_rows, simulated_store, wait_until

BIN = Path(sys.executable).parent
END = SIM_END
EDGE_POINTS = ("sync.after_publish", "sync.before_settle")
CYCLE_POINTS = ("decision.before_commit", "cycle.after_commit", "decision.before_outbox")
HUB_POINTS = ("ingest.before_commit", "ingest.before_ack")
KILLED = (137, -9)


def simulated(path: Path, *, cycles: int) -> None:
    simulated_store(path, seed=9, skus=80, cycles=cycles).close()


def run(*args: str, failpoint: str | None = None, prefix: str = "EDGE", **env: str):
    environment = {"PATH": str(BIN), **env}
    if failpoint:
        environment[f"STOREEDGE_{prefix}_FAILPOINT"] = failpoint
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True,
                          env=environment, timeout=120)  # fmt: skip


class HubProcess:
    def __init__(self, tmp: Path, url: str) -> None:
        self.db, self.url, self.tmp = tmp / "hub.db", url, tmp
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, failpoint: str | None = None) -> None:
        env = {"PATH": str(BIN)}
        if failpoint:
            env["STOREEDGE_HUB_FAILPOINT"] = failpoint
        self.starts += 1
        log = (self.tmp / f"hub-{self.starts}.log").open("w")
        self.process = subprocess.Popen(
            [str(BIN / "cloud-hub"), "serve", "--db", str(self.db), "--nats", self.url,
             "--insecure"], stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(30)
        self.process = None
        return code


def assert_agree(store_db: Path, hub_db: Path) -> None:
    """The hub holds exactly what the store committed, once; both chains verify alike."""
    mirror = open_mirror(store_db, create=False)
    try:
        edge = sync.sync_status(mirror)
        assert all(v["pending"] == 0 for v in edge.values()), edge
        report = audit.verify(mirror)
        assert report.ok, report.problem
        store_decisions = {r[0] for r in mirror.conn.execute("SELECT decision_id FROM decisions")}
        twice = mirror.conn.execute(
            "SELECT COUNT(*) FROM (SELECT sku, order_date FROM decisions WHERE kind = 'order' "
            "AND state NOT IN ('rejected', 'expired', 'superseded', 'failed') "
            "GROUP BY sku, order_date HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert twice == 0
    finally:
        mirror.close()
    storage = open_storage(hub_db)
    try:
        store = storage.store_status()["S001"]
        hub_decisions = {r[0] for r in storage.conn.execute(
            "SELECT record_id FROM records WHERE record_type = 'decision'")}  # fmt: skip
    finally:
        storage.close()
    assert store["received"] == {k: v["committed"] for k, v in edge.items()}
    assert hub_decisions == store_decisions
    assert store["chain_ok"] is True
    assert (store["chain_length"], store["chain_head"]) == (report.length, report.head.hex())


def add_backlog(store_db: Path, n: int = 100) -> None:
    """Real records to send: configuration changes, audited like any other."""
    mirror = open_mirror(store_db, create=False)
    with mirror.transaction():
        for k in range(n):
            audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED, summary=f"tuning {k}")
    mirror.close()


def test_kill_nine_at_failpoints_loses_and_duplicates_nothing(nats_server, tmp_path):
    store_db = tmp_path / "s1.db"
    simulated(store_db, cycles=1)
    rng = random.Random(20261126)
    hub = HubProcess(tmp_path, nats_server.url)
    hub.start()
    kills: dict[str, int] = {}
    link = ("--nats", nats_server.url, "--insecure")
    small = {"STOREEDGE_EDGE_SYNC_BATCH": "20"}

    def killed(point: str, code: int | None) -> None:
        if code in KILLED:
            kills[point.split(":")[0]] = kills.get(point.split(":")[0], 0) + 1

    try:
        for round_no in range(8):
            # 1. A cycle for a new business day, killed while it records decisions; the
            #    restarted agent runs it again.
            day = (END + timedelta(days=2 + round_no)).isoformat()
            point = f"{rng.choice(CYCLE_POINTS)}:{rng.randint(1, 12)}"
            if point.startswith("cycle.after_commit"):
                point = f"cycle.after_commit:{rng.randint(1, 3)}"
            done = run("edge-agent", "cycle", "--db", str(store_db), "--as-of", day,
                       failpoint=point)  # fmt: skip
            killed(point, done.returncode)
            done = run("edge-agent", "cycle", "--db", str(store_db), "--as-of", day)
            assert done.returncode == 0, done.stderr
            # 2. A drain killed between publishing and recording the acks.
            add_backlog(store_db)
            point = f"{rng.choice(EDGE_POINTS)}:{rng.randint(1, 4)}"
            done = run("edge-agent", "sync", "--db", str(store_db), *link, failpoint=point,
                       **small)  # fmt: skip
            killed(point, done.returncode)
            # 3. The hub killed mid-ingest (before its commit, or after it and before acking).
            add_backlog(store_db)
            point = f"{rng.choice(HUB_POINTS)}:1"
            hub.stop()
            hub.start(failpoint=point)
            done = run("edge-agent", "sync", "--db", str(store_db), *link, **small)
            assert done.returncode == 0, done.stderr
            try:
                code = hub.process.wait(30)
            except subprocess.TimeoutExpired:
                code = None
            killed(point, code)
            hub.stop()
            hub.start()
        assert sum(kills.values()) >= 20, kills
        assert set(kills) >= {*EDGE_POINTS, *HUB_POINTS, "decision.before_commit"}, kills
        # Link back, agent and hub healthy: a clean drain, and they agree exactly.
        done = run("edge-agent", "sync", "--db", str(store_db), *link)
        assert done.returncode == 0, done.stderr
        asyncio.run(_wait_for_hub(store_db, hub.db))
    finally:
        hub.stop()
    assert_agree(store_db, hub.db)


async def _wait_for_hub(store_db: Path, hub_db: Path) -> None:
    mirror = open_mirror(store_db, create=False)
    committed = sum(v["committed"] for v in sync.sync_status(mirror).values())
    mirror.close()
    await wait_until(lambda: sum(hub_rows(hub_db).values()) >= committed, what="hub ingest")


async def _wait_for_ingest(mirror, storage, what: str) -> None:
    """Until the hub's storage has received everything the store committed."""
    committed = sum(v["committed"] for v in sync.sync_status(mirror).values())

    def received() -> int:
        return sum(sum(s["received"].values()) for s in storage.store_status().values())

    await wait_until(lambda: received() >= committed, what=what)


async def test_nats_restart_mid_drain(nats_server, tmp_path):
    store_db = tmp_path / "s1.db"
    simulated(store_db, cycles=1)
    mirror = open_mirror(store_db, create=False)
    with mirror.transaction():  # a real backlog: 6,000 more audit records
        for n in range(6_000):
            audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED, summary=f"change {n}")
    storage = open_storage(tmp_path / "hub.db")
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await ensure_streams(js)
    stop = asyncio.Event()
    ingest = asyncio.create_task(consume(nc, storage, stop=stop, idle_wait_s=0.2))
    try:
        failures = await drain_through(
            mirror, js, lambda: asyncio.to_thread(nats_server.restart), "restart"
        )
        # drain_through checked the drain was running when the server went down; the client
        # then lost its connection, and the drain either failed and was retried or rode the
        # reconnect through (its acks came back in time): both are fine, losing is not.
        assert nc.stats["reconnects"] >= 1, f"the restart went unnoticed ({failures} failures)"
        await _wait_for_ingest(mirror, storage, "hub ingest after the restart")
    finally:  # a failed check must still stop the consumer, or teardown waits on it
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ingest, timeout=10)
        await nc.close()
        mirror.close()
        storage.close()
    assert_agree(store_db, tmp_path / "hub.db")


async def test_store_offline_for_two_hours_of_decisions(tmp_path):
    store_db = tmp_path / "s1.db"
    simulated(store_db, cycles=0)
    server = NatsServer(tmp_path / "nats").start()
    url, port = server.url, server.port
    server.stop()  # the hub's side is down: the store must keep deciding
    day = END + timedelta(days=1)
    # 05:50 in the store (America/Chicago, UTC-5 in summer); cycles every 20 minutes.
    clock = FixedClock(datetime(day.year, day.month, day.day, 10, 50, tzinfo=UTC))
    settings = load_settings(
        db=store_db, nats_url=url, insecure=True, backoff_max_s=0.5, sync_interval_s=0.2,
        heartbeat_interval_s=0.5,
        cycle_times=[f"{h:02d}:{m:02d}" for h in (6, 7) for m in (0, 20, 40)],
    )  # fmt: skip
    agent = Agent(settings, clock=clock)
    task = asyncio.create_task(agent.run())
    side = open_mirror(store_db, create=False, clock=clock)
    try:
        for _ in range(12):  # two hours in steps of ten minutes
            clock.advance(timedelta(minutes=10))
            await asyncio.sleep(0.4)
            # Store staff keep working: approvals and shelf-check results, all offline.
            for row in decisions.list_decisions(side, state="pending", limit=1):
                decisions.transition(side, row.decision_id, "approved", actor="ana",
                                     reason="checked the shelf")  # fmt: skip
            for row in decisions.list_decisions(side, state="auto", kind="shelf_check", limit=1):
                executor.complete_shelf_check(side, row.decision_id, found=False, by="ana")
        await wait_until(lambda: agent.last_cycle is not None, what="a cycle while offline")
        backlog = sync.sync_status(side)
        assert backlog["decisions"]["pending"] > 0 and backlog["decisions"]["acked"] == 0
        assert backlog["decision_states"]["pending"] > 0
        assert backlog["shelf_checks"]["pending"] > 0
        assert agent.health()[1]["connected"] is False
        # The hub side comes back on the same address.
        server = NatsServer(tmp_path / "nats", port=port).start()
        storage = open_storage(tmp_path / "hub.db")
        nc = await nats.connect(url)
        js = nc.jetstream()
        await ensure_streams(js)
        stop = asyncio.Event()
        ingest = asyncio.create_task(consume(nc, storage, stop=stop, idle_wait_s=0.2))
        await wait_until(
            lambda: all(v["pending"] == 0 for v in sync.sync_status(side).values()),
            what="the backlog to drain",
        )
        await _wait_for_ingest(side, storage, "hub ingest")
        stop.set()
        await ingest
        await nc.close()
        storage.close()
    finally:
        agent.stop.set()
        await asyncio.wait_for(task, 30)
        side.close()
        server.stop()
    assert json.loads(json.dumps(agent.health()[1]))["loop_errors"] == {}
    assert_agree(store_db, tmp_path / "hub.db")


@pytest.fixture(autouse=True)
def _no_stray_failpoints(monkeypatch):
    monkeypatch.delenv("STOREEDGE_EDGE_FAILPOINT", raising=False)
    monkeypatch.delenv("STOREEDGE_HUB_FAILPOINT", raising=False)
