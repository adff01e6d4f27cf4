"""`make demo`'s weeks of store life: every business day's cycle, on what the store knew.

For each day D from ``--from`` to ``--to``, the mirror's clock is set to 06:00 in the
store on D and the edge cycle runs for D (``edge_agent.cycle.run_cycle``, the code
`edge-agent cycle --as-of D` runs; the command reads the wall clock, which would put every
past supplier cutoff behind us). The cycle reads only what was known on D's morning: sales
up to D - 1, the on-hand reported before D, orders placed before D. At 07:30 a simulated
store manager reviews the pending decisions: approves most, cuts a few orders by half
(an override), rejects a few; seeded by decision id, so every run is the same. At 08:00 a
clerk does the day's shelf checks and records what the shelf held (the simulator's ground
truth, ``sim_truth_daily``, at the close of the day the check was scored on). At 08:30, with
``--drop``, the day's executable decisions go to the ERP as one drop file (`edge-agent
submit`'s executor).

The simulated shelves keep following the store's old ordering process (the simulator
does not take orders back): what followed each decision is what the store saw. The
kit's effect on stock-outs is measured by `edge-agent lift`, on paired simulations. Two
consequences for the orders themselves (not for the forecasts they carry): the kit's
own orders never arrive, so for 14 days its stock position counts them as on order; and
the old process's orders that were in transit on D but arrived before the history ends
are in no open-orders snapshot, so the position misses them.

    python scripts/demo_weeks.py --db .demo/S001.db --from 2026-10-29 --to 2026-11-25
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
from demo_progress import Bar

from edge_agent import decisions
from edge_agent.clock import FixedClock
from edge_agent.cycle import load_models, run_cycle
from edge_agent.errors import DecisionError
from edge_agent.executor import complete_shelf_check, drop_submissions
from edge_agent.mirror import open_mirror
from edge_agent.policy import Policy
from models import BOOTSTRAP_DIR

CYCLE_AT = time(6, 0)
REVIEW_AT = time(7, 30)
CHECK_AT = time(8, 0)
SUBMIT_AT = time(8, 30)
# The simulated manager's habits: shares of pending decisions approved, overridden (order
# cut by half), the rest rejected.
APPROVE, OVERRIDE = 0.8, 0.1


def _review(mirror, day: date, by: str) -> Counter:  # type: ignore[no-untyped-def]
    steps: Counter = Counter()
    for row in decisions.list_decisions(mirror, state="pending", limit=100_000):
        if row.business_date != day.isoformat():
            continue
        draw = random.Random(row.decision_id).random()
        try:
            if draw < APPROVE or row.kind != "order":
                decisions.transition(mirror, row.decision_id, "approved", actor=by,
                                     reason="reviewed at the morning meeting")  # fmt: skip
                steps["approved"] += 1
            elif draw < APPROVE + OVERRIDE:
                decisions.transition(mirror, row.decision_id, "overridden", actor=by,
                                     reason="half: slow week expected",
                                     quantity=float(max(1, round(row.quantity / 2))))  # fmt: skip
                steps["overridden"] += 1
            else:
                decisions.transition(mirror, row.decision_id, "rejected", actor=by,
                                     reason="enough in the back room")  # fmt: skip
                steps["rejected"] += 1
        except DecisionError:  # its supplier cutoff was before the review
            steps["expired"] += 1
    return steps


def _shelves(mirror) -> dict[str, tuple[date, np.ndarray]]:  # type: ignore[no-untyped-def]
    """The simulator's shelf stock per SKU and day (units at the close)."""
    return {sku: (date.fromisoformat(start), np.frombuffer(shelf, "<f4"))
            for sku, start, shelf in mirror.conn.execute(
                "SELECT sku, start_date, shelf_on_hand FROM sim_truth_daily")}  # fmt: skip


def _check_shelves(mirror, result, shelves, by: str) -> Counter:  # type: ignore[no-untyped-def]
    scored = result.shelf_checks.get("scored_day")
    steps: Counter = Counter()
    for row in result.decisions:
        if row.kind != "shelf_check" or row.state not in ("auto", "approved") or not scored:
            continue
        start, shelf = shelves.get(row.sku, (None, np.zeros(0)))
        i = (date.fromisoformat(scored) - start).days if start else -1
        if not 0 <= i < len(shelf) or np.isnan(shelf[i]):
            continue
        counted = max(float(shelf[i]), 0.0)
        complete_shelf_check(mirror, row.decision_id, found=counted > 0, by=by, counted=counted)
        steps["found" if counted > 0 else "missing"] += 1
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the store's mirror")
    parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
    parser.add_argument("--by", default="store-manager", help="who reviews pending decisions")
    parser.add_argument("--clerk", default="clerk-7", help="who does the shelf checks")
    parser.add_argument("--drop", type=Path, help="hand each day's decisions to this folder")
    parser.add_argument("--json", type=Path, help="write the per-day counts here")
    args = parser.parse_args(argv)
    first, last = date.fromisoformat(args.first), date.fromisoformat(args.last)
    clock = FixedClock()
    mirror = open_mirror(args.db, clock=clock, create=False)
    store = mirror.require_store()
    models, policy = load_models(BOOTSTRAP_DIR), Policy()
    bar = Bar((last - first).days + 1, f"{store.store_id}: cycles {first} .. {last}")
    kinds: Counter = Counter()
    reviews: Counter = Counter()
    checks: Counter = Counter()
    submitted = 0
    shelves = _shelves(mirror)
    days = []
    day = first
    while day <= last:
        clock.instant = datetime.combine(day, CYCLE_AT, store.tz)
        result = run_cycle(mirror, models, policy, day)
        made = Counter(d.kind for d in result.decisions)
        kinds.update(made)
        clock.instant = datetime.combine(day, REVIEW_AT, store.tz)
        reviewed = _review(mirror, day, args.by)
        reviews.update(reviewed)
        clock.instant = datetime.combine(day, CHECK_AT, store.tz)
        checked = _check_shelves(mirror, result, shelves, args.clerk)
        checks.update(checked)
        if args.drop:
            clock.instant = datetime.combine(day, SUBMIT_AT, store.tz)
            args.drop.mkdir(parents=True, exist_ok=True)
            submitted += len(drop_submissions(mirror, args.drop).submitted)
        days.append({"day": day.isoformat(), "closed": result.closed, **made,
                     **{f"review_{k}": v for k, v in reviewed.items()},
                     **{f"shelf_{k}": v for k, v in checked.items()}})  # fmt: skip
        bar.step(f"{day}: {'closed' if result.closed else sum(made.values())}")
        day += timedelta(days=1)
    mirror.close()
    bar.finish(", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())))
    print(f"  pending reviewed by {args.by}: "
          + (", ".join(f"{k} {n}" for k, n in sorted(reviews.items())) or "none"))  # fmt: skip
    if args.drop:
        print(f"  handed to the ERP day by day: {submitted:,} decisions (files in {args.drop})")
    print(f"  shelf checks done by {args.clerk}: "
          + (", ".join(f"{k} {n:,}" for k, n in sorted(checks.items())) or "none"))  # fmt: skip
    if args.json:
        doc = {"kinds": kinds, "reviews": reviews, "shelf_checks": checks, "days": days}
        args.json.write_text(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
