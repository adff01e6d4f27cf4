"""Benchmark 1: ingest one day of POS sales lines into a mirror that already holds a year.

Target: at least 100,000 lines/s (median of 5 rounds). The raw limit, measured in the same
run: ``sqlite3.executemany`` of exactly the tuples the table stores, in one transaction, on
a copy of the same year-full mirror. See BENCHMARKS.md.

The year is prefilled by raw SQL (fast), together with the daily totals and hourly
transaction counts that ingesting those lines would have left; the mirror file is kept as
a template and copied (and fsynced) before every round, so each round starts from the same
year-full mirror and no round pays for flushing the previous copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from edge_agent import audit
from edge_agent.mirror import Ingestor, IngestReport, Mirror, hours, open_mirror, windows
from storeedge.v1 import audit_pb2

pytestmark = pytest.mark.bench

STORE, TZ = "S001", "Europe/Berlin"
SKUS = 2_000
YEAR_DAYS = 365
#: Lines per prefilled day. 20,000 builds the 7.3M-line template in well under 90 s here;
#: STOREEDGE_BENCH_LINES_PER_DAY=10000 halves it on a slower machine (BENCHMARKS.md says so).
LINES_PER_DAY = int(os.environ.get("STOREEDGE_BENCH_LINES_PER_DAY", "20000"))
DAY_LINES = 200_000
ROUNDS = 5
TARGET_LINES_PER_S = 100_000
SEED = 20260302

_HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
_COUNTER = [f"{i:07d}" for i in range(DAY_LINES + 1)]
_OPENS, _CLOSES = 8 * 3600, 20 * 3600  # store-local trading hours
_INSERT_RAW = "INSERT INTO sales_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- a store's assortment and its days of sales lines ---------------------------------------
@dataclass(frozen=True)
class Catalog:
    skus: list[str]
    categories: list[str]
    case_packs: list[int]
    price: np.ndarray  # per SKU (per kg for weighed produce), 2 decimals
    weighed: np.ndarray  # bool per SKU
    popularity: np.ndarray  # probabilities per SKU (a few fast movers, a long tail)


def make_catalog(rng: np.random.Generator) -> Catalog:
    categories = ["dairy", "bakery", "produce", "meat", "frozen", "grocery", "drinks", "household"]
    cat = rng.integers(0, len(categories), SKUS)
    weighed = (cat == 2) & (rng.random(SKUS) < 0.6)  # loose fruit and vegetables
    price = np.round(np.exp(rng.normal(0.9, 0.7, SKUS)), 1) + 0.09  # 0.49, 2.99, ...
    price = np.round(np.clip(price, 0.19, 49.99), 2)
    popularity = 1.0 / np.arange(1, SKUS + 1) ** 0.9
    popularity = rng.permutation(popularity / popularity.sum())
    return Catalog(
        skus=[f"SKU{i:06d}" for i in range(1, SKUS + 1)],
        categories=[categories[c] for c in cat.tolist()],
        case_packs=rng.choice([1, 6, 10, 12, 24], SKUS).tolist(),
        price=price,
        weighed=weighed,
        popularity=popularity,
    )


def write_products(path: Path, catalog: Catalog) -> None:
    lines = ["sku,category,case_pack"]
    lines += [
        f"{sku},{category},{1 if weighed else pack}"
        for sku, category, pack, weighed in zip(
            catalog.skus,
            catalog.categories,
            catalog.case_packs,
            catalog.weighed.tolist(),
            strict=True,
        )
    ]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Day:
    """One business day of POS lines, as the table stores them (file_id left out)."""

    day: date
    utc_offset: str  # "+01:00"
    rows: list[tuple]  # (line_id, ts_utc, business_date, local_hour, sku, qty, price, basket, type)
    local_seconds: list[int]  # per line, store-local second of the day
    sku_index: np.ndarray
    qty: np.ndarray
    basket_seconds: np.ndarray  # per basket


def make_day(day: date, n: int, catalog: Catalog, rng: np.random.Generator) -> Day:
    """``n`` sales lines of one day: baskets of ~4 lines sharing a timestamp, a lunchtime
    and an after-work peak, popular SKUs sold more, 1-3 pieces or a weight in kg."""
    sizes = rng.geometric(0.25, n)  # mean 4 lines per basket; n baskets are always enough
    ends = np.cumsum(sizes)
    baskets = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:baskets]
    sizes[-1] -= int(ends[baskets - 1]) - n
    pick = rng.random(baskets)
    at = np.where(
        pick < 0.3,
        rng.uniform(_OPENS, _CLOSES, baskets),
        np.where(
            pick < 0.6,
            rng.normal(12.5 * 3600, 3600, baskets),
            rng.normal(17.5 * 3600, 4300, baskets),
        ),
    )
    basket_seconds = np.sort(np.clip(at, _OPENS, _CLOSES - 1).astype(np.int64))
    local = np.repeat(basket_seconds, sizes)
    basket_no = np.repeat(np.arange(1, baskets + 1), sizes)
    sku_index = rng.choice(SKUS, n, p=catalog.popularity)
    pieces = np.choose(np.searchsorted([0.75, 0.93], rng.random(n)), [1.0, 2.0, 3.0])
    grams = np.round(rng.uniform(0.15, 2.5, n), 3)
    qty = np.where(catalog.weighed[sku_index], grams, pieces)

    offset = datetime.combine(day, datetime.min.time().replace(hour=12), ZoneInfo(TZ)).utcoffset()
    assert offset is not None
    offset_s = int(offset.total_seconds())
    sign = "+" if offset_s >= 0 else "-"
    utc_offset = f"{sign}{abs(offset_s) // 3600:02d}:{abs(offset_s) // 60 % 60:02d}"
    local_list = local.tolist()
    iso, ymd = day.isoformat(), f"{day:%Y%m%d}"
    line_prefix, basket_prefix, ts_prefix = f"{STORE}-{ymd}-", f"{STORE}-{ymd}-B", f"{iso}T"
    skus = catalog.skus
    rows = list(
        zip(
            [line_prefix + c for c in _COUNTER[1 : n + 1]],
            [ts_prefix + _HMS[s - offset_s] + ".000Z" for s in local_list],
            [iso] * n,
            (local // 3600).tolist(),
            [skus[i] for i in sku_index.tolist()],
            qty.tolist(),
            catalog.price[sku_index].tolist(),
            [basket_prefix + _COUNTER[b][1:] for b in basket_no.tolist()],
            ["sale"] * n,
            strict=True,
        )
    )
    return Day(day, utc_offset, rows, local_list, sku_index, qty, basket_seconds)


def write_export(path: Path, day: Day) -> None:
    """The day as a POS would export it: local timestamps with the store's UTC offset."""
    stamp = f"{day.day.isoformat()}T"

    def qty_text(q: float) -> str:
        return str(int(q)) if q.is_integer() else repr(q)

    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("line_id,timestamp,sku,qty,unit_price,basket_id,line_type,store_id\n")
        handle.writelines(
            f"{r[0]},{stamp}{_HMS[s]}{day.utc_offset},{r[4]},{qty_text(r[5])},{r[6]:.2f},"
            f"{r[7]},sale,{STORE}\n"
            for r, s in zip(day.rows, day.local_seconds, strict=True)
        )


