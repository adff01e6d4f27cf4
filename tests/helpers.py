"""Helpers shared by tests: small simulated stores with decision cycles behind them, what a
hub database holds, the kit's commands as processes, waiting for a condition."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from edge_agent.clock import FixedClock
from edge_agent.cycle import load_models, run_cycle
from edge_agent.mirror import Mirror, open_mirror
from edge_agent.policy import Policy
from edge_agent.simulation import run_simulation
from models import BOOTSTRAP_DIR

#: The last simulated day (a Sunday); cycles run on the days after it.
SIM_END = date(2026, 6, 28)


def simulated_store(
    path: Path, store_id: str = "S001", *, seed: int, skus: int = 60, days: int = 70,
    cycles: int = 2,
) -> Mirror:  # fmt: skip
    """A simulated store with ``cycles`` decision cycles (06:00 local) after ``SIM_END``:
    decisions, audit records and history to sync. The caller closes the mirror."""
    clock = FixedClock(datetime(2026, 6, 29, 11, tzinfo=UTC))
    mirror = open_mirror(path, clock=clock)
    run_simulation(mirror, store_id=store_id, skus=skus, days=days, seed=seed, end_date=SIM_END)
    models = load_models(BOOTSTRAP_DIR)
    for offset in range(1, cycles + 1):
        day = SIM_END + timedelta(days=offset)
        clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
        run_cycle(mirror, models, Policy(), day)
    return mirror


def empty_store(path: Path, store_id: str = "S001", tz: str = "Europe/Berlin") -> Path:
    """A mirror with its store configured and nothing else (for agents that only connect)."""
    mirror = open_mirror(path)
    with mirror.transaction():
        mirror.set_store(store_id, tz)
    mirror.close()
    return path


def hub_rows(hub_db: Path) -> dict[str, int]:
    """Records and audit entries in a hub database (read while `cloud-hub serve` writes)."""
    if not hub_db.exists():
        return {}
    conn = sqlite3.connect(hub_db, timeout=30)
    try:
        counts = dict(conn.execute("SELECT record_type, COUNT(*) FROM records GROUP BY 1"))
        counts["audit"] = conn.execute("SELECT COUNT(*) FROM audit_entries").fetchone()[0]
        return counts
    except sqlite3.OperationalError:  # the schema is being created
        return {}
    finally:
        conn.close()


async def wait_until(
    predicate: Callable[[], object], what: str = "condition", timeout_s: float = 60.0
) -> None:
    """Poll ``predicate`` every 0.1 s without blocking the event loop; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


BIN = Path(sys.executable).parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(BIN), **(env or {})},
    )


def start(log: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        [str(BIN / args[0]), *args[1:]],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={"PATH": str(BIN), **(env or {})},
    )


