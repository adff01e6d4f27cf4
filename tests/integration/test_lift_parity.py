"""The lift's kit arm orders what the edge cycle orders: the same simulated store, once
through ingest into a mirror and `run_cycle`, once in memory as `edge_agent.lift` replays
it, must give the same order quantities on the next business day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial

import numpy as np
import pytest

from edge_agent import lift
from edge_agent.clock import FixedClock
from edge_agent.cycle import WEEKDAYS, load_models, run_cycle
from edge_agent.mirror import open_mirror
from edge_agent.policy import Policy
from edge_agent.simulate import SimConfig, replay
from edge_agent.simulation import run_simulation
from models import BOOTSTRAP_DIR

END = date(2026, 6, 29)  # a Monday: the next day (Tuesday) is an order day for most
SKUS, DAYS, SEED = 120, 420, 5


@pytest.fixture(scope="module")
def models():
    return load_models(BOOTSTRAP_DIR)


def test_the_kit_arm_orders_what_run_cycle_orders(tmp_path, models) -> None:
    as_of = END + timedelta(days=1)
    clock = FixedClock(datetime(as_of.year, as_of.month, as_of.day, 11, tzinfo=UTC))  # 6 am
    mirror = open_mirror(tmp_path / "store.db", clock=clock)
    run_simulation(mirror, store_id="S001", skus=SKUS, days=DAYS, seed=SEED, end_date=END,
                   time_zone="America/Chicago", line_days=0)  # fmt: skip
    result = run_cycle(mirror, models, Policy(), as_of)
    mirror.close()
    cycle_orders = {d.sku: d.quantity for d in result.decisions
                    if d.kind == "order" and d.state != "blocked"}  # fmt: skip
    assert len(cycle_orders) >= 10  # enough orders for the comparison to mean something

    cfg = SimConfig(store_id="S001", skus=SKUS, days=DAYS, seed=SEED, end_date=END,
                    time_zone="America/Chicago", line_days=0)  # fmt: skip
    (world,) = list(replay(cfg))
    inputs = lift._KitInputs.of(world)
    # go_live past the end: the whole history is the old process, as the mirror holds it.
    proc = world.process(partial(lift._Kit, go_live=DAYS, inputs=inputs, models=models,
                                 policy=Policy()))  # fmt: skip
    world.run(proc)
    listed = ~np.isnan(inputs.regular[:, lift._PAD + DAYS])
    weekday = WEEKDAYS[as_of.weekday()]
    due = np.array([listed[j] and weekday in inputs.order_days[j] for j in range(SKUS)])
    placed = len(proc.orders)
    proc._kit_order(DAYS, due)
    replayed = {}
    for _day, idx, qty, *_ in proc.orders[placed:]:
        for j, q in zip(idx.tolist(), qty.tolist(), strict=True):
            replayed[str(world.cat.sku[j])] = q / float(world.cat.scale[j])
    assert replayed.keys() == cycle_orders.keys()
    for sku, quantity in cycle_orders.items():
        assert replayed[sku] == pytest.approx(quantity, rel=1e-6), sku