# -- the year-full template mirror and the measured day ------------------------------------
@dataclass(frozen=True)
class World:
    template: Path
    export: Path
    day: date
    raw_rows: list[tuple]  # exactly what sales_lines stores for the measured day
    baskets: int
    skus_sold: int
    prefill_lines: int
    build_s: float
    work: Path


def _prefill(mirror: Mirror, catalog: Catalog, first: date, rng: np.random.Generator) -> int:
    """A year of sales lines by raw SQL, plus the daily totals and hourly transaction counts
    that ingesting them would have left, and one ingest_files row per day's file."""
    conn = mirror.conn
    conn.execute("PRAGMA cache_size = -262144")  # building only; the measured rounds use defaults
    daily: list[tuple] = []
    hourly: list[tuple] = []
    total = 0
    with mirror.transaction():
        for offset in range(YEAR_DAYS):
            day = first + timedelta(days=offset)
            made = make_day(day, LINES_PER_DAY, catalog, rng)
            name = f"sales_{day.isoformat()}.csv"
            file_id = conn.execute(
                "INSERT INTO ingest_files(name, sha256, kind, ingested_at, rows_read, "
                "rows_loaded, rows_quarantined, rows_already_present) "
                "VALUES (?, ?, 'sales_lines', ?, ?, ?, 0, 0)",
                (
                    name,
                    hashlib.sha256(name.encode()).hexdigest(),
                    f"{day + timedelta(days=1)}T05:00:00+00:00",
                    LINES_PER_DAY,
                    LINES_PER_DAY,
                ),
            ).lastrowid
            conn.executemany(_INSERT_RAW, [(*row, file_id) for row in made.rows])
            total += len(made.rows)
            units = np.bincount(made.sku_index, made.qty, SKUS)
            value = np.bincount(made.sku_index, made.qty * catalog.price[made.sku_index], SKUS)
            iso = day.isoformat()
            for i in np.flatnonzero(units).tolist():
                u, v = float(units[i]), float(value[i])
                daily.append((catalog.skus[i], iso, u, 0.0, v / u, "lines", v, u))
            per_hour = np.bincount(made.basket_seconds // 3600, minlength=24)
            hourly += [(iso, h, int(c)) for h, c in enumerate(per_hour.tolist()) if c]
        daily.sort()
        conn.executemany(
            "INSERT INTO daily_sales(sku, date, units, returns, price, source, sales_value, "
            "priced_units) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            daily,
        )
        conn.executemany(
            "INSERT INTO store_hourly(date, hour, transactions, source) VALUES (?, ?, ?, 'lines')",
            hourly,
        )
    return total


@pytest.fixture(scope="module")
def world(bench_tmp: Path) -> Iterator[World]:
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    catalog = make_catalog(rng)
    # The measured day is 3 days ago (store-local), the year ends the day before it: no
    # timestamp is in the future, and every line id sorts after the year's, as POS ids do.
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    measured = today - timedelta(days=3)
    first = measured - timedelta(days=YEAR_DAYS)

    template = bench_tmp / "year-template.db"
    mirror = open_mirror(template)
    with mirror.transaction():
        mirror.set_store(STORE, TZ)
        audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_STORE_CONFIGURED, summary="store")
    products = bench_tmp / "products.csv"
    write_products(products, catalog)
    report = Ingestor(mirror).ingest_file(products)
    assert report.rows_loaded == SKUS and report.rows_quarantined == 0, report.as_dict()
    prefilled = _prefill(mirror, catalog, first, rng)
    # The year was written with plain SQL: fold its daily rows into the sales windows and
    # its lines into the hourly SKU blocks now, as ingest would have done file by file, so
    # the measured round folds only its own day (not a rebuild from 50 days of lines).
    windows.fold(mirror)
    hours.catch_up(mirror)
    next_file_id = mirror.conn.execute("SELECT MAX(file_id) + 1 FROM ingest_files").fetchone()[0]
    mirror.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    mirror.close()
    build_s = time.perf_counter() - started

    day = make_day(measured, DAY_LINES, catalog, rng)
    export = bench_tmp / f"sales_{measured.isoformat()}.csv"
    write_export(export, day)
    _say(
        f"template: {prefilled:,} lines ({YEAR_DAYS} days x {LINES_PER_DAY:,}), "
        f"{template.stat().st_size / 2**20:,.0f} MiB, built in {build_s:.1f} s; "
        f"export {export.stat().st_size / 2**20:.1f} MiB, {DAY_LINES:,} lines of {measured}"
    )
    work = bench_tmp / "rounds"
    work.mkdir()
    yield World(
        template=template,
        export=export,
        day=measured,
        raw_rows=[(*row, next_file_id) for row in day.rows],
        baskets=len(day.basket_seconds),
        skus_sold=len(np.unique(day.sku_index)),
        prefill_lines=prefilled,
        build_s=build_s,
        work=work,
    )
    shutil.rmtree(work, ignore_errors=True)
    template.unlink(missing_ok=True)


