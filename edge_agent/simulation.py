"""Writes a simulated store into a mirror through the same ingest path as real exports.

:mod:`edge_agent.simulate` generates the store (pure, deterministic per seed);
this module feeds its POS batches to :class:`Ingestor` (validation, quarantine,
audit included) and stores the ground truth in the ``sim_truth_*`` tables. It
can also write a day's POS sales-line export with deliberately bad rows, to
show what ingest does with them.
"""

from __future__ import annotations

import csv
import itertools
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from edge_agent import audit
from edge_agent.errors import StoreConflictError
from edge_agent.mirror import Ingestor, Mirror
from edge_agent.simulate import SimConfig, generate
from storeedge.v1 import audit_pb2

__all__ = ["run_simulation", "write_pos_export"]

_TRUTH_SQL = {
    "truth_daily": "INSERT OR REPLACE INTO sim_truth_daily"
    "(sku, start_date, days, true_demand, shelf_on_hand, system_on_hand) VALUES (?, ?, ?, ?, ?, ?)",
    "truth_hourly": "INSERT OR REPLACE INTO sim_truth_hourly(date, hour, true_traffic) "
    "VALUES (?, ?, ?)",
}


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def run_simulation(
    mirror: Mirror,
    *,
    store_id: str,
    skus: int,
    days: int,
    seed: int,
    end_date: date | None = None,
    time_zone: str = "America/Chicago",
    skew_tolerance_s: float = 300.0,
    pos_export: Path | None = None,
    bad_rows: int = 0,
    progress: bool = False,
    line_days: int = SimConfig.line_days,
    phantom_rate: float = SimConfig.phantom_rate,
) -> dict[str, Any]:
    """Simulate ``skus`` x ``days`` ending ``end_date`` (default: the store's yesterday)."""
    current = mirror.store()
    if current is not None and current.store_id != store_id:
        raise StoreConflictError(
            f"mirror {mirror.path} belongs to store {current.store_id}",
            hint="simulate into a new --db file",
        )
    if end_date is None:
        from zoneinfo import ZoneInfo

        end_date = mirror.clock.now().astimezone(ZoneInfo(time_zone)).date() - timedelta(days=1)
    cfg = SimConfig(
        store_id=store_id, skus=skus, days=days, seed=seed, end_date=end_date,
        time_zone=time_zone, line_days=line_days, phantom_rate=phantom_rate,
    )  # fmt: skip
    ingestor = Ingestor(mirror, skew_tolerance_s=skew_tolerance_s)
    started = time.perf_counter()
    loaded: dict[str, int] = {}
    quarantined = 0
    for kind, group in itertools.groupby(generate(cfg), key=lambda b: b.kind):
        # Materialize the batch objects (not their rows) before the group iterator moves on.
        batches = list(group)
        first = batches[0]
        if kind in _TRUTH_SQL:
            with mirror.transaction():
                for batch in batches:
                    cursor = mirror.conn.executemany(_TRUTH_SQL[kind], batch.rows)
                    loaded[kind] = loaded.get(kind, 0) + cursor.rowcount
            continue
        rows = itertools.chain.from_iterable(b.rows for b in batches)
        report = ingestor.ingest_rows(
            kind, first.header, rows, source=f"simulate:{store_id}:seed{seed}:{first.label}"
        )
        loaded[kind] = loaded.get(kind, 0) + report.rows_loaded
        quarantined += report.rows_quarantined
        _say(
            progress,
            f"simulate: {first.label:<40} {report.rows_loaded:>10} rows "
            f"({time.perf_counter() - started:6.1f} s)",
        )
    with mirror.transaction():
        record = audit.append(
            mirror,
            audit_pb2.AUDIT_EVENT_TYPE_SIMULATION,
            subject_id=store_id,
            summary=f"simulated {skus} SKUs x {days} days ending {end_date} (seed {seed})",
            attributes={
                "skus": str(skus),
                "days": str(days),
                "seed": str(seed),
                "end_date": end_date.isoformat(),
            },
        )
    result: dict[str, Any] = {
        "store": store_id,
        "skus": skus,
        "days": days,
        "seed": seed,
        "end_date": end_date.isoformat(),
        "rows_loaded": loaded,
        "rows_quarantined": quarantined,
        "seconds": round(time.perf_counter() - started, 2),
        "audit_record": record.record_id,
    }
    if pos_export is not None:
        result["pos_export"] = write_pos_export(
            mirror, pos_export, end_date, seed=seed, bad_rows=bad_rows
        )
    return result


