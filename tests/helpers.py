"""Helpers shared by tests: small simulated stores with decision cycles behind them."""

from __future__ import annotations

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