def fresh_copy(world: World, tag: str) -> Path:
    """A copy of the template, flushed to disk so the round does not pay for the copy."""
    for old in world.work.glob("*"):
        old.unlink()
    path = world.work / f"{tag}.db"
    shutil.copyfile(world.template, path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


#: Figures shared between the two benchmarks of this module (the raw one runs first).
RESULTS: dict[str, float] = {}


def test_raw_executemany(benchmark, world: World) -> None:
    """The raw limit: the day's stored tuples, one executemany, one transaction."""
    state: dict[str, sqlite3.Connection] = {}
    counts: list[int] = []

    def setup() -> tuple[tuple, dict]:
        if "conn" in state:
            state.pop("conn").close()
        conn = sqlite3.connect(fresh_copy(world, "raw"), isolation_level=None)
        conn.execute("PRAGMA synchronous = NORMAL")  # as the mirror; the file is in WAL mode
        state["conn"] = conn
        return (conn,), {}

    def insert(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        counts.append(conn.executemany(_INSERT_RAW, world.raw_rows).rowcount)
        conn.execute("COMMIT")

    benchmark.pedantic(insert, setup=setup, rounds=ROUNDS, iterations=1)
    state.pop("conn").close()
    assert counts == [DAY_LINES] * ROUNDS

    median_s = benchmark.stats.stats.median
    RESULTS["raw_median_s"] = median_s
    benchmark.extra_info.update(
        kind="raw",
        label="raw limit: sqlite3.executemany of the stored tuples (1 transaction)",
        unit="lines/s",
        rows=DAY_LINES,
        median_s=median_s,
        figure=DAY_LINES / median_s,
        rounds=ROUNDS,
    )
    _say(f"raw executemany: median {median_s:.3f} s = {DAY_LINES / median_s:,.0f} lines/s")


def test_ingest_day_into_year(benchmark, world: World) -> None:
    """``Ingestor(mirror).ingest_file(csv)``: the product path, validation child included."""
    state: dict[str, Mirror] = {}
    reports: list[IngestReport] = []

    def setup() -> tuple[tuple, dict]:
        if "mirror" in state:
            state.pop("mirror").close()
        state["mirror"] = open_mirror(fresh_copy(world, "ingest"), create=False)
        return (state["mirror"],), {}

    def ingest(mirror: Mirror) -> None:
        reports.append(Ingestor(mirror).ingest_file(world.export))

    benchmark.pedantic(ingest, setup=setup, rounds=ROUNDS, iterations=1)

    # A benchmark that silently did nothing must fail.
    assert len(reports) == ROUNDS
    for report in reports:
        assert report.skipped is None, report.as_dict()
        assert report.rows_read == DAY_LINES, report.as_dict()
        assert report.rows_loaded == DAY_LINES, report.as_dict()
        assert report.rows_quarantined == 0, report.as_dict()
        assert report.rows_already_present == 0, report.as_dict()
    # What the last round stored is exactly the raw benchmark's tuples, and the day's totals.
    mirror = state.pop("mirror")
    try:
        day = world.day.isoformat()
        stored = mirror.conn.execute(
            "SELECT * FROM sales_lines WHERE business_date = ? ORDER BY line_id", (day,)
        ).fetchall()
        assert stored == world.raw_rows
        skus, units = mirror.conn.execute(
            "SELECT COUNT(*), SUM(units) FROM daily_sales WHERE date = ?", (day,)
        ).fetchone()
        assert skus == world.skus_sold
        assert units == pytest.approx(sum(row[5] for row in world.raw_rows))
        baskets = mirror.conn.execute(
            "SELECT SUM(transactions) FROM store_hourly WHERE date = ?", (day,)
        ).fetchone()[0]
        assert baskets == world.baskets
    finally:
        mirror.close()

    median_s = benchmark.stats.stats.median
    figure = DAY_LINES / median_s
    raw_median_s = RESULTS.get("raw_median_s")
    raw_figure = DAY_LINES / raw_median_s if raw_median_s else None
    benchmark.extra_info.update(
        kind="ingest",
        label="ingest 200,000 sales lines (CSV) into a mirror holding a year",
        unit="lines/s",
        rows=DAY_LINES,
        median_s=median_s,
        figure=figure,
        raw_median_s=raw_median_s,
        raw_figure=raw_figure,
        ratio=figure / raw_figure if raw_figure else None,
        target=TARGET_LINES_PER_S,
        target_text=f">= {TARGET_LINES_PER_S:,} lines/s",
        met=figure >= TARGET_LINES_PER_S,
        rounds=ROUNDS,
        prefill_lines=world.prefill_lines,
        prefill_lines_per_day=LINES_PER_DAY,
        template_build_s=round(world.build_s, 1),
        export_mib=round(world.export.stat().st_size / 2**20, 1),
    )
    ratio = f", {figure / raw_figure:.2f} x raw" if raw_figure else ""
    _say(f"ingest: median {median_s:.3f} s = {figure:,.0f} lines/s{ratio}")