def write_pos_export(
    mirror: Mirror, path: Path, day: date, *, seed: int = 0, bad_rows: int = 0
) -> dict[str, Any]:
    """Write the POS sales lines of ``day`` (matching its daily totals) plus ``bad_rows``
    deliberately bad ones, with payment columns a real export would carry."""
    store = mirror.require_store()
    rng = random.Random(seed)
    opening = datetime.combine(day, datetime.min.time(), store.tz) + timedelta(hours=8)
    sold = mirror.conn.execute(
        "SELECT d.sku, d.units, COALESCE(d.price, p.price, 1.0) FROM daily_sales d "
        "JOIN products p ON p.sku = d.sku WHERE d.date = ? AND d.units > 0 "
        "GROUP BY d.sku ORDER BY d.sku",
        (day.isoformat(),),
    ).fetchall()
    header = [
        "line_id",
        "timestamp",
        "sku",
        "qty",
        "unit_price",
        "basket_id",
        "line_type",
        "store_id",
        "card_number",
        "customer_id",
    ]
    lines: list[list[Any]] = []
    for sku, units, price in sold:
        remaining = float(units)
        while remaining > 0:
            qty = min(remaining, float(rng.randint(1, 3))) if remaining >= 1 else remaining
            remaining = round(remaining - qty, 3)
            at = opening + timedelta(seconds=rng.randint(0, 12 * 3600))
            basket = f"B{rng.randint(1, max(1, int(len(sold) * 2))):06d}"
            lines.append(
                [
                    None,
                    at.isoformat(timespec="seconds"),
                    sku,
                    round(qty, 3),
                    round(price, 2),
                    basket,
                    "sale",
                    store.store_id,
                    f"4{rng.randint(10**14, 10**15 - 1)}",
                    f"C{rng.randint(1, 10**6)}",
                ]
            )
    lines.sort(key=lambda r: r[1])
    for number, line in enumerate(lines, start=1):
        line[0] = f"{store.store_id}-{day:%Y%m%d}-{number:06d}"
    bad = _bad_lines(lines, bad_rows, day, store.store_id, rng)
    for position, line in bad:
        lines.insert(min(position, len(lines)), line)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(lines)
    return {"file": str(path), "lines": len(lines), "bad_rows": len(bad), "day": day.isoformat()}


def _bad_lines(
    lines: list[list[Any]], count: int, day: date, store_id: str, rng: random.Random
) -> list[tuple[int, list[Any]]]:
    """One bad row per quarantine reason, in turn, until ``count`` rows."""
    if not lines or count <= 0:
        return []
    template = lines[len(lines) // 2]
    future = (datetime.now().astimezone() + timedelta(days=3)).isoformat(timespec="seconds")
    spoilers = [
        ("sku", "SKU-NOT-LISTED"),
        ("qty", "two"),
        ("qty", "NaN"),
        ("qty", -1),
        ("timestamp", f"{day:%d/%m/%Y} 25:61"),
        ("timestamp", future),
        ("line_id", lines[0][0]),
        ("store_id", "S999" if store_id != "S999" else "S998"),
    ]
    header_index = {"line_id": 0, "timestamp": 1, "sku": 2, "qty": 3, "line_type": 6, "store_id": 7}
    out = []
    for n in range(count):
        column, value = spoilers[n % len(spoilers)]
        line = list(template)
        line[0] = f"{store_id}-{day:%Y%m%d}-BAD{n:04d}"
        line[header_index[column]] = value
        if column == "qty" and value == -1:
            line[header_index["line_type"]] = ""
        out.append((rng.randint(0, len(lines)), line))
    return out
