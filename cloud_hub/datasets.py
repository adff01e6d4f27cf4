"""Public retail data sets converted to the kit's backtest file formats.

Used by ``cloud-hub datasets`` (the files BENCHMARKS.md's backtest commands read), the
backtest tests and the bootstrap model build (``cloud-hub models build-bootstrap``); the
data stays where it is (``../shared/data`` in this project), never in the repository.

M5 (``m5_tiny``): wide daily sales -> ``store_id,sku,date,units,price`` plus a
calendar of holidays and each state's SNAP days as events. FreshRetailNet
(``freshretailnet_store0``): hourly rows -> ``store_id,sku,date,hour,units,
stockout,price,promo`` (price: the discount ratio), and hourly totals over all
products -> ``store_id,date,hour,transactions`` (a real demand curve standing
in for transactions).
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from cloud_hub.errors import HubError

__all__ = ["FRESHRETAILNET_PROVENANCE", "M5_PROVENANCE", "convert_freshretailnet", "convert_m5"]

M5_PROVENANCE = (
    "M5 accuracy competition (Makridakis et al., IJF 2022), 28 items x 10 Walmart stores, "
    "d_1..d_1885, via the MIT-licensed R package m5 (krzjoa/m5, 8b03702c)"
)
FRESHRETAILNET_PROVENANCE = (
    "FreshRetailNet-50K (Dingdong-Inc, CC-BY-4.0), train split, store 0, 74 products x 62 days"
)


def _source(data: Path, name: str) -> Path:
    path = data / name
    if not path.exists():
        raise HubError(f"data set {path} not found", hint="point --data at the shared data folder")
    return path


def convert_m5(data: Path, out: Path, *, with_category: bool = True) -> tuple[Path, Path]:
    """M5 -> ``m5_daily.csv`` (store_id,sku,date,units,price,category: the department;
    no category column when ``with_category`` is false) and ``m5_calendar.csv``
    (holidays; each state's SNAP days as events)."""
    source = _source(data, "m5_tiny")
    with (source / "calendar.csv").open() as handle:
        calendar = list(csv.DictReader(handle))
    day_of = {c["d"]: c["date"] for c in calendar}
    week_of = {c["date"]: c["wm_yr_wk"] for c in calendar}
    prices = {}
    with (source / "sell_prices.csv").open() as handle:
        for r in csv.DictReader(handle):
            prices[(r["store_id"], r["item_id"], r["wm_yr_wk"])] = r["sell_price"]
    daily = out / "m5_daily.csv"
    stores = set()
    with (source / "sales_train.csv").open() as src, daily.open("w", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        header = next(reader)
        columns = ["store_id", "sku", "date", "units", "price", "category"]
        width = len(columns) if with_category else len(columns) - 1
        writer.writerow(columns[:width])
        for row in reader:
            stores.add(row[4])
            for d, units in zip(header[6:], row[6:], strict=True):
                day = day_of[d]
                price = prices.get((row[4], row[1], week_of[day]))
                if price is None and units == "0":
                    continue  # not on sale that week: not listed
                writer.writerow([row[4], row[1], day, units, price or "", row[2]][:width])
    events = out / "m5_calendar.csv"
    with events.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["store_id", "date", "status", "name"])
        for c in calendar:
            if c["event_name_1"]:
                writer.writerow(["", c["date"], "holiday", c["event_name_1"]])
            for store in sorted(stores):
                if c["snap_" + store[:2]] == "1":
                    writer.writerow([store, c["date"], "event", "SNAP"])
    return daily, events


def convert_freshretailnet(data: Path, out: Path) -> tuple[Path, Path]:
    """FreshRetailNet -> ``frn_hourly.csv`` and ``frn_transactions.csv`` (hourly totals)."""
    source = _source(data, "freshretailnet_store0/hourly_train.csv.gz")
    with gzip.open(source, "rt") as handle:
        rows = list(csv.DictReader(handle))
    hourly = out / "frn_hourly.csv"
    totals: dict[tuple[str, str, int], float] = {}
    with hourly.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["store_id", "sku", "date", "hour", "units", "stockout", "price", "promo"])
        for r in rows:
            writer.writerow(
                [
                    r["store_id"],
                    r["product_id"],
                    r["dt"],
                    r["hour"],
                    r["hourly_sale"],
                    r["hourly_stockout"],
                    r["discount"],
                    r["activity_flag"],
                ]
            )
            key = (r["store_id"], r["dt"], int(r["hour"]))
            totals[key] = totals.get(key, 0.0) + float(r["hourly_sale"])
    transactions = out / "frn_transactions.csv"
    with transactions.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["store_id", "date", "hour", "transactions"])
        for (store, day, hour), value in sorted(totals.items()):
            writer.writerow([store, day, hour, round(value, 3)])
    return hourly, transactions
