"""A process of simulated stores for the model-swap benchmark (test_bench_model_swap.py).

    python tests/bench/model_swap_child.py ROOT URL TRUST SLOT_SECONDS STORE...

One real edge agent per store (its own identity ``ROOT/creds/<store>.nk``, a small
simulated mirror, the hub's trust file), all on one clock that moves one hour every
SLOT_SECONDS of real time; each agent cycles at every store-local full hour, so every
store has a scheduled cycle each slot. Writes ``ROOT/<first store>.ready`` once every
agent is connected and has loaded its models; when ``ROOT/stop`` appears the clock stops,
the agents get one more slot to run what is due, and ``ROOT/<first store>.json`` gets,
per store: scheduled cycles (the catch-up at start plus one per slot) and cycles run,
when (wall clock) it started serving each version, and its swap reports.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge_agent.clock import FixedClock
from edge_agent.config import EdgeSettings
from edge_agent.daemon import Agent
from storeedge.v1 import model_pb2

HOURS = [f"{h:02d}:00" for h in range(24)]


class TimedAgent(Agent):
    """An agent that notes when it starts serving each version (wall clock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.served_at: dict[str, float] = {}

    def _serve_model(self, name: str, model: Any, manifest: Any) -> dict[str, str]:
        serving = super()._serve_model(name, model, manifest)
        self.served_at[f"{name} {manifest.version}"] = time.time()
        return serving


async def main(root: Path, url: str, trust: Path, slot_s: float, stores: list[str]) -> None:
    from tests.helpers import simulated_store

    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(64))
    # 05:30 at the simulated stores (UTC-5): each advance crosses exactly one full hour.
    clock = FixedClock(datetime(2026, 6, 29, 10, 30, tzinfo=UTC))
    agents = []
    for store in stores:
        db = root / f"{store}.db"
        simulated_store(db, store, seed=int(store[1:]), skus=20, days=40, cycles=0).close()
        settings = EdgeSettings(
            db=db, nats_url=url, nats_creds=root / "creds" / f"{store}.nk", trust=[trust],
            cycle_times=HOURS, heartbeat_interval_s=2.0, reconnect_jitter_s=0.0,
            backoff_max_s=2.0,
        )  # fmt: skip
        agents.append(TimedAgent(settings, clock=clock))
    tasks = [asyncio.create_task(agent.run()) for agent in agents]
    await asyncio.wait_for(asyncio.gather(*(a.connected.wait() for a in agents)), 120)
    while not all(a.model_versions for a in agents):
        await asyncio.sleep(0.1)
    (root / f"{stores[0]}.ready").touch()
    slots = 0
    stop = root / "stop"
    while not stop.exists():
        await asyncio.sleep(slot_s)
        clock.advance(timedelta(hours=1))
        slots += 1
    await asyncio.sleep(slot_s)  # what is due runs
    result = {}
    for store, agent in zip(stores, agents, strict=True):
        result[store] = {
            "scheduled": 1 + slots,
            "cycles": int(agent.metrics.counters.get("storeedge_cycles_total", 0)),
            "served_at": agent.served_at,
            "reports": [{"version": r.version, "outcome": model_pb2.ModelSwapOutcome.Name(
                r.outcome), "reason": r.reason, "swap_seconds": r.swap_seconds}
                for r in agent.updater.reports],
            "loop_errors": agent.loop_errors,
        }  # fmt: skip
    for agent in agents:
        agent.stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    (root / f"{stores[0]}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]),
                     sys.argv[5:]))  # fmt: skip
