"""The process the cycle benchmark measures (run by tests/bench/test_bench_cycle.py).

    python tests/bench/cycle_child.py cycle DB AS_OF OUT.json
    python tests/bench/cycle_child.py bare DB AS_OF ROWS AVAILABILITY_ROWS ORDER_ROWS OUT.json

``cycle``: the agent's cycle as ``edge-agent cycle`` runs it (the shipped models, the
default policy), with the clock at 06:00 store time on AS_OF, so no supplier cutoff has
passed whatever day the benchmark runs; then the process's idle RSS after the cycle.
``bare``: the raw limit, reading what the cycle needs (the packed windows of 30,000 SKUs
x 429 days, three weeks of on hand and the packed hourly sales of 15 days) into arrays and
running the ONNX sessions on as many rows as the cycle scored (ROWS protection rows, one
day of hours, AVAILABILITY_ROWS availability rows, ORDER_ROWS rows of the protection mean
model: the orders' expected demand), nothing else.
Each writes its figures as JSON to OUT.json.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from edge_agent.clock import FixedClock
from edge_agent.cycle import load_models
from edge_agent.mirror import hours as H
from edge_agent.mirror import open_mirror
from edge_agent.mirror import windows as W
from models import BOOTSTRAP_DIR

HISTORY_DAYS, LOOKAHEAD_DAYS = 400, 28  # as edge_agent.cycle reads


def _rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_cycle(db: str, as_of: date) -> dict:
    from edge_agent.cycle import run_cycle as cycle
    from edge_agent.policy import Policy

    mirror = open_mirror(db, create=False)
    tz = mirror.require_store().tz
    mirror.clock = FixedClock(datetime.combine(as_of, datetime.min.time(), tz) + timedelta(hours=6))
    models = load_models(BOOTSTRAP_DIR)
    scored: list[int] = []
    predict = models.protection.predict
    models.protection.predict = lambda rows: (scored.append(len(rows)), predict(rows))[1]
    checked: list[int] = []
    assert models.availability is not None
    available = models.availability.predict
    models.availability.predict = lambda rows: (checked.append(len(rows)), available(rows))[1]
    expected: list[int] = []
    assert models.protection_mean is not None
    expect = models.protection_mean.predict
    models.protection_mean.predict = lambda rows: (expected.append(len(rows)), expect(rows))[1]
    started = time.perf_counter()
    result = cycle(mirror, models, Policy(), as_of)
    seconds = time.perf_counter() - started
    kinds: dict[str, int] = {}
    for d in result.decisions:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    shelf_model = result.shelf_checks.get("model")
    del result
    gc.collect()
    return {"seconds": seconds, "decisions": sum(kinds.values()), "kinds": kinds,
            "protection_rows": sum(scored), "availability_rows": sum(checked),
            "order_rows": sum(expected), "shelf_model": shelf_model,
            "idle_rss_mib": _rss_mib()}  # fmt: skip


def run_bare(db: str, as_of: date, rows: int, availability_rows: int, order_rows: int) -> dict:
    mirror = open_mirror(db, create=False)
    models = load_models(BOOTSTRAP_DIR)
    started = time.perf_counter()
    start, end = as_of - timedelta(days=HISTORY_DAYS), as_of + timedelta(days=LOOKAHEAD_DAYS)
    assert W.covers(mirror, start), "the template's windows do not cover the cycle"
    skus = [r[0] for r in mirror.conn.execute("SELECT DISTINCT sku FROM products ORDER BY sku")]
    index = {sku: i for i, sku in enumerate(skus)}
    shape = (len(skus), (end - start).days + 1)
    sales = np.full(shape, np.nan, dtype=np.float32)
    price = np.full(shape, np.nan, dtype=np.float32)
    promo = np.zeros(shape, dtype=np.float32)
    W.fill_days(mirror, start, index, sales, price, promo)
    on_hand = W.latest_on_hand(mirror, as_of - timedelta(days=21), as_of)
    last = date.fromisoformat(mirror.conn.execute("SELECT MAX(date) FROM daily_sales "
                                                  "WHERE date < ?", (as_of.isoformat(),)
                                                  ).fetchone()[0])  # fmt: skip
    stocked = {sku: i for i, sku in enumerate(s for s in skus if on_hand.get(s, 0.0) > 0)}
    hourly = H.hourly_sales(mirror, last - timedelta(days=14), 15, stocked)
    origin = HISTORY_DAYS - 1
    width = models.protection.n_features
    features = np.nan_to_num(sales[:rows, origin - width + 1 : origin + 1])
    models.protection.predict(features)
    assert models.protection_mean is not None
    models.protection_mean.predict(features[:order_rows])
    models.labor.predict(np.nan_to_num(sales[:24, origin - models.labor.n_features + 1 :
                                             origin + 1]))  # fmt: skip
    assert models.availability is not None
    width = models.availability.n_features
    models.availability.predict(hourly[:availability_rows, -width:])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "skus": len(skus), "days": shape[1], "rows": rows,
            "availability_rows": availability_rows, "order_rows": order_rows,
            "on_hand_skus": len(on_hand)}  # fmt: skip


def main(argv: list[str]) -> None:
    mode, db, as_of = argv[0], argv[1], date.fromisoformat(argv[2])
    figures = (run_cycle(db, as_of) if mode == "cycle"
               else run_bare(db, as_of, int(argv[3]), int(argv[4]), int(argv[5])))  # fmt: skip
    Path(argv[-1]).write_text(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
