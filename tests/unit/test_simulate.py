"""The store simulator: deterministic, well-formed batches whose data shows the realism asked for.

One module-scoped store (200 SKUs x 400 days, 4 chunks, small batches) is generated once and
parsed into (day, sku) matrices; each test looks at one property of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from edge_agent.simulate import HEADERS, KINDS, SimBatch, SimConfig, generate

END = dt.date(2024, 12, 31)
CFG = SimConfig(store_id="S001", skus=200, days=400, seed=7, end_date=END, chunk_skus=64,
                batch_rows=5000)  # fmt: skip
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STORE_HOURS = {0: (7, 22), 1: (7, 22), 2: (7, 22), 3: (7, 22), 4: (7, 22), 5: (7, 22), 6: (9, 20)}


@dataclass
class Store:
    """A generated store, parsed: rows per kind and (day, sku) matrices (NaN = no row)."""

    cfg: SimConfig
    batches: list[SimBatch]
    rows: dict[str, list[tuple]]
    skus: list[str]
    col: dict[str, int]
    units: np.ndarray = field(init=False)
    promo: np.ndarray = field(init=False)
    on_hand: np.ndarray = field(init=False)
    demand: np.ndarray = field(init=False)
    shelf: np.ndarray = field(init=False)
    system: np.ndarray = field(init=False)
    delivered: np.ndarray = field(init=False)

    def day(self, iso: str) -> int:
        return (dt.date.fromisoformat(iso) - self.cfg.start_date).days

    def date(self, day: int) -> dt.date:
        return self.cfg.start_date + dt.timedelta(days=day)

    def matrix(self) -> np.ndarray:
        return np.full((self.cfg.days, len(self.skus)), np.nan)

    @property
    def first_product_rows(self) -> dict[str, tuple]:
        first: dict[str, tuple] = {}
        for row in self.rows["products"]:
            first.setdefault(row[0], row)
        return first

    @property
    def closed_days(self) -> set[str]:
        return {r[0] for r in self.rows["calendar"] if r[1] == "closed"}

    def weekdays(self) -> np.ndarray:
        return np.array([self.date(d).weekday() for d in range(self.cfg.days)])


def _parse(cfg: SimConfig) -> Store:
    batches = list(generate(cfg))
    rows: dict[str, list[tuple]] = defaultdict(list)
    for batch in batches:
        rows[batch.kind].extend(batch.rows)
    skus = sorted({r[0] for r in rows["products"]})
    store = Store(cfg, batches, rows, skus, {s: j for j, s in enumerate(skus)})
    store.units, store.promo, store.on_hand = store.matrix(), store.matrix(), store.matrix()
    for _, sku, day, units, _, promo, on_hand in rows["daily_sales"]:
        d, j = store.day(day), store.col[sku]
        store.units[d, j], store.promo[d, j], store.on_hand[d, j] = units, promo, on_hand
    store.demand, store.shelf, store.system = store.matrix(), store.matrix(), store.matrix()
    for sku, start, days, demand, shelf, system in rows["truth_daily"]:
        d, j = store.day(start), store.col[sku]
        assert d + days == cfg.days
        store.demand[d:, j] = np.frombuffer(demand, "<f4")
        store.shelf[d:, j] = np.frombuffer(shelf, "<f4")
        store.system[d:, j] = np.frombuffer(system, "<f4")
    store.delivered = np.zeros((cfg.days, len(skus)))
    for _, sku, day, qty, _ in rows["deliveries"]:
        store.delivered[store.day(day), store.col[sku]] += qty
    return store


@pytest.fixture(scope="module")
def store() -> Store:
    return _parse(CFG)


def _digest(batches: Iterator[SimBatch]) -> str:
    h = hashlib.sha256()
    for batch in batches:
        h.update(repr((batch.kind, batch.header, batch.label)).encode())
        for row in batch.rows:
            h.update(repr(row).encode())
    return h.hexdigest()


# -- format ---------------------------------------------------------------------------------
def test_same_config_gives_identical_rows_another_seed_differs() -> None:
    small = SimConfig("S9", skus=40, days=120, seed=3, end_date=END, chunk_skus=16)
    assert _digest(generate(small)) == _digest(generate(small))
    other = SimConfig("S9", skus=40, days=120, seed=4, end_date=END, chunk_skus=16)
    assert _digest(generate(other)) != _digest(generate(small))


def test_batch_size_changes_batching_not_rows() -> None:
    big = SimConfig("S9", skus=30, days=100, seed=5, end_date=END, chunk_skus=16)
    tiny = SimConfig("S9", skus=30, days=100, seed=5, end_date=END, chunk_skus=16, batch_rows=97)

    def rows(cfg: SimConfig) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = defaultdict(list)
        for batch in generate(cfg):
            assert len(batch.rows) <= cfg.batch_rows
            out[batch.kind].extend(batch.rows)
        return out

    assert rows(big) == rows(tiny)


def test_kinds_come_in_dependency_order(store: Store) -> None:
    kinds = [b.kind for b in store.batches]
    runs = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    chunks = -(-CFG.skus // CFG.chunk_skus)
    per_chunk = ["daily_sales", "sales_lines", "deliveries", "adjustments", "truth_daily"]
    expected = ["store", "calendar", "products", "promotions", *per_chunk * chunks]
    assert runs == [*expected, "open_orders", "traffic", "schedule", "truth_hourly"]
    assert set(kinds) == set(KINDS)


def test_headers_are_the_documented_formats(store: Store) -> None:
    documented = {
        "store": "store_id,time_zone,name,weekday,opens,closes",
        "calendar": "date,status,name,opens,closes",
        "products": "sku,effective_from,category,department,description,case_pack,unit_cost,"
        "price,shelf_capacity,supplier,lead_time_days,order_days,order_cutoff,perishable,"
        "shelf_life_days,status",
        "promotions": "promo_id,sku,start_date,end_date,promo_price,discount_pct,kind",
        "daily_sales": "store_id,sku,date,units,price,promo,on_hand",
        "sales_lines": "line_id,timestamp,sku,qty,unit_price,line_type",
        "deliveries": "delivery_id,sku,date,qty,order_id",
        "adjustments": "adjustment_id,sku,date,qty,reason",
        "open_orders": "order_id,sku,order_date,expected_date,qty,status",
        "traffic": "store_id,date,hour,transactions",
        "schedule": "date,hour,staff,role",
        "truth_daily": "sku,start_date,days,true_demand,shelf_on_hand,system_on_hand",
        "truth_hourly": "date,hour,true_traffic",
    }
    assert {k: ",".join(v) for k, v in HEADERS.items()} == documented
    for batch in store.batches:
        assert batch.header == HEADERS[batch.kind]
        assert all(len(row) == len(batch.header) for row in batch.rows), batch.label


def test_batches_hold_at_most_batch_rows(store: Store) -> None:
    sizes = [len(list(b.rows)) for b in store.batches]
    assert max(sizes) == CFG.batch_rows  # daily_sales of a 64-SKU chunk needs several batches
    assert all(
        0 < len(b.rows) == n <= CFG.batch_rows for b, n in zip(store.batches, sizes, strict=True)
    )


def test_values_are_str_int_float_and_iso_dates(store: Store) -> None:
    for kind in ("daily_sales", "deliveries", "adjustments", "products", "schedule", "traffic"):
        for row in store.rows[kind][:2000]:
            assert all(type(v) in (str, int, float) for v in row), row
    for row in store.rows["daily_sales"][:2000]:
        assert dt.date.fromisoformat(row[2]).isoformat() == row[2]
    assert all(type(v) is bytes for r in store.rows["truth_daily"] for v in r[3:])


# -- calendar, store hours, traffic, schedule ------------------------------------------------
def test_closed_days_have_no_sales_deliveries_or_traffic(store: Store) -> None:
    closed = store.closed_days
    assert {"2023-12-25", "2024-11-28", "2024-12-25"} <= closed  # Christmas, Thanksgiving
    for kind, col in (("daily_sales", 2), ("deliveries", 2), ("traffic", 1), ("schedule", 0)):
        assert not {r[col] for r in store.rows[kind]} & closed, kind
    holidays = {r[2] for r in store.rows["calendar"] if r[1] == "holiday"}
    assert {"Christmas Eve", "Independence Day", "Memorial Day", "Easter Sunday"} <= holidays


def test_traffic_only_within_trading_hours(store: Store) -> None:
    hours = {r[0]: (r[3], r[4]) for r in store.rows["calendar"] if r[1] == "holiday"}
    by_hour: dict[int, list[int]] = defaultdict(list)
    for store_id, day, hour, transactions in store.rows["traffic"]:
        opens, closes = STORE_HOURS[dt.date.fromisoformat(day).weekday()]
        special = hours.get(day, ("", ""))
        opens = int(special[0][:2]) if special[0] else opens
        closes = int(special[1][:2]) if special[1] else closes
        assert store_id == "S001" and opens <= hour < closes and transactions >= 0
        by_hour[hour].append(transactions)
    assert np.mean(by_hour[17]) > 1.5 * np.mean(by_hour[8])  # after-work peak
    truth = {(d, h): v for d, h, v in store.rows["truth_hourly"]}
    assert all(truth[(d, h)] >= tx for _, d, h, tx in store.rows["traffic"])


def test_store_rows_give_weekly_hours(store: Store) -> None:
    rows = store.rows["store"]
    assert [r[3] for r in rows] == list(range(7))
    assert rows[0][1:] == ("America/Chicago", "Store S001", 0, "07:00", "22:00")
    assert rows[6][4:] == ("09:00", "20:00")


def test_schedule_extends_14_days_past_end_date(store: Store) -> None:
    dates = sorted({r[0] for r in store.rows["schedule"]})
    assert dates[0] == CFG.start_date.isoformat()
    assert dates[-1] == (END + dt.timedelta(days=14)).isoformat()
    assert {r[3] for r in store.rows["schedule"]} == {"cashier", "floor"}
    assert all(type(r[2]) is int and r[2] >= 1 for r in store.rows["schedule"])


# -- demand patterns ------------------------------------------------------------------------
def test_weekend_peak(store: Store) -> None:
    weekday = store.weekdays()
    saturday = np.nanmean(store.units[weekday == 5])
    tuesday = np.nanmean(store.units[weekday == 1])
    assert saturday > 1.25 * tuesday


def test_yearly_seasonality(store: Store) -> None:
    category = np.array([store.first_product_rows[s][2] for s in store.skus])
    month = np.array([store.date(d).month for d in range(CFG.days)])
    summer, winter = np.isin(month, (6, 7, 8)), np.isin(month, (1, 2))

    def ratio(categories: tuple[str, ...]) -> float:
        cols = np.isin(category, categories)
        assert cols.sum() >= 5
        return float(np.nanmean(store.demand[summer][:, cols]) /
                     np.nanmean(store.demand[winter][:, cols]))  # fmt: skip

    assert ratio(("ice_cream", "water", "soft_drinks", "sun_care")) > 1.4
    assert ratio(("soup", "otc_medicine", "baking")) < 0.75


def test_rush_before_thanksgiving(store: Store) -> None:
    total = np.nansum(store.units, axis=1)
    eve = store.day("2024-11-27")
    usual = total[[eve - 7, eve - 14, eve - 21]].mean()
    assert total[eve] > 1.3 * usual


def test_promotions_lift_sales_and_are_known_ahead(store: Store) -> None:
    lifts = []
    for j in range(len(store.skus)):
        on, off = store.promo[:, j] == 1, store.promo[:, j] == 0
        if on.sum() >= 7 and np.nanmean(store.units[off, j]) > 0.2:
            lifts.append(np.nanmean(store.units[on, j]) / np.nanmean(store.units[off, j]))
    assert len(lifts) >= 20
    assert np.median(lifts) > 1.5
    assert any(r[3] > END.isoformat() for r in store.rows["promotions"])
    prices = {(r[1], r[2]): r[4] for r in store.rows["daily_sales"]}
    for promo_id, sku, start, _, promo_price, discount, kind in store.rows["promotions"][:50]:
        assert promo_id.startswith("PR") and 0 < discount < 100
        assert kind in ("tpr", "circular", "display")
        if start <= END.isoformat() and (sku, start) in prices:
            assert prices[(sku, start)] == promo_price


def test_price_changes_move_demand_the_other_way(store: Store) -> None:
    """Pooled over SKUs: demand 4 weeks after a regular price change vs 4 weeks before."""
    store_level = np.nanmean(store.demand, axis=1)  # removes seasonality shared by all
    store_level[store_level == 0] = np.nan  # closed days
    by_sku: dict[str, list[tuple]] = defaultdict(list)
    for row in store.rows["products"]:
        by_sku[row[0]].append(row)
    pooled = {True: np.zeros(2), False: np.zeros(2)}  # increase? -> (after, before)
    for sku, rows in by_sku.items():
        j = store.col[sku]
        for before, after in itertools.pairwise(rows):
            d = store.day(after[1])
            if after[15] != "active" or d < 28 or d + 28 > CFG.days:
                continue
            if np.nansum(store.promo[d - 28 : d + 28, j]) > 0:
                continue
            rel = store.demand[:, j] / store_level
            pooled[after[7] > before[7]] += np.nansum(rel[d : d + 28]), np.nansum(rel[d - 28 : d])
    up, down = (pooled[k][0] / pooled[k][1] for k in (True, False))
    assert up < 0.97
    assert down > up + 0.05


def test_slow_movers_are_intermittent(store: Store) -> None:
    mean = np.nanmean(store.units, axis=0)
    slow = mean < 0.3
    assert 0.15 < slow.mean() < 0.6
    assert np.nanmean(store.units[:, slow] == 0) > 0.7
    assert mean.max() > 5  # and a few fast movers


def test_weighed_produce_sells_fractional_kilograms(store: Store) -> None:
    weighed = [s for s, r in store.first_product_rows.items() if "per kg" in r[4]]
    assert weighed
    assert all(type(store.first_product_rows[s][5]) is float for s in weighed)
    units = store.units[:, [store.col[s] for s in weighed]]
    assert np.any((units > 0) & (units != np.round(units)))


# -- stock ----------------------------------------------------------------------------------
def test_recorded_units_bounded_by_demand_and_shelf(store: Store) -> None:
    sold = np.nan_to_num(store.units)
    assert np.all(sold <= np.nan_to_num(store.demand) + 1e-4)
    before = np.vstack([np.full((1, len(store.skus)), np.inf), store.shelf[:-1]])
    before = np.where(np.isnan(before), np.inf, before)
    no_delivery = store.delivered == 0
    assert np.all(sold[no_delivery] <= before[no_delivery] + 1e-4)
    # A delivery may hold one piece more than recorded (receiving slips): allow 1 unit / 1 kg.
    assert np.all(sold <= before + store.delivered + 1.0 + 1e-4)


def test_on_hand_is_the_system_on_hand(store: Store) -> None:
    rows = ~np.isnan(store.units)
    assert np.allclose(store.on_hand[rows], store.system[rows], atol=1e-3)
    assert np.all(np.isnan(store.units[np.isnan(store.demand)]))


def test_true_stockouts_censor_sales(store: Store) -> None:
    stockout = (store.demand > 0) & (store.shelf == 0) & (store.units == 0)
    assert stockout.sum() >= 50
    assert (stockout & (store.system == 0)).sum() > 0  # plain ones, the system knows
    assert np.nansum(store.units) < 0.97 * np.nansum(store.demand[~np.isnan(store.units)])


def test_phantom_inventory_lasts_until_a_count(store: Store) -> None:
    phantom = (store.system > store.shelf) & (store.shelf == 0)
    longest = 0
    for j in range(len(store.skus)):
        run = 0
        for flag in phantom[:, j]:
            run = run + 1 if flag else 0
            longest = max(longest, run)
    assert longest >= 5
    assert phantom.any(axis=0).sum() >= 10
    counts = [r for r in store.rows["adjustments"] if r[4] == "count"]
    assert counts and any(r[3] < 0 for r in counts)
    for _, sku, day, _, _ in counts:  # a count sets the system to what is on the shelf
        d, j = store.day(day), store.col[sku]
        assert store.system[d, j] == pytest.approx(store.shelf[d, j], abs=1e-3)


def test_perishables_are_wasted_and_only_they(store: Store) -> None:
    perishable = {s for s, r in store.first_product_rows.items() if r[13] == 1}
    assert all(type(r[14]) is int and r[14] > 0 for r in store.rows["products"] if r[13] == 1)
    waste = [r for r in store.rows["adjustments"] if r[4] == "waste"]
    assert all(r[3] < 0 and r[1] in perishable for r in waste)
    assert len({r[1] for r in waste}) >= 0.5 * len(perishable)


def test_returns_go_back_to_stock_as_adjustments(store: Store) -> None:
    returns = [r for r in store.rows["adjustments"] if r[4] == "return"]
    assert returns and all(r[3] > 0 for r in returns)
    perishable = {s for s, r in store.first_product_rows.items() if r[13] == 1}
    assert not {r[1] for r in returns} & perishable
    assert sum(r[3] for r in returns) < 0.02 * np.nansum(store.units)
    assert np.nanmin(store.units) >= 0
    reasons = {r[4] for r in store.rows["adjustments"]}
    assert reasons == {"waste", "count", "damage", "return"}
    ids = [(r[0], r[1]) for r in store.rows["adjustments"]]
    assert len(ids) == len(set(ids))


def test_deliveries_follow_order_days_and_lead_times(store: Store) -> None:
    products = store.first_product_rows
    closed = store.closed_days
    for delivery_id, sku, day, qty, order_id in store.rows["deliveries"]:
        _, _, _, _, _, case_pack, *_ = products[sku]
        lead, order_days = products[sku][10], products[sku][11].split(",")
        ordered = dt.datetime.strptime(order_id[2:10], "%Y%m%d").date()
        arrived = dt.date.fromisoformat(day)
        assert order_id.endswith(sku) and delivery_id == "DL" + order_id[2:]
        assert WEEKDAYS[ordered.weekday()] in order_days
        assert ordered.isoformat() not in closed and day not in closed
        assert lead <= (arrived - ordered).days <= lead + 2  # pushed past a closed day
        assert arrived <= END and qty > 0
        assert qty / case_pack == pytest.approx(round(qty / case_pack))  # whole cases


def test_open_orders_are_outstanding_at_end_date(store: Store) -> None:
    rows = store.rows["open_orders"]
    assert rows
    delivered = {r[4] for r in store.rows["deliveries"]}
    for order_id, sku, ordered, expected, qty, status in rows:
        assert status == "open" and qty > 0 and order_id not in delivered
        assert ordered <= END.isoformat() < expected
        assert order_id == f"PO{ordered.replace('-', '')}-{sku}"


def test_launches_and_delistings(store: Store) -> None:
    first_day = {s: store.day(r[1]) for s, r in store.first_product_rows.items()}
    late = [s for s, d in first_day.items() if d > 0]
    delisted = {r[0]: store.day(r[1]) for r in store.rows["products"] if r[15] == "delisted"}
    assert late and delisted
    for sku in late:
        j = store.col[sku]
        assert np.all(np.isnan(store.units[: first_day[sku], j]))
        assert not np.isnan(store.demand[first_day[sku], j])
    for sku, gone in delisted.items():
        j = store.col[sku]
        assert np.all(np.isnan(store.units[gone:, j])) and np.all(np.isnan(store.demand[gone:, j]))
        assert not any(r[1] == sku and store.day(r[2]) >= gone for r in store.rows["deliveries"])
    keys = [(r[0], r[1]) for r in store.rows["products"]]
    assert len(keys) == len(set(keys))  # effective-dated: one row per SKU and date


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="time_zone"):
        SimConfig("S1", 10, 10, 1, END, time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="skus"):
        SimConfig("S1", 0, 10, 1, END)


def test_sales_lines_add_up_to_the_daily_sales_of_the_last_line_days(store: Store) -> None:
    hourly = np.zeros((store.cfg.days, len(store.skus), 24))
    ids = set()
    for line_id, stamp, sku, qty, price, line_type in store.rows["sales_lines"]:
        when = dt.datetime.fromisoformat(stamp)
        d = store.day(when.date().isoformat())
        assert line_type == "sale" and qty > 0 and price > 0
        opens, closes = STORE_HOURS[when.weekday()]
        assert opens <= when.hour < closes, stamp  # trading hours only
        hourly[d, store.col[sku], when.hour] += qty
        ids.add(line_id)
    assert len(ids) == len(store.rows["sales_lines"])  # line ids are unique
    first = store.cfg.days - store.cfg.line_days
    assert not hourly[:first].any()  # lines only for the last line_days days
    daily = np.nan_to_num(store.units[first:])
    np.testing.assert_allclose(hourly[first:].sum(axis=2), daily, atol=0.011)


def test_injected_phantoms_empty_the_shelf_and_stop_the_sales(store: Store) -> None:
    """In line days a shelf may empty before trading while the system still counts the stock:
    that day sells nothing, the next count finds it."""
    first = store.cfg.days - store.cfg.line_days
    emptied = (store.shelf[first:] == 0) & (store.system[first:] > 0)
    before = np.vstack([store.shelf[first - 1 : first], store.shelf[first:-1]])
    sudden = emptied & (before > 0) & (np.nan_to_num(store.units[first:]) == 0)
    assert sudden.sum() >= 3
    none = _parse(dataclasses.replace(CFG, skus=64, phantom_rate=0.0))
    with_them = _parse(dataclasses.replace(CFG, skus=64))
    lost = lambda s: ((s.shelf == 0) & (s.system > 0))[first:].sum()  # noqa: E731
    assert lost(with_them) > lost(none)
