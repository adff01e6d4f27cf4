"""Real retail data from ../shared/data, converted to the kit's backtest file formats.

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

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (CI always has it)")
    return SHARED_DATA


def convert_m5(out: Path) -> tuple[Path, Path]:
    source = require_shared_data() / "m5_tiny"
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
        writer.writerow(["store_id", "sku", "date", "units", "price"])
        for row in reader:
            stores.add(row[4])
            for d, units in zip(header[6:], row[6:], strict=True):
                day = day_of[d]
                price = prices.get((row[4], row[1], week_of[day]))
                if price is None and units == "0":
                    continue  # not on sale that week: not listed
                writer.writerow([row[4], row[1], day, units, price or ""])
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


def convert_freshretailnet(out: Path) -> tuple[Path, Path]:
    source = require_shared_data() / "freshretailnet_store0" / "hourly_train.csv.gz"
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