def status_mib(field: str, pid: int | str = "self") -> float:
    """A memory figure of ``/proc/<pid>/status`` in MiB: ``VmRSS`` (now) or ``VmHWM`` (the
    peak since the process started, or since writing 5 to its ``clear_refs``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def wait_for(predicate, timeout_s: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def agreement(db: Path, hub_db: Path) -> tuple[dict, dict] | None:
    """(edge status, hub store status) once the hub has everything the store committed."""
    edge = json.loads(cli("edge-agent", "status", "--db", str(db), "--json").stdout)
    done = cli("cloud-hub", "status", "--db", str(hub_db), "--json")
    if not done.stdout:
        return None
    hub = json.loads(done.stdout)["stores"].get(edge["store"])
    if hub is None:
        return None
    committed = {k: v["committed"] for k, v in edge["sync"].items()}
    if hub["received"] != committed or any(v["pending"] for v in edge["sync"].values()):
        return None
    return edge, hub


async def drain_through(
    mirror: Mirror, js, fault: Callable[[], Awaitable[object]], what: str
) -> int:
    """Start a drain, let ``fault`` strike once 1,000 audit acks are in, then drain again
    until nothing is pending; returns how many drains the fault made fail."""
    from edge_agent import sync
    from edge_agent.errors import SyncError

    drain = asyncio.create_task(sync.drain(mirror, js, batch_size=200, ack_timeout_s=2.0))
    await wait_until(lambda: sync.sync_status(mirror)["audit"]["acked"] > 1_000, what="acks")
    assert not drain.done(), f"the drain finished before the {what}: make the backlog bigger"
    await fault()
    failures = 0
    try:
        await drain
    except SyncError:
        failures += 1
    while any(v["pending"] for v in sync.sync_status(mirror).values()):
        try:
            await sync.drain(mirror, js, batch_size=200, ack_timeout_s=2.0)
        except SyncError:
            failures += 1
            await asyncio.sleep(0.3)
    return failures


# -- a hub with registered stores, signing keys and an embedded nats-server ------------------
def shipped_version(model: str) -> str:
    """The version of ``model`` the agents serve from the bootstrap folder."""
    return json.loads((BOOTSTRAP_DIR / f"{model}.manifest.json").read_text())["version"]


@dataclass
class Fleet:
    """A hub database with stores registered (one nkey each), a signing key and the public
    keys the stores trust, and the URL of the embedded nats-server enforcing them."""

    root: Path
    db: Path
    url: str
    hub_seed: Path
    creds: dict[str, Path]
    trust: Path

    def hub_settings(self, **overrides: Any):
        from cloud_hub.config import HubSettings

        return HubSettings(db=self.db, nats_url=self.url, nats_creds=self.hub_seed, **overrides)

    def folder(self, version: str, *, model: str = "replenishment_daily",
               onnx_bytes: bytes | None = None, feature_spec: str | None = None,
               signed_by: Path | None = None, min_agent: str | None = None,
               metrics: dict[str, float] | None = None) -> Path:  # fmt: skip
        """A copy of the shipped ``model`` at ``version`` (other bytes, feature spec or
        manifest metrics if given), signed by the hub (or by the hub database
        ``signed_by``)."""
        from google.protobuf import json_format

        from cloud_hub.cli import main as hub_cli
        from storeedge.v1 import model_pb2

        folder = self.root / "versions" / f"{model}-{version}-{signed_by is not None}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(BOOTSTRAP_DIR, folder)
        for other in folder.glob("*.manifest.json"):
            if other.name != f"{model}.manifest.json":
                other.unlink()
        path = folder / f"{model}.manifest.json"
        manifest = json_format.Parse(path.read_text(), model_pb2.ModelManifest())
        manifest.version = version
        manifest.parent_version = shipped_version(model)
        if onnx_bytes is not None:
            (folder / f"{model}.onnx").write_bytes(onnx_bytes)
            manifest.sha256 = hashlib.sha256(onnx_bytes).hexdigest()
        if feature_spec is not None:
            manifest.feature_spec_hash = feature_spec
        if min_agent is not None:
            manifest.min_agent_version = min_agent
        manifest.metrics.update(metrics or {})
        path.write_text(json_format.MessageToJson(manifest))
        assert hub_cli(["models", "sign", str(folder), "--db", str(signed_by or self.db)]) == 0
        return folder

    def agent(self, store_id: str, clock: FixedClock, **overrides: Any):
        from edge_agent.config import EdgeSettings
        from edge_agent.daemon import Agent

        db = self.root / f"{store_id}.db"
        if not db.exists():
            simulated_store(db, store_id, seed=int(store_id[1:]), skus=20, days=40,
                            cycles=0).close()  # fmt: skip
        settings = EdgeSettings(**{
            "db": db, "nats_url": self.url, "nats_creds": self.creds[store_id],
            "trust": [self.trust], "heartbeat_interval_s": 0.3, "cycle_times": ["06:00"],
            "reconnect_jitter_s": 0.0, "backoff_max_s": 0.5, "sync_interval_s": 0.5,
            **overrides})  # fmt: skip
        return Agent(settings, clock=clock)


def start_fleet(root: Path, rings: dict[str, str]):
    """Register ``rings`` (store -> ring), start the embedded nats-server, make the hub's
    signing key; returns (Fleet, server): the caller stops the server."""
    from cloud_hub.cli import main as hub_cli
    from cloud_hub.config import HubSettings
    from cloud_hub.identity import write_seed
    from cloud_hub.registry import Registry
    from cloud_hub.serve import start_embedded_nats

    settings = HubSettings(db=root / "hub.db", embedded_nats_dir=root / "nats")
    creds = {}
    with Registry(settings.db) as registry:
        for store, ring in rings.items():
            _, seed = registry.add_store(store, ring=ring)
            creds[store] = settings.store_creds_dir() / f"{store}.nk"
            write_seed(creds[store], seed)
    server = start_embedded_nats(settings)
    assert hub_cli(["keys", "generate", "--db", str(settings.db)]) == 0
    trust = root / "hub-keys.pub"
    assert hub_cli(["keys", "public", "--db", str(settings.db), "--out", str(trust)]) == 0
    return Fleet(root, settings.db, server.url, settings.hub_seed_file(), creds, trust), server


def morning(day: int = 29) -> FixedClock:
    """05:00 at the simulated store (UTC-5), the day after its history ends: the 06:00
    cycle is not due yet (the previous day's catch-up cycle runs at start)."""
    return FixedClock(datetime(2026, 6, day, 10, 0, tzinfo=UTC))


def heartbeat_at_hub(db: Path, store_id: str) -> bool:
    conn = sqlite3.connect(db, timeout=30)
    try:
        query = "SELECT heartbeat FROM stores WHERE store_id = ?"
        row = conn.execute(query, (store_id,)).fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()
    return bool(row and row[0])


class Running:
    """A hub (in this event loop) and agents, stopped at the end."""

    def __init__(self, fleet: Fleet, **hub_settings: Any) -> None:
        from cloud_hub.serve import Hub

        self.fleet = fleet
        self.hub = Hub(fleet.hub_settings(**hub_settings))
        self.tasks = [asyncio.create_task(self.hub.run())]
        self.agents: list[Any] = []

    def start(self, agent):
        self.agents.append(agent)
        self.tasks.append(asyncio.create_task(agent.run()))
        return agent

    async def stop(self, agent) -> None:
        agent.stop.set()
        index = self.agents.index(agent)
        await asyncio.wait_for(self.tasks.pop(index + 1), 30)
        self.agents.pop(index)

    async def close(self) -> None:
        for agent in list(self.agents):
            await self.stop(agent)
        self.hub.stop.set()
        await asyncio.wait_for(self.tasks[0], 30)

    async def hub_js(self):
        from storeedge import link

        client = await link.connect(link.LinkOptions((self.fleet.url,), "test-hub",
                                                     creds=self.fleet.hub_seed))  # fmt: skip
        return client, client.jetstream()
