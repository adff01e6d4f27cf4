"""When the daemon's cycles run: store-local slots, the latest missed one once."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from edge_agent.config import EdgeSettings
from edge_agent.daemon import Agent, due_cycle_slot
from storeedge.retry import backoff_delay
from tests.helpers import empty_store

CHICAGO = ZoneInfo("America/Chicago")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO)


def test_the_latest_slot_at_or_before_now_runs_once():
    times = ["05:30", "14:00"]
    assert due_cycle_slot(at(27, 5, 29), times, at(26, 14)) is None
    assert due_cycle_slot(at(27, 5, 30), times, at(26, 14)) == at(27, 5, 30)
    assert due_cycle_slot(at(27, 6, 0), times, at(27, 5, 30)) is None  # done already
    # Down all night and half the day: only the latest missed slot runs, once.
    assert due_cycle_slot(at(27, 15, 0), times, at(26, 5, 30)) == at(27, 14)
    # A first start runs the slot it missed today (yesterday's if none yet today).
    assert due_cycle_slot(at(27, 4, 0), times, None) == at(26, 14)


def test_backoff_is_capped_and_jittered():
    delays = [backoff_delay(failures, cap_s=10.0) for failures in range(1, 40)]
    assert all(0 <= d <= 10.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 30  # full jitter: not a fixed ladder
    assert max(backoff_delay(2, cap_s=60.0) for _ in range(200)) <= 0.5 * 2**2 + 1e-9


def test_after_a_reconnect_each_store_waits_its_own_share_of_the_jitter_window(tmp_path):
    db = empty_store(tmp_path / "s1.db")
    settings = EdgeSettings(db=db, nats_url="nats://127.0.0.1:1", insecure=True,
                            reconnect_jitter_s=30.0, sync_max_bytes_per_s=250_000)  # fmt: skip
    waits = []
    for _ in range(20):
        agent = Agent(settings)
        assert agent.cap is not None and agent.cap.rate == 250_000
        before = time.monotonic()
        agent._link_event("reconnected", "")
        waits.append(agent.drain_not_before - before)
        assert agent.wake_drain.is_set()
        agent.close()
    assert all(0 <= w <= 30.0 for w in waits)
    assert max(waits) - min(waits) > 5.0  # spread out, not one moment for the fleet
    agent = Agent(settings.model_copy(update={"reconnect_jitter_s": 0.0,
                                              "sync_max_bytes_per_s": 0.0}))  # fmt: skip
    agent._link_event("reconnected", "")
    assert agent.drain_not_before <= time.monotonic() and agent.cap is None
    agent.close()
