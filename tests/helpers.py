"""Helpers shared by tests: small simulated stores with decision cycles behind them, what a
hub database holds, the kit's commands as processes, waiting for a condition."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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
