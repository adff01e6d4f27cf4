"""Deterministic store simulator: a store's POS exports as batches of rows (no I/O).

:func:`generate` stands in for a real store. It yields the master data (store hours,
calendar, effective-dated products, promotions), the POS history (daily sales, deliveries,
adjustments, open orders, hourly traffic, the labor schedule; POS sales lines for the last
``line_days`` days) and the ground truth the POS never sees (demand before stock-out
censoring, the physical shelf stock, true traffic).
Ingest validates and stores the batches; this module writes nothing.

The model, in one paragraph: each SKU's daily demand is Poisson-gamma (negative binomial)
around base x weekly x yearly x holiday x weather x price effect x promo uplift; base rates are
log-normal across SKUs (a few fast movers, a long tail of intermittent slow movers). Stock
follows the store's old replenishment process: min/max on the supplier's order days, case
packs, lead times, deliveries never on closed days. Unrecorded shrink makes the system's
on-hand drift above the shelf (phantom inventory) until a periodic cycle count corrects it,
and the old process does not reorder meanwhile; in the days that have sales lines, a few
shelves also empty at once (a facing stolen, stock left in the back room) while the system
still counts it: the phantom inventory the availability model is to find from hourly
sales. A day's units sell through its trading hours along the store's traffic shape, the
earliest arrivals first, so a shelf that runs out mid-day stops selling early. Perishables
age lot by lot (FIFO) and
expired stock is recorded as waste. Randomness comes from ``numpy.random.default_rng`` seeded
by (seed, stream, chunk), so the same :class:`SimConfig` gives byte-identical rows.

Quantities of weighed produce are kilograms (floats, 2 decimals); internally every quantity
is an integer of the SKU's smallest unit (1 piece, or 10 g) so stock arithmetic stays exact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

__all__ = [
    "HEADERS",
    "KINDS",
    "OldProcess",
    "Replay",
    "SimBatch",
    "SimConfig",
    "generate",
    "replay",
]

#: Batch kinds in the order :func:`generate` yields them (the per-chunk ones repeat).
KINDS: tuple[str, ...] = (
    "store",
    "calendar",
    "products",
    "promotions",
    "daily_sales",
    "sales_lines",
    "deliveries",
    "adjustments",
    "truth_daily",
    "open_orders",
    "traffic",
    "schedule",
    "truth_hourly",
)

#: Column names per kind: the kit's documented POS export formats (and two truth kinds).
HEADERS: dict[str, tuple[str, ...]] = {
    "store": ("store_id", "time_zone", "name", "weekday", "opens", "closes"),
    "calendar": ("date", "status", "name", "opens", "closes"),
    "products": (
        "sku",
        "effective_from",
        "category",
        "department",
        "description",
        "case_pack",
        "unit_cost",
        "price",
        "shelf_capacity",
        "supplier",
        "lead_time_days",
        "order_days",
        "order_cutoff",
        "perishable",
        "shelf_life_days",
        "status",
    ),
    "promotions": (
        "promo_id",
        "sku",
        "start_date",
        "end_date",
        "promo_price",
        "discount_pct",
        "kind",
    ),
    "daily_sales": ("store_id", "sku", "date", "units", "price", "promo", "on_hand"),
    "sales_lines": ("line_id", "timestamp", "sku", "qty", "unit_price", "line_type"),
    "deliveries": ("delivery_id", "sku", "date", "qty", "order_id"),
    "adjustments": ("adjustment_id", "sku", "date", "qty", "reason"),
    "truth_daily": (
        "sku",
        "start_date",
        "days",
        "true_demand",
        "shelf_on_hand",
        "system_on_hand",
    ),
    "open_orders": ("order_id", "sku", "order_date", "expected_date", "qty", "status"),
    "traffic": ("store_id", "date", "hour", "transactions"),
    "schedule": ("date", "hour", "staff", "role"),
    "truth_hourly": ("date", "hour", "true_traffic"),
}


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. ``end_date`` is the last simulated business day (inclusive)."""

    store_id: str
    skus: int
    days: int
    seed: int
    end_date: dt.date
    time_zone: str = "America/Chicago"
    chunk_skus: int = 2000  # SKUs simulated together; bounds memory
    batch_rows: int = 50_000  # max rows per yielded batch
    # POS lines (one per SKU and hour sold) for the last line_days days: what the
    # availability model reads; 21 days cover its 15-day window plus a week of cycles.
    line_days: int = 21
    # Chance per SKU, trading day (line days only) and piece it sells a day (0.2 to 5) that
    # the shelf empties at once while the system still counts the stock (until a count).
    phantom_rate: float = 0.002

    def __post_init__(self) -> None:
        if not self.store_id:
            raise ValueError("store_id is empty")
        for name in ("skus", "days", "chunk_skus", "batch_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        if self.line_days < 0:
            raise ValueError(f"line_days must be non-negative, got {self.line_days}")
        if not 0.0 <= self.phantom_rate <= 1.0:
            raise ValueError(f"phantom_rate must be in [0, 1], got {self.phantom_rate}")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time_zone {self.time_zone!r} is not an IANA time zone") from None

    @property
    def start_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=self.days - 1)


@dataclass(frozen=True)
class SimBatch:
    """Up to ``batch_rows`` rows of one kind; ``rows`` is lazy, re-iterable and has ``len()``."""

    kind: str
    header: tuple[str, ...]
    rows: Iterable[tuple]
    label: str


class _Rows:
    """Rows built on demand from numpy slices, so a batch costs no Python objects until read."""

    __slots__ = ("_make", "_n")

    def __init__(self, make: Callable[[], Iterator[tuple]], n: int) -> None:
        self._make = make
        self._n = n

    def __iter__(self) -> Iterator[tuple]:
        return self._make()

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<{self._n} rows>"


# -- constants of the model ------------------------------------------------------------------
_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STORE_HOURS = ((7, 22),) * 6 + ((9, 20),)  # Mon-Sat 07-22, Sun 09-20
_WEEKLY = np.array([0.90, 0.86, 0.92, 0.98, 1.12, 1.32, 1.05])  # Mon..Sun demand multipliers
_FUTURE_DAYS = 42  # horizon past end_date: schedules (14 d), promos (28 d + 2 weeks), lead times
_BIG = 1 << 30  # "never" as a day index
_MAX_PRICE_CHANGES = 6
_BASKET_UNITS = 14.0  # units per transaction: links store traffic to the assortment's sales
_CONVERSION = 0.9  # share of visitors who buy (true traffic -> POS transactions)
_TX_PER_CASHIER_HOUR = 22.0
_UNITS_PER_FLOOR_HOUR = 450.0
_KG_PACKS = (5, 10, 15)  # case packs of weighed produce, kg

_STREAM_CATALOG, _STREAM_CHUNK, _STREAM_STORE, _STREAM_TRAFFIC, _STREAM_SCHEDULE = range(5)
# Streams of their own: the lines and phantom events leave every other draw as it was.
_STREAM_LINES, _STREAM_PHANTOM = 5, 6


@dataclass(frozen=True)
class _Category:
    department: str
    category: str
    weight: float  # share of the assortment
    rate: float  # base-rate multiplier, pieces/day
    price: tuple[float, float]  # log-uniform regular price range (per piece, or per kg)
    margin: float
    packs: tuple[int, ...]  # case packs, pieces
    life: tuple[int, int]  # shelf life range, days; (0, 0) = not perishable
    weighed: float  # share of SKUs sold by weight
    season: tuple[int, float]  # (peak day of year, amplitude of log demand)
    holiday: float  # sensitivity to holiday demand swings
    elasticity: float  # mean own-price elasticity
    promo_rate: float  # promotions per year for promoted SKUs
    shrink: float  # daily probability of an unrecorded loss
    returns: float  # returned share of units sold
    suppliers: tuple[str, ...]
    nouns: tuple[str, ...]
    sizes: tuple[str, ...]


_c = _Category  # keeps the table below one SKU family per few lines


_CATEGORIES: tuple[_Category, ...] = (
    # department, category, weight, rate, price, margin, packs, life, weighed, season, holiday,
    # elasticity, promo_rate, shrink, returns, suppliers, nouns, sizes
    _c("PRODUCE", "fruit", 4.0, 2.5, (0.5, 4.0), 0.35, (12, 20, 24), (5, 12), 0.5,
       (200, 0.25), 1.0, -1.6, 6.0, 0.02, 0.0, ("FRESHFARM",),
       ("Bananas", "Gala Apples", "Navel Oranges", "Red Grapes", "Strawberries", "Pears",
        "Lemons", "Peaches"), ("each", "1 lb", "2 lb bag")),
    _c("PRODUCE", "vegetables", 4.0, 2.5, (0.6, 3.5), 0.35, (12, 18, 24), (4, 14), 0.5,
       (230, 0.12), 1.2, -1.3, 4.0, 0.015, 0.0, ("FRESHFARM",),
       ("Tomatoes", "Yellow Onions", "Russet Potatoes", "Carrots", "Broccoli", "Bell Peppers",
        "Cucumbers"), ("each", "1 lb", "3 lb bag")),
    _c("PRODUCE", "salad", 1.5, 2.0, (1.5, 5.0), 0.30, (6, 12), (4, 7), 0.0,
       (170, 0.30), 0.8, -1.5, 5.0, 0.01, 0.0, ("FRESHFARM",),
       ("Spring Mix", "Romaine Hearts", "Baby Spinach", "Caesar Kit"), ("5 oz", "10 oz")),
    _c("DAIRY", "milk", 2.0, 4.0, (1.2, 5.0), 0.25, (4, 6, 9), (10, 18), 0.0,
       (20, 0.05), 1.1, -0.9, 3.0, 0.005, 0.0, ("PRAIRIE_DAIRY",),
       ("Whole Milk", "2% Milk", "Skim Milk", "Oat Milk", "Chocolate Milk"),
       ("1 gal", "half gal", "1 qt")),
    _c("DAIRY", "yogurt", 2.5, 1.5, (0.8, 6.0), 0.30, (6, 12), (21, 35), 0.0,
       (140, 0.08), 0.6, -1.3, 4.0, 0.006, 0.0, ("PRAIRIE_DAIRY",),
       ("Greek Yogurt", "Vanilla Yogurt", "Strawberry Yogurt", "Kefir"), ("5.3 oz", "32 oz")),
    _c("DAIRY", "cheese", 2.5, 1.0, (2.5, 9.0), 0.32, (6, 12), (30, 45), 0.0,
       (350, 0.15), 1.3, -1.2, 4.0, 0.012, 0.0, ("PRAIRIE_DAIRY",),
       ("Cheddar Block", "Shredded Mozzarella", "Swiss Slices", "Cream Cheese"),
       ("8 oz", "16 oz")),
    _c("DAIRY", "eggs", 0.7, 3.0, (2.5, 6.0), 0.20, (12, 15), (28, 35), 0.0,
       (95, 0.15), 1.4, -0.8, 2.0, 0.004, 0.0, ("PRAIRIE_DAIRY",),
       ("Large Eggs", "Brown Eggs", "Free Range Eggs"), ("12 ct", "18 ct")),
    _c("BAKERY", "bread", 2.0, 3.0, (1.5, 5.0), 0.40, (6, 8, 12), (3, 6), 0.0,
       (0, 0.05), 1.2, -1.2, 3.0, 0.01, 0.0, ("HEARTH_BAKERY",),
       ("White Bread", "Whole Wheat Bread", "Sourdough", "Hamburger Buns", "Bagels"),
       ("20 oz", "6 ct", "8 ct")),
    _c("BAKERY", "pastry", 1.5, 2.5, (2.0, 8.0), 0.45, (4, 6, 8), (3, 5), 0.0,
       (350, 0.10), 1.4, -1.4, 4.0, 0.01, 0.0, ("HEARTH_BAKERY",),
       ("Croissants", "Blueberry Muffins", "Cinnamon Rolls", "Apple Pie"), ("4 ct", "6 ct")),
    _c("MEAT", "fresh_meat", 2.5, 2.5, (3.0, 15.0), 0.28, (4, 6, 10), (3, 6), 0.0,
       (190, 0.20), 1.5, -1.8, 5.0, 0.02, 0.0, ("MIDWEST_MEATS",),
       ("Ground Beef", "Chicken Breast", "Pork Chops", "Ribeye Steak", "Bratwurst"),
       ("1 lb", "2 lb", "family pack")),
    _c("FROZEN", "ice_cream", 1.5, 0.8, (2.5, 8.0), 0.35, (6, 8, 12), (0, 0), 0.0,
       (195, 0.55), 1.0, -1.8, 6.0, 0.005, 0.002, ("CENTRAL_DC", "FROSTLINE"),
       ("Vanilla Ice Cream", "Chocolate Ice Cream", "Ice Cream Bars", "Sorbet"),
       ("1.5 qt", "6 ct", "pint")),
    _c("FROZEN", "frozen_meals", 3.0, 0.8, (2.0, 9.0), 0.33, (8, 12), (0, 0), 0.0,
       (20, 0.12), 0.6, -1.5, 5.0, 0.005, 0.002, ("CENTRAL_DC", "FROSTLINE"),
       ("Pepperoni Pizza", "Chicken Alfredo", "Beef Lasagna", "Veggie Stir Fry"),
       ("10 oz", "24 oz")),
    _c("GROCERY", "canned", 4.0, 0.6, (0.8, 4.0), 0.30, (12, 24), (0, 0), 0.0,
       (15, 0.12), 0.8, -1.4, 3.0, 0.004, 0.003, ("CENTRAL_DC", "REGIONAL_DC"),
       ("Black Beans", "Diced Tomatoes", "Sweet Corn", "Tuna", "Chickpeas"),
       ("15 oz", "28 oz", "5 oz")),
    _c("GROCERY", "baking", 2.0, 0.5, (1.0, 7.0), 0.32, (6, 12), (0, 0), 0.0,
       (345, 0.40), 1.6, -1.2, 3.0, 0.004, 0.003, ("CENTRAL_DC",),
       ("All Purpose Flour", "Granulated Sugar", "Brown Sugar", "Chocolate Chips",
        "Baking Soda"), ("2 lb", "5 lb", "12 oz")),
    _c("GROCERY", "snacks", 5.0, 1.0, (1.5, 6.0), 0.38, (8, 12, 24), (0, 0), 0.0,
       (40, 0.10), 1.3, -2.0, 7.0, 0.01, 0.003, ("CENTRAL_DC", "REGIONAL_DC"),
       ("Potato Chips", "Tortilla Chips", "Pretzels", "Popcorn", "Trail Mix"),
       ("8 oz", "13 oz", "family size")),
    _c("GROCERY", "cereal", 2.5, 0.8, (2.5, 7.0), 0.35, (8, 12), (0, 0), 0.0,
       (250, 0.08), 0.5, -1.6, 5.0, 0.004, 0.003, ("CENTRAL_DC",),
       ("Corn Flakes", "Oat Rings", "Granola", "Frosted Wheat"), ("12 oz", "18 oz")),
    _c("GROCERY", "pasta_sauce", 3.0, 0.7, (1.0, 5.0), 0.33, (12,), (0, 0), 0.0,
       (300, 0.06), 0.8, -1.5, 4.0, 0.004, 0.003, ("CENTRAL_DC", "REGIONAL_DC"),
       ("Spaghetti", "Penne", "Marinara Sauce", "Alfredo Sauce"), ("16 oz", "24 oz")),
    _c("GROCERY", "soup", 1.5, 0.6, (1.0, 4.0), 0.30, (12, 24), (0, 0), 0.0,
       (10, 0.45), 0.6, -1.3, 4.0, 0.004, 0.003, ("CENTRAL_DC",),
       ("Chicken Noodle Soup", "Tomato Soup", "Chili", "Broth"), ("10.5 oz", "32 oz")),
    _c("BEVERAGES", "soft_drinks", 3.0, 1.5, (1.5, 8.0), 0.30, (6, 12, 24), (0, 0), 0.0,
       (190, 0.30), 1.5, -2.2, 8.0, 0.008, 0.002, ("BIG_BOTTLERS", "CENTRAL_DC"),
       ("Cola", "Lemon Lime Soda", "Root Beer", "Sparkling Water", "Iced Tea"),
       ("2 L", "12 pk", "20 oz")),
    _c("BEVERAGES", "water", 1.0, 2.0, (0.9, 6.0), 0.30, (6, 12, 24), (0, 0), 0.0,
       (200, 0.45), 1.3, -1.5, 5.0, 0.005, 0.002, ("BIG_BOTTLERS",),
       ("Spring Water", "Purified Water", "Electrolyte Water"), ("24 pk", "1 gal", "1 L")),
    _c("BEVERAGES", "coffee_tea", 2.0, 0.6, (3.0, 12.0), 0.35, (6, 12), (0, 0), 0.0,
       (15, 0.10), 0.9, -1.4, 4.0, 0.01, 0.003, ("CENTRAL_DC",),
       ("Ground Coffee", "Coffee Pods", "Black Tea", "Green Tea"), ("12 oz", "24 ct", "20 ct")),
    _c("HOUSEHOLD", "cleaning", 4.0, 0.4, (2.0, 10.0), 0.40, (6, 12), (0, 0), 0.0,
       (90, 0.10), 0.3, -1.2, 3.0, 0.004, 0.012, ("ACME_HOME",),
       ("Dish Soap", "Laundry Detergent", "All Purpose Cleaner", "Bleach", "Sponges"),
       ("24 oz", "64 oz", "3 ct")),
    _c("HOUSEHOLD", "paper", 2.0, 0.7, (3.0, 20.0), 0.30, (4, 6, 12), (0, 0), 0.0,
       (0, 0.0), 0.6, -1.4, 4.0, 0.004, 0.012, ("ACME_HOME",),
       ("Paper Towels", "Toilet Paper", "Napkins", "Facial Tissue"), ("6 roll", "12 roll")),
    _c("HEALTH_BEAUTY", "personal_care", 5.0, 0.25, (2.0, 15.0), 0.45, (3, 6, 12), (0, 0), 0.0,
       (0, 0.05), 0.3, -1.0, 3.0, 0.012, 0.015, ("CAREWELL_HBA",),
       ("Shampoo", "Conditioner", "Body Wash", "Toothpaste", "Deodorant", "Razors"),
       ("12 oz", "4 oz", "2 ct")),
    _c("HEALTH_BEAUTY", "otc_medicine", 2.5, 0.3, (4.0, 18.0), 0.40, (3, 6), (0, 0), 0.0,
       (15, 0.45), 0.2, -0.6, 2.0, 0.01, 0.01, ("CAREWELL_HBA",),
       ("Pain Reliever", "Cold & Flu Relief", "Allergy Tablets", "Cough Syrup"),
       ("24 ct", "100 ct", "8 oz")),
    _c("HEALTH_BEAUTY", "sun_care", 0.7, 0.2, (6.0, 15.0), 0.45, (6,), (0, 0), 0.0,
       (175, 0.90), 0.3, -1.0, 3.0, 0.012, 0.015, ("CAREWELL_HBA",),
       ("Sunscreen SPF 50", "Sunscreen SPF 30", "After Sun Gel"), ("3 oz", "8 oz")),
    _c("PET", "pet_food", 2.5, 0.5, (1.0, 25.0), 0.30, (6, 12, 24), (0, 0), 0.0,
       (0, 0.0), 0.3, -1.1, 3.0, 0.004, 0.005, ("REGIONAL_DC",),
       ("Dry Dog Food", "Wet Cat Food", "Cat Litter", "Dog Treats"), ("3 oz", "15 lb", "30 lb")),
)  # fmt: skip

_BRANDS = ("Northfield", "Sunny Acres", "Bluebell", "Harvest Moon", "Prairie Gold", "Lakeside",
           "Summit", "Golden Grove", "Evergreen", "Hometown")  # fmt: skip

# supplier -> (order weekdays, lead time days, order cutoff)
_SUPPLIERS: dict[str, tuple[tuple[int, ...], int, str]] = {
    "FRESHFARM": ((0, 1, 2, 3, 4, 5), 1, "10:00"),
    "PRAIRIE_DAIRY": ((0, 2, 4), 2, "12:00"),
    "HEARTH_BAKERY": ((0, 1, 2, 3, 4, 5), 1, "09:00"),
    "MIDWEST_MEATS": ((0, 1, 2, 3, 4, 5), 1, "11:00"),
    "CENTRAL_DC": ((0, 3), 3, "11:00"),
    "REGIONAL_DC": ((1, 4), 2, "13:00"),
    "FROSTLINE": ((2,), 4, "10:00"),
    "BIG_BOTTLERS": ((0, 3), 2, "15:00"),
    "ACME_HOME": ((1,), 5, "14:00"),
    "CAREWELL_HBA": ((0,), 4, "15:00"),
}
_SUPPLIER_NAMES = tuple(_SUPPLIERS)
_SUP_BITS = np.array([sum(1 << w for w in days) for days, _, _ in _SUPPLIERS.values()])
_SUP_NDAYS = np.array([len(days) for days, _, _ in _SUPPLIERS.values()])
_SUP_LEAD = np.array([lead for _, lead, _ in _SUPPLIERS.values()])
_SUP_ORDER_DAYS = np.array(
    [",".join(_WEEKDAY_NAMES[w] for w in days) for days, _, _ in _SUPPLIERS.values()], dtype=object
)
_SUP_CUTOFF = np.array([cut for _, _, cut in _SUPPLIERS.values()], dtype=object)

# Promotion kinds: extra uplift beyond the price cut (a flyer or an end-cap display sells more).
_PROMO_KINDS = ("tpr", "circular", "display")
_PROMO_KIND_P = (0.45, 0.40, 0.15)
_PROMO_BOOST = np.log([1.0, 1.3, 1.6])
_PROMO_DISC = np.array([[0.10, 0.25], [0.20, 0.40], [0.10, 0.20]])


def _cat_array(field: str) -> np.ndarray:
    return np.array([getattr(c, field) for c in _CATEGORIES], dtype=float)


_CAT_WEIGHT = _cat_array("weight") / _cat_array("weight").sum()
_CAT_RATE = _cat_array("rate")
_CAT_PRICE = np.array([c.price for c in _CATEGORIES])
_CAT_MARGIN = _cat_array("margin")
_CAT_LIFE = np.array([c.life for c in _CATEGORIES])
_CAT_WEIGHED = _cat_array("weighed")
_CAT_PEAK = np.array([c.season[0] for c in _CATEGORIES], dtype=float)
_CAT_AMP = np.array([c.season[1] for c in _CATEGORIES])
_CAT_HOLIDAY = _cat_array("holiday")
_CAT_ELASTICITY = _cat_array("elasticity")
_CAT_PROMO_RATE = _cat_array("promo_rate")
_CAT_SHRINK = _cat_array("shrink")
_CAT_RETURNS = _cat_array("returns")
_CAT_NAME = np.array([c.category for c in _CATEGORIES], dtype=object)
_CAT_DEPT = np.array([c.department for c in _CATEGORIES], dtype=object)


def _padded(values: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged per-category tuples as a rectangular array (cycled) plus their lengths."""
    width = max(len(v) for v in values)
    table = [[v[k % len(v)] for k in range(width)] for v in values]
    return np.array(table, dtype=object), np.array([len(v) for v in values])


_CAT_PACKS, _CAT_NPACKS = _padded([c.packs for c in _CATEGORIES])
_CAT_SUPPLIERS, _CAT_NSUPPLIERS = _padded(
    [tuple(_SUPPLIER_NAMES.index(s) for s in c.suppliers) for c in _CATEGORIES]
)


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, index]))


# -- calendar --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Holiday:
    day: dt.date
    status: str  # "closed" or "holiday"
    name: str
    opens: int | None  # None = normal hours
    closes: int | None
    factor: float  # demand multiplier on the day itself
    around: tuple[tuple[int, float], ...]  # (day offset, multiplier): pre-holiday rush etc.


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday of a month; n=-1 is the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _us_holidays(year: int) -> list[_Holiday]:
    """Closed: Thanksgiving, Christmas. Trading holidays may have shorter hours."""
    thanksgiving, easter = _nth_weekday(year, 11, 3, 4), _easter(year)
    memorial, labor = _nth_weekday(year, 5, 0, -1), _nth_weekday(year, 9, 0, 1)
    h = _Holiday
    return [
        h(dt.date(year, 1, 1), "holiday", "New Year's Day", 10, 18, 0.6, ((1, 0.95),)),
        h(easter, "holiday", "Easter Sunday", None, 17, 0.7, ((-1, 1.3), (-2, 1.1))),
        h(memorial, "holiday", "Memorial Day", None, None, 1.1, ((-2, 1.15), (-1, 1.1))),
        h(dt.date(year, 7, 4), "holiday", "Independence Day", 8, 18, 0.85,
          ((-1, 1.35), (-2, 1.15))),
        h(labor, "holiday", "Labor Day", None, None, 1.05, ((-2, 1.15), (-1, 1.1))),
        h(thanksgiving, "closed", "Thanksgiving Day", None, None, 0.0,
          ((-1, 1.7), (-2, 1.35), (-3, 1.15), (1, 0.9))),
        h(dt.date(year, 12, 24), "holiday", "Christmas Eve", None, 18, 1.35, ()),
        h(dt.date(year, 12, 25), "closed", "Christmas Day", None, None, 0.0,
          ((-2, 1.45), (-3, 1.3), (-4, 1.15), (1, 0.85))),
        h(dt.date(year, 12, 31), "holiday", "New Year's Eve", None, 20, 1.25, ((-1, 1.1),)),
    ]  # fmt: skip


@dataclass(frozen=True)
class _Calendar:
    """Per-day arrays over start_date .. end_date + _FUTURE_DAYS (index 0 = start_date)."""

    days: int  # simulated days (indices < days are history)
    horizon: int
    iso: np.ndarray  # object: 'YYYY-MM-DD'
    compact: np.ndarray  # object: 'YYYYMMDD', for ids
    weekday: np.ndarray
    doy: np.ndarray
    is_open: np.ndarray
    opens: np.ndarray  # local hour, -1 when closed
    closes: np.ndarray
    early_close: np.ndarray  # closes earlier than on a normal such weekday
    holiday: np.ndarray  # store-level demand multiplier (0 on closed days)
    next_open: np.ndarray  # first open day index >= i
    rows: tuple[tuple[str, str, str, str, str], ...]


def _hhmm(hour: int | None) -> str:
    return "" if hour is None else f"{hour:02d}:00"


def _build_calendar(cfg: SimConfig) -> _Calendar:
    start, horizon = cfg.start_date, cfg.days + _FUTURE_DAYS
    dates = [start + dt.timedelta(days=i) for i in range(horizon)]
    index = {d: i for i, d in enumerate(dates)}
    weekday = np.array([d.weekday() for d in dates])
    opens = np.array([_STORE_HOURS[w][0] for w in weekday])
    closes = np.array([_STORE_HOURS[w][1] for w in weekday])
    is_open = np.ones(horizon, dtype=bool)
    early = np.zeros(horizon, dtype=bool)
    holiday = np.ones(horizon)
    rows = []
    # A year either side, so pre-holiday rushes reach across the range's edges.
    for year in range(start.year - 1, dates[-1].year + 2):
        for hol in _us_holidays(year):
            for offset, mult in hol.around:
                j = index.get(hol.day + dt.timedelta(days=offset))
                if j is not None:
                    holiday[j] *= mult
            i = index.get(hol.day)
            if i is None:
                continue
            holiday[i] *= hol.factor
            if hol.status == "closed":
                is_open[i], opens[i], closes[i] = False, -1, -1
            else:
                opens[i] = hol.opens if hol.opens is not None else opens[i]
                if hol.closes is not None and hol.closes < closes[i]:
                    closes[i], early[i] = hol.closes, True
            rows.append(
                (dates[i].isoformat(), hol.status, hol.name, _hhmm(hol.opens), _hhmm(hol.closes))
            )
    next_open = np.arange(horizon + 1)
    for i in range(horizon - 1, -1, -1):
        if not is_open[i]:
            next_open[i] = next_open[i + 1]
    return _Calendar(
        days=cfg.days,
        horizon=horizon,
        iso=np.array([d.isoformat() for d in dates], dtype=object),
        compact=np.array([d.strftime("%Y%m%d") for d in dates], dtype=object),
        weekday=weekday,
        doy=np.array([d.timetuple().tm_yday for d in dates], dtype=float),
        is_open=is_open,
        opens=opens,
        closes=closes,
        early_close=early,
        holiday=holiday,
        next_open=next_open,
        rows=tuple(sorted(rows)),
    )


@dataclass(frozen=True)
class _Store:
    """Store-level daily multipliers shared by every SKU and by traffic."""

    weather: np.ndarray  # day-to-day shock (weather, local events), unknown in advance
    trend: np.ndarray  # slow growth


def _build_store(cfg: SimConfig, cal: _Calendar) -> _Store:
    rng = _rng(cfg.seed, _STREAM_STORE)
    weather = np.exp(rng.normal(0.0, 0.06, cal.horizon))
    trend = 1.02 ** (np.arange(cal.horizon) / 365.0)
    return _Store(weather=weather, trend=trend)


# -- catalog: per-SKU attributes of one chunk ------------------------------------------------
@dataclass(frozen=True)
class _Promos:
    sku: np.ndarray  # local SKU index
    start: np.ndarray  # day index (may lie past the simulated range)
    end: np.ndarray  # inclusive
    price: np.ndarray
    discount: np.ndarray  # percent
    kind: np.ndarray  # index into _PROMO_KINDS


@dataclass(frozen=True)
class _Catalog:
    chunk: int
    lo: int  # global index of the first SKU
    sku: np.ndarray  # object: 'SKU000123'
    cat: np.ndarray
    weighed: np.ndarray
    life: np.ndarray  # shelf life days, 0 = not perishable
    piece: np.ndarray  # internal units per piece: 1, or the piece's weight in 10 g
    scale: np.ndarray  # internal units per exported unit: 1, or 100 (10 g per kg)
    case_pack: np.ndarray  # internal units
    base: np.ndarray  # pieces/day before seasonality
    dispersion: np.ndarray  # gamma shape of the demand noise
    week_exp: np.ndarray  # how strongly the SKU follows the weekly pattern
    year_amp: np.ndarray
    year_peak: np.ndarray
    hol_sens: np.ndarray
    elasticity: np.ndarray
    promo_elasticity: np.ndarray
    price_levels: np.ndarray  # (n, K+1): price after k changes
    change_day: np.ndarray  # (n, K): day of change k, _BIG if none
    cost_ratio: np.ndarray
    supplier: np.ndarray
    lead: np.ndarray
    order_bits: np.ndarray  # bit w set = orders on weekday w
    launch: np.ndarray  # first listed day
    order_from: np.ndarray  # first day an order may be placed (the launch order)
    delist: np.ndarray  # first day no longer listed, _BIG if never
    s_min: np.ndarray  # old process: reorder point, internal units
    s_max: np.ndarray  # old process: order-up-to level
    capacity: np.ndarray
    init_stock: np.ndarray
    shrink_p: np.ndarray
    count_period: np.ndarray
    count_phase: np.ndarray
    return_rate: np.ndarray
    description: np.ndarray
    promos: _Promos

    @property
    def n(self) -> int:
        return len(self.sku)


def _nice_price(p: np.ndarray) -> np.ndarray:
    """Shelf prices end in 9: x.x9 below $10, x.99 above."""
    p = np.maximum(p, 0.29)
    return np.where(p < 10, np.floor(p * 10) / 10 + 0.09, np.floor(p) + 0.99).round(2)


def _price_changes(
    rng: np.random.Generator, days: int, p0: np.ndarray, launch: np.ndarray, delist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Price levels (n, K+1) and change days (n, K); mostly increases (inflation)."""
    n, k = len(p0), _MAX_PRICE_CHANGES
    count = np.minimum(rng.poisson(0.9 * days / 365.0, n), k)
    first, stop = launch + 14, np.minimum(delist, days)
    raw = rng.integers(first[:, None], np.maximum(stop, first + 1)[:, None], (n, k))
    wanted = (np.arange(k)[None, :] < count[:, None]) & (stop > first)[:, None]
    change = np.sort(np.where(wanted, raw, _BIG), axis=1)
    change[:, 1:][change[:, 1:] == change[:, :-1]] = _BIG  # one change per day at most
    up = rng.random((n, k)) < 0.65
    mult = np.where(up, 1 + rng.uniform(0.03, 0.18, (n, k)), 1 - rng.uniform(0.03, 0.15, (n, k)))
    levels = np.empty((n, k + 1))
    levels[:, 0] = p0
    for j in range(k):
        new = _nice_price(levels[:, j] * mult[:, j])
        ok = (change[:, j] < _BIG) & (new != levels[:, j])
        levels[:, j + 1] = np.where(ok, new, levels[:, j])
        change[:, j] = np.where(ok, change[:, j], _BIG)
    return levels, change


def _price_at(
    levels: np.ndarray, change: np.ndarray, rows: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Regular price of SKU rows[j] on day[j]."""
    price = levels[rows, 0]
    for j in range(change.shape[1]):
        price = np.where(day >= change[rows, j], levels[rows, j + 1], price)
    return price


def _launches(
    cal: _Calendar, rng: np.random.Generator, n: int, bits: np.ndarray, lead: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(launch, order_from, delist) per SKU: ~5% launch late, ~4% are delisted in the range."""
    days = cal.days
    launch, order_from = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    is_new = (rng.random(n) < 0.05) & (days >= 120)
    target = rng.integers(30, max(31, days - 30), n)
    for i in np.flatnonzero(is_new):
        # The launch order goes out on an order day and its delivery is the launch day.
        for d in range(max(0, target[i] - int(lead[i]) - 7), days):
            if cal.is_open[d] and (bits[i] >> cal.weekday[d]) & 1:
                arrival = cal.next_open[d + lead[i]]
                if arrival < days:
                    launch[i], order_from[i] = arrival, d
                break
    is_gone = (rng.random(n) < 0.04) & (launch + 90 < days)
    gone_day = rng.integers(launch + 90, np.maximum(days, launch + 91))
    delist = np.where(is_gone, gone_day, _BIG)
    return launch, order_from, delist


def _order_levels(
    rng: np.random.Generator,
    base: np.ndarray,
    piece: np.ndarray,
    case_pack: np.ndarray,
    lead: np.ndarray,
    ndays: np.ndarray,
    life: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The old process's (min, max, case pack), from a static and somewhat wrong rate estimate."""
    forecast = base * np.exp(rng.normal(0.0, 0.3, len(base)))  # pieces/day
    # Fresh suppliers sell slow perishables in small packs (whole kg for loose produce).
    shelf_sales = forecast * life * piece / 3
    small = np.where(piece > 1, np.maximum(100, np.rint(shelf_sales / 100) * 100), shelf_sales)
    small = np.maximum(small.astype(np.int64), 2)
    case_pack = np.where(life > 0, np.minimum(case_pack, small), case_pack)
    review = 7.0 / ndays
    cover = forecast * (lead + review)
    safety = np.where(life > 0, 0.5, 1.0) * np.sqrt(cover)  # fresh: waste costs more than a gap
    s_min = np.maximum(np.ceil((cover + safety) * piece), 1).astype(np.int64)
    s_max = s_min + np.maximum(case_pack, np.ceil(forecast * review * piece)).astype(np.int64)
    # Perishables: do not stock more than sells within the shelf life (still >= one case).
    fresh_cap = np.maximum(s_min + case_pack, np.ceil(0.8 * forecast * life * piece)).astype(
        np.int64
    )
    s_max = np.where(life > 0, np.minimum(s_max, fresh_cap), s_max)
    return s_min, s_max, case_pack


def _descriptions(rng: np.random.Generator, cat: np.ndarray, weighed: np.ndarray) -> np.ndarray:
    brand = rng.integers(0, len(_BRANDS), len(cat))
    noun = rng.random(len(cat))
    size = rng.random(len(cat))
    out = []
    for c, b, u, s, w in zip(
        cat.tolist(), brand.tolist(), noun.tolist(), size.tolist(), weighed.tolist(), strict=True
    ):
        spec = _CATEGORIES[c]
        name = spec.nouns[int(u * len(spec.nouns))]
        if w:
            out.append(f"{name} loose per kg")
        else:
            out.append(f"{_BRANDS[b]} {name} {spec.sizes[int(s * len(spec.sizes))]}")
    return np.array(out, dtype=object)


def _make_promos(
    rng: np.random.Generator,
    cal: _Calendar,
    cat: np.ndarray,
    launch: np.ndarray,
    delist: np.ndarray,
    levels: np.ndarray,
    change: np.ndarray,
) -> _Promos:
    """Weekly ad slots (Wed-Tue), 1-2 weeks long, at least 3 weeks apart, known in advance."""
    n = len(cat)
    rate = _CAT_PROMO_RATE[cat] * (rng.random(n) < 0.65) * rng.uniform(0.5, 1.5, n)  # per year
    first_wed = int((2 - cal.weekday[0]) % 7)
    nslots = max(0, (cal.days - 1 + 28 - first_wed) // 7 + 1)
    width = nslots // 3 + 1
    p_gap = 1.0 / np.maximum(1.0, 52.0 / np.maximum(rate, 1e-9) - 2.0)
    gaps = 2 + rng.geometric(p_gap[:, None], (n, width))  # weeks, >= 3
    slot = np.cumsum(gaps, axis=1) - gaps[:, :1] + rng.integers(0, gaps[:, 0])[:, None]
    weeks = np.where(rng.random((n, width)) < 0.3, 2, 1)
    kind = rng.choice(len(_PROMO_KINDS), (n, width), p=_PROMO_KIND_P)
    u = rng.random((n, width))
    start = first_wed + 7 * slot
    end = start + 7 * weeks - 1
    keep = (slot < nslots) & (rate > 0)[:, None]
    keep &= (start >= np.where(launch > 0, launch + 14, 0)[:, None]) & (end < delist[:, None])
    rows, cols = np.nonzero(keep)
    start, end, kind = start[rows, cols], end[rows, cols], kind[rows, cols]
    disc = _PROMO_DISC[kind, 0] + u[rows, cols] * (_PROMO_DISC[kind, 1] - _PROMO_DISC[kind, 0])
    regular = _price_at(levels, change, rows, start)
    price = _nice_price(regular * (1 - disc))
    real = price < regular - 0.005  # rounding can eat a small discount on a cheap item
    rows, start, end, kind = rows[real], start[real], end[real], kind[real]
    price, regular = price[real], regular[real]
    discount = np.round(100 * (1 - price / regular), 1)
    return _Promos(sku=rows, start=start, end=end, price=price, discount=discount, kind=kind)


def _make_catalog(cfg: SimConfig, cal: _Calendar, chunk: int, lo: int, hi: int) -> _Catalog:
    rng = _rng(cfg.seed, _STREAM_CATALOG, chunk)
    n, width = hi - lo, max(6, len(str(cfg.skus - 1)))
    cat = rng.choice(len(_CATEGORIES), n, p=_CAT_WEIGHT)
    weighed = rng.random(n) < _CAT_WEIGHED[cat]
    life = rng.integers(_CAT_LIFE[cat, 0], _CAT_LIFE[cat, 1] + 1)
    # Log-normal across SKUs; fresh assortments are pruned of their slowest items.
    base = _CAT_RATE[cat] * np.exp(rng.normal(np.log(0.5), np.where(life > 0, 0.9, 1.2)))
    piece_kg = rng.uniform(0.15, 0.6, n)
    piece = np.where(weighed, np.rint(piece_kg * 100), 1).astype(np.int64)
    scale = np.where(weighed, 100, 1)
    packs = _CAT_PACKS[cat, (rng.random(n) * _CAT_NPACKS[cat]).astype(int)].astype(np.int64)
    kg_packs = np.array(_KG_PACKS)[rng.integers(0, len(_KG_PACKS), n)] * 100
    case_pack = np.where(weighed, kg_packs, packs)
    lo_p, hi_p = np.log(_CAT_PRICE[cat, 0]), np.log(_CAT_PRICE[cat, 1])
    p0 = _nice_price(np.exp(rng.uniform(lo_p, hi_p)))
    supplier = _CAT_SUPPLIERS[cat, (rng.random(n) * _CAT_NSUPPLIERS[cat]).astype(int)]
    supplier = supplier.astype(np.int64)
    lead, bits = _SUP_LEAD[supplier], _SUP_BITS[supplier]
    launch, order_from, delist = _launches(cal, rng, n, bits, lead)
    levels, change = _price_changes(rng, cal.days, p0, launch, delist)
    s_min, s_max, case_pack = _order_levels(
        rng, base, piece, case_pack, lead, _SUP_NDAYS[supplier], life
    )
    capacity = -(-s_max // case_pack) * case_pack  # the planogram holds the order-up-to level
    init = rng.integers(s_min, s_max + 1)
    shrink_p = _CAT_SHRINK[cat] * np.exp(rng.normal(0.0, 0.5, n))
    period = np.where(shrink_p >= 0.01, 35, 91)  # high-shrink items are counted more often
    return _Catalog(
        chunk=chunk,
        lo=lo,
        sku=np.array([f"SKU{i:0{width}d}" for i in range(lo, hi)], dtype=object),
        cat=cat,
        weighed=weighed,
        life=life,
        piece=piece,
        scale=scale,
        case_pack=case_pack,
        base=base,
        dispersion=np.exp(rng.normal(np.log(4.0), 0.5, n)),
        week_exp=rng.uniform(0.6, 1.4, n),
        year_amp=_CAT_AMP[cat] * rng.uniform(0.6, 1.4, n),
        year_peak=_CAT_PEAK[cat] + rng.normal(0.0, 12.0, n),
        hol_sens=_CAT_HOLIDAY[cat] * rng.uniform(0.7, 1.3, n),
        elasticity=_CAT_ELASTICITY[cat] * rng.uniform(0.7, 1.3, n),
        promo_elasticity=-rng.uniform(2.0, 3.5, n),
        price_levels=levels,
        change_day=change,
        cost_ratio=1 - _CAT_MARGIN[cat] * rng.uniform(0.8, 1.2, n),
        supplier=supplier,
        lead=lead,
        order_bits=bits,
        launch=launch,
        order_from=order_from,
        delist=delist,
        s_min=s_min,
        s_max=s_max,
        capacity=capacity,
        init_stock=np.where(launch > 0, 0, init),
        shrink_p=shrink_p,
        count_period=period,
        count_phase=rng.integers(0, period),
        return_rate=np.where(life > 0, 0.0, _CAT_RETURNS[cat]),
        description=_descriptions(rng, cat, weighed),
        promos=_make_promos(rng, cal, cat, launch, delist, levels, change),
    )


# -- one chunk of SKUs over all days ---------------------------------------------------------
@dataclass(frozen=True)
class _Orders:
    day: np.ndarray  # order date index
    sku: np.ndarray  # local SKU index
    qty: np.ndarray  # ordered, internal units
    recorded: np.ndarray  # received as recorded (short shipments: a case less)
    arrival: np.ndarray  # day index; >= days means still open at end_date


@dataclass(frozen=True)
class _Chunk:
    """Everything simulated for one catalog, as (day, sku) matrices."""

    cat: _Catalog
    listed: np.ndarray  # bool
    active: np.ndarray  # listed and the store open: the days with a daily_sales row
    demand: np.ndarray  # true demand, internal units
    sold: np.ndarray
    system: np.ndarray  # system on-hand, end of day
    shelf: np.ndarray  # physical on-hand, end of day
    price: np.ndarray  # realized price
    promo: np.ndarray  # bool
    waste: np.ndarray  # recorded adjustments: amounts thrown away,
    damage: np.ndarray  # amounts written off as damaged,
    count: np.ndarray  # signed cycle-count corrections,
    returns: np.ndarray  # and amounts customers returned to stock
    orders: _Orders


def _day_col(days: int) -> np.ndarray:
    return np.arange(days)[:, None]


def _prices(cat: _Catalog, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(regular price, realized price, promo flag, log promo boost) as (day, sku) matrices."""
    d = _day_col(days)
    regular = np.broadcast_to(cat.price_levels[:, 0], (days, cat.n)).copy()
    for j in range(cat.change_day.shape[1]):
        regular = np.where(d >= cat.change_day[:, j], cat.price_levels[:, j + 1], regular)
    pr = cat.promos
    keep = pr.start < days
    start, sku = pr.start[keep], pr.sku[keep]
    length = np.minimum(pr.end[keep], days - 1) - start + 1
    offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    rows, cols = np.repeat(start, length) + offset, np.repeat(sku, length)
    realized = regular.copy()
    realized[rows, cols] = np.repeat(pr.price[keep], length)
    promo = np.zeros((days, cat.n), dtype=bool)
    promo[rows, cols] = True
    boost = np.zeros((days, cat.n))
    boost[rows, cols] = np.repeat(_PROMO_BOOST[pr.kind[keep]], length)
    return regular, realized, promo, boost


def _mean_demand(
    cat: _Catalog,
    cal: _Calendar,
    store: _Store,
    regular: np.ndarray,
    realized: np.ndarray,
    promo: np.ndarray,
    boost: np.ndarray,
) -> np.ndarray:
    """Expected pieces/day: base x weekly x yearly x holiday x weather x price x promo."""
    days = cal.days
    log_mu = np.log(_WEEKLY)[cal.weekday[:days], None] * cat.week_exp
    log_mu += cat.year_amp * np.cos(2 * np.pi / 365.25 * (cal.doy[:days, None] - cat.year_peak))
    holiday = 1 + cat.hol_sens * (cal.holiday[:days, None] - 1)
    log_mu += np.log(np.maximum(holiday, 0.05))
    log_mu += np.log(store.weather[:days] * store.trend[:days])[:, None]
    log_mu += np.log(cat.base)
    log_mu += cat.elasticity * np.log(regular / cat.price_levels[:, 0])
    cut = np.log(np.minimum(realized / regular, 1.0))
    log_mu += np.where(promo, cat.promo_elasticity * cut + boost, 0.0)
    # New items ramp up over four weeks while shoppers discover them.
    age = _day_col(days) - cat.launch
    log_mu += np.where(cat.launch > 0, np.log(np.clip(0.4 + 0.6 * age / 28, 0.4, 1.0)), 0.0)
    return np.exp(log_mu)


def _draw_demand(rng: np.random.Generator, cat: _Catalog, mu: np.ndarray) -> np.ndarray:
    """Poisson-gamma pieces; weighed SKUs turn pieces into 10 g units (gamma piece weights)."""
    noise = rng.gamma(cat.dispersion, 1.0 / cat.dispersion, mu.shape)
    pieces = rng.poisson(mu * noise)
    w = np.flatnonzero(cat.weighed)
    if w.size:
        grams = rng.gamma(pieces[:, w] * 4.0, cat.piece[w] / 4.0)
        pieces[:, w] = np.maximum(np.rint(grams), pieces[:, w] > 0)
    return pieces.astype(np.int32)


@dataclass(frozen=True)
class _Events:
    """Per (day, sku), drawn up front so the day loop stays lean; 0 where not trading."""

    shrink: np.ndarray  # unrecorded losses (theft, unscanned breakage), before capping by stock
    damage: np.ndarray  # recorded write-offs, before capping by stock
    returns: np.ndarray  # customer returns put back on the shelf (recorded)
    # The shelf empties before the day trades (stock stolen or left in the back room),
    # unrecorded: phantom inventory that the day's missing sales reveal.
    vanish: np.ndarray | None = None  # bool


def _draw_events(
    rng: np.random.Generator, cat: _Catalog, mu: np.ndarray, active: np.ndarray
) -> _Events:
    shape = mu.shape
    shrink = (rng.random(shape) < cat.shrink_p) * rng.geometric(0.6, shape) * cat.piece
    damage = (rng.random(shape) < 0.0015) * cat.piece
    returns = rng.poisson(mu * cat.return_rate) * cat.piece  # return_rate is 0 for perishables
    return _Events(
        shrink=np.where(active, shrink, 0).astype(np.int32),
        damage=np.where(active, damage, 0).astype(np.int32),
        returns=np.where(active, returns, 0).astype(np.int32),
    )


def _order_days(cat: _Catalog, cal: _Calendar) -> np.ndarray:
    """Where the old process may order: supplier order day, store open, SKU orderable.

    Delisted items run down: no order may arrive in their last two weeks.
    """
    days = cal.days
    d = _day_col(days)
    weekday_ok = ((cat.order_bits >> cal.weekday[:days, None]) & 1).astype(bool)
    return (
        weekday_ok
        & cal.is_open[:days, None]
        & (d >= cat.order_from)
        & (d + cat.lead + 14 < cat.delist)
    )


def _promo_soon(promo: np.ndarray, window: int = 8) -> np.ndarray:
    """A promotion starts within ``window`` days: the old process stocks up for it."""
    days = promo.shape[0]
    cum = np.zeros((days + 1, promo.shape[1]), dtype=np.int32)
    np.cumsum(promo, axis=0, out=cum[1:])
    lo = np.minimum(np.arange(days) + 1, days)
    hi = np.minimum(np.arange(days) + 1 + window, days)
    return (cum[hi] - cum[lo]) > 0


class _Lots:
    """Perishable stock by days of life left, consumed FIFO; other SKUs are not tracked."""

    def __init__(self, life: np.ndarray, stock: np.ndarray) -> None:
        self.n = len(life)
        self.rows = np.flatnonzero(life > 0)
        self.pos = np.full(self.n, -1)
        self.pos[self.rows] = np.arange(self.rows.size)
        self.col = life[self.rows] - 1
        width = int(life.max()) if self.rows.size else 1
        self.lots = np.zeros((self.rows.size, width), dtype=np.int64)
        # Opening stock is half way through its life.
        self.lots[np.arange(self.rows.size), self.col // 2] = stock[self.rows]

    def add(self, skus: np.ndarray, qty: np.ndarray) -> None:
        p = self.pos[skus]
        fresh = p >= 0
        self.lots[p[fresh], self.col[p[fresh]]] += qty[fresh]

    def take(self, qty: np.ndarray) -> None:
        q = qty[self.rows]
        r = np.flatnonzero(q)
        if r.size:
            left = np.maximum(np.cumsum(self.lots[r], axis=1) - q[r, None], 0)
            left[:, 1:] = np.diff(left, axis=1)
            self.lots[r] = left

    def expire(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.int64)
        if self.rows.size:
            out[self.rows] = self.lots[:, 0]
            self.lots[:, :-1] = self.lots[:, 1:]
            self.lots[:, -1] = 0
        return out


@dataclass(frozen=True)
class Replay:
    """One chunk's world, drawn once, to run under any ordering process (the lift).

    Everything that is not the ordering process itself: the calendar, the catalog, true
    demand, shrink, damage, returns, phantom events, cycle counts, prices and promotions.
    :meth:`process` gives a fresh old process whose random stream (receiving slips, short
    shipments) starts where :func:`generate`'s does, so two processes built from one
    replay see identical draws until their orders differ.
    """

    cfg: SimConfig
    cal: _Calendar
    cat: _Catalog
    listed: np.ndarray  # (day, sku) bool
    active: np.ndarray  # listed and the store open
    demand: np.ndarray  # true demand, internal units
    events: _Events
    counted: np.ndarray  # cycle counts
    can_order: np.ndarray  # the old process's order days
    promo_soon: np.ndarray
    regular: np.ndarray  # regular price
    price: np.ndarray  # realized price
    promo: np.ndarray  # bool
    rng_state: dict

    @property
    def category_names(self) -> np.ndarray:
        """Each SKU's category name (the products rows' ``category``)."""
        return _CAT_NAME[self.cat.cat]

    def process(self, factory: Callable[..., OldProcess] | None = None) -> OldProcess:
        """A process at day 0 (``factory(rng, cat, cal)``, default the old process)."""
        rng = np.random.default_rng()
        rng.bit_generator.state = self.rng_state
        return (factory or OldProcess)(rng, self.cat, self.cal)

    def run(self, proc: OldProcess) -> _Stock:
        """Every simulated day under ``proc``: receive, order, trade, expire, count."""
        return _run_stock(proc, self.demand, self.events, self.counted, self.can_order,
                          self.promo_soon)  # fmt: skip


def replay(cfg: SimConfig) -> Iterator[Replay]:
    """The worlds :func:`generate` simulates, chunk by chunk, without running the store."""
    cal = _build_calendar(cfg)
    store = _build_store(cfg, cal)
    for chunk, lo in enumerate(range(0, cfg.skus, cfg.chunk_skus)):
        cat = _make_catalog(cfg, cal, chunk, lo, min(lo + cfg.chunk_skus, cfg.skus))
        yield _draw_world(cfg, cal, store, cat)[0]


def _draw_world(
    cfg: SimConfig, cal: _Calendar, store: _Store, cat: _Catalog
) -> tuple[Replay, np.random.Generator]:
    rng = _rng(cfg.seed, _STREAM_CHUNK, cat.chunk)
    days = cal.days
    d = _day_col(days)
    listed = (d >= cat.launch) & (d < cat.delist)
    active = listed & cal.is_open[:days, None]
    regular, realized, promo, boost = _prices(cat, days)
    mu = _mean_demand(cat, cal, store, regular, realized, promo, boost)
    mu[~active] = 0.0
    del boost
    demand = _draw_demand(rng, cat, mu)
    events = _draw_events(rng, cat, mu, active)
    del mu
    if cfg.phantom_rate > 0 and cfg.line_days > 0:
        # Whole shelves gone while the system counts them (line days only).
        first = max(0, days - cfg.line_days)
        vanish = _rng(cfg.seed, _STREAM_PHANTOM, cat.chunk).random(active[first:].shape)
        gone = np.zeros(active.shape, dtype=bool)
        # Busy shelves empty more often (more hands, more refills missed): the rate is per
        # piece a day sold on average, capped at five.
        rate = cfg.phantom_rate * np.clip(cat.base, 0.2, 5.0)
        gone[first:] = (vanish < rate[None, :]) & active[first:]
        events = dataclasses.replace(events, vanish=gone)
    counted = (((d - cat.count_phase) % cat.count_period) == 0) & active
    world = Replay(
        cfg=cfg, cal=cal, cat=cat, listed=listed, active=active, demand=demand,
        events=events, counted=counted, can_order=_order_days(cat, cal),
        promo_soon=_promo_soon(promo), regular=regular, price=realized, promo=promo,
        rng_state=rng.bit_generator.state,
    )  # fmt: skip
    return world, rng


def _simulate_chunk(cfg: SimConfig, cal: _Calendar, store: _Store, cat: _Catalog) -> _Chunk:
    world, rng = _draw_world(cfg, cal, store, cat)
    stock = world.run(OldProcess(rng, cat, cal))
    return _Chunk(
        cat=cat,
        listed=world.listed,
        active=world.active,
        demand=world.demand,
        price=world.price,
        promo=world.promo,
        returns=world.events.returns,
        sold=stock.sold,
        system=stock.system,
        shelf=stock.shelf,
        waste=stock.waste,
        damage=stock.damage,
        count=stock.count,
        orders=stock.orders,
    )


class OldProcess:
    """One chunk's stock (physical and as the POS believes) under the store's old process."""

    def __init__(self, rng: np.random.Generator, cat: _Catalog, cal: _Calendar) -> None:
        self.rng, self.cat, self.cal = rng, cat, cal
        n = cat.n
        self.shelf = cat.init_stock.astype(np.int64)
        self.system = self.shelf.copy()
        self.on_order = np.zeros(n, dtype=np.int64)
        self.pending = np.zeros(n, dtype=np.int64)  # expired while closed, recorded when open
        self.ordered = np.zeros((cal.horizon + 1, n), dtype=np.int64)  # by arrival day
        self.recorded = np.zeros_like(self.ordered)  # what the delivery note will say
        self.lots = _Lots(cat.life, self.shelf)
        self.bump = np.ceil(0.8 * cat.s_min).astype(np.int64)  # stock-up before a promotion
        self.orders: list[tuple[np.ndarray, ...]] = []

    def receive(self, day: int) -> None:
        """Morning delivery; 2% carry an unnoticed miscount of one piece either way."""
        due = np.flatnonzero(self.ordered[day])
        if not due.size:
            return
        rec = self.recorded[day, due]
        slip = (self.rng.random(due.size) < 0.02) * np.where(self.rng.random(due.size) < 0.5, -1, 1)
        physical = np.maximum(rec + slip * self.cat.piece[due], 0)
        self.shelf[due] += physical
        self.system[due] += rec
        self.on_order[due] -= self.ordered[day, due]
        self.lots.add(due, physical)

    def order(self, day: int, allowed: np.ndarray, promo_soon: np.ndarray) -> None:
        """Min/max on the system's position (on hand + on order), in whole cases."""
        cat = self.cat
        position = self.system + self.on_order
        extra = promo_soon * self.bump
        idx = np.flatnonzero(allowed & (position <= cat.s_min + extra))
        if not idx.size:
            return
        cp = cat.case_pack[idx]
        self.place(day, idx, -(-(cat.s_max[idx] + extra[idx] - position[idx]) // cp) * cp)

    def place(self, day: int, idx: np.ndarray, qty: np.ndarray) -> None:
        """Order ``qty`` (internal units) of SKUs ``idx`` on ``day``; it arrives after the
        lead time, on the next open day; 3% of orders of more than a case ship one short."""
        cat = self.cat
        cp = cat.case_pack[idx]
        arrival = self.cal.next_open[day + cat.lead[idx]]
        short = (self.rng.random(idx.size) < 0.03) & (qty > cp)  # the supplier ships a case less
        self.ordered[arrival, idx] += qty
        self.recorded[arrival, idx] += qty - short * cp
        self.on_order[idx] += qty
        self.orders.append((np.full(idx.size, day), idx, qty, qty - short * cp, arrival))

    def trade(self, demand: np.ndarray, shrink: np.ndarray, damage: np.ndarray,
              returns: np.ndarray, vanish: np.ndarray | None = None,
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Sell what is on the shelf; returns come back, shrink leaves unrecorded."""
        shelf, system = self.shelf, self.system
        if vanish is not None and vanish.any():
            gone = np.where(vanish, shelf, 0)
            shelf -= gone
            self.lots.take(gone)
        sold = np.minimum(demand, shelf)
        shelf += returns - sold
        system += returns - sold
        lost = np.minimum(shrink, shelf)
        shelf -= lost
        broken = np.minimum(damage, shelf)
        shelf -= broken
        system -= broken
        self.lots.take(sold + lost + broken)
        return sold, broken

    def close(self, is_open: bool, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expire perishables; when open record the waste and run the day's cycle counts."""
        expired = self.lots.expire()
        self.shelf -= expired
        self.pending += expired
        if not is_open:
            return np.zeros_like(expired), np.zeros_like(expired)
        waste = self.pending.copy()
        self.system -= waste
        self.pending[:] = 0
        np.maximum(self.system, 0, out=self.system)  # the POS floors its on-hand at zero
        fix = np.where(counted, self.shelf - self.system, 0)
        self.system += fix
        return waste, fix


@dataclass(frozen=True)
class _Stock:
    sold: np.ndarray
    system: np.ndarray
    shelf: np.ndarray
    waste: np.ndarray
    damage: np.ndarray
    count: np.ndarray
    orders: _Orders


def _run_stock(
    proc: OldProcess,
    demand: np.ndarray,
    events: _Events,
    counted: np.ndarray,
    can_order: np.ndarray,
    promo_soon: np.ndarray,
) -> _Stock:
    """Day by day, numpy over the chunk's SKUs: receive, order, trade, expire, count."""
    days, n = demand.shape
    names = ("sold", "system", "shelf", "waste", "damage", "count")
    out = {k: np.zeros((days, n), dtype=np.int32) for k in names}
    for day in range(days):
        is_open = bool(proc.cal.is_open[day])
        if is_open:
            proc.receive(day)
            if can_order[day].any():  # before the cutoff, on the morning's position
                proc.order(day, can_order[day], promo_soon[day])
            out["sold"][day], out["damage"][day] = proc.trade(
                demand[day],
                events.shrink[day],
                events.damage[day],
                events.returns[day],
                None if events.vanish is None else events.vanish[day],
            )
        out["waste"][day], out["count"][day] = proc.close(is_open, counted[day])
        out["system"][day] = proc.system
        out["shelf"][day] = proc.shelf
    return _Stock(**out, orders=_collect_orders(proc.orders))


def _collect_orders(parts: list[tuple[np.ndarray, ...]]) -> _Orders:
    if not parts:
        return _Orders(*(np.zeros(0, dtype=np.int64) for _ in range(5)))
    return _Orders(*(np.concatenate(column) for column in zip(*parts, strict=True)))


# -- rows ------------------------------------------------------------------------------------
def _emit(
    cfg: SimConfig, kind: str, label: str, n: int, make: Callable[[int, int], Iterator[tuple]]
) -> Iterator[SimBatch]:
    """Split ``n`` rows into batches of at most ``cfg.batch_rows``, each built lazily."""
    size = cfg.batch_rows
    parts = -(-n // size)
    for k in range(parts):
        lo, hi = k * size, min(n, (k + 1) * size)
        name = label if parts == 1 else f"{label} [{k + 1}/{parts}]"
        yield SimBatch(kind, HEADERS[kind], _Rows(partial(make, lo, hi), hi - lo), name)


def _qty(values: np.ndarray, weighed: np.ndarray) -> list:
    """Internal units as exported: ints, or kg floats (2 decimals) for weighed SKUs."""
    out = values.tolist()
    w = np.flatnonzero(weighed)
    if w.size:
        for j, kg in zip(w.tolist(), (values[w] / 100).round(2).tolist(), strict=True):
            out[j] = kg
    return out


def _chunk_label(kind: str, cat: _Catalog) -> str:
    return f"{kind} skus {cat.lo}-{cat.lo + cat.n - 1}"


def _store_batches(cfg: SimConfig) -> Iterator[SimBatch]:
    rows = [
        (cfg.store_id, cfg.time_zone, f"Store {cfg.store_id}", w, _hhmm(o), _hhmm(c))
        for w, (o, c) in enumerate(_STORE_HOURS)
    ]
    yield from _emit(cfg, "store", "store", len(rows), lambda lo, hi: iter(rows[lo:hi]))


def _calendar_batches(cfg: SimConfig, cal: _Calendar) -> Iterator[SimBatch]:
    rows = cal.rows
    yield from _emit(cfg, "calendar", "calendar", len(rows), lambda lo, hi: iter(rows[lo:hi]))


def _product_batches(cfg: SimConfig, cal: _Calendar, cat: _Catalog) -> Iterator[SimBatch]:
    """One row at launch, one per price change, one at delisting (effective-dated)."""
    n = cat.n
    ci, cj = np.nonzero(cat.change_day < _BIG)
    gone = np.flatnonzero(cat.delist < _BIG)
    sku = np.concatenate([np.arange(n), ci, gone])
    day = np.concatenate([cat.launch, cat.change_day[ci, cj], cat.delist[gone]])
    price = np.concatenate(
        [
            cat.price_levels[:, 0],
            cat.price_levels[ci, cj + 1],
            _price_at(cat.price_levels, cat.change_day, gone, cat.delist[gone]),
        ]
    )
    status = np.concatenate([np.zeros(n + ci.size, dtype=int), np.ones(gone.size, dtype=int)])
    order = np.lexsort((day, sku))
    sku, day, price, status = sku[order], day[order], price[order], status[order]
    cost = np.round(price * cat.cost_ratio[sku], 2)

    def make(lo: int, hi: int) -> Iterator[tuple]:
        s = sku[lo:hi]
        w = cat.weighed[s]
        life = cat.life[s].tolist()
        return zip(
            cat.sku[s].tolist(),
            cal.iso[day[lo:hi]].tolist(),
            _CAT_NAME[cat.cat[s]].tolist(),
            _CAT_DEPT[cat.cat[s]].tolist(),
            cat.description[s].tolist(),
            _qty(cat.case_pack[s], w),
            cost[lo:hi].tolist(),
            price[lo:hi].tolist(),
            _qty(cat.capacity[s], w),
            np.array(_SUPPLIER_NAMES, dtype=object)[cat.supplier[s]].tolist(),
            cat.lead[s].tolist(),
            _SUP_ORDER_DAYS[cat.supplier[s]].tolist(),
            _SUP_CUTOFF[cat.supplier[s]].tolist(),
            [int(x > 0) for x in life],
            [x if x > 0 else "" for x in life],
            ["delisted" if x else "active" for x in status[lo:hi].tolist()],
            strict=True,
        )

    yield from _emit(cfg, "products", _chunk_label("products", cat), sku.size, make)


def _promotion_batches(cfg: SimConfig, cal: _Calendar, cat: _Catalog) -> Iterator[SimBatch]:
    pr = cat.promos

    def make(lo: int, hi: int) -> Iterator[tuple]:
        skus = cat.sku[pr.sku[lo:hi]].tolist()
        start = pr.start[lo:hi]
        ids = ["PR" + c + "-" + s for c, s in zip(cal.compact[start].tolist(), skus, strict=True)]
        return zip(
            ids,
            skus,
            cal.iso[start].tolist(),
            cal.iso[pr.end[lo:hi]].tolist(),
            pr.price[lo:hi].tolist(),
            pr.discount[lo:hi].tolist(),
            np.array(_PROMO_KINDS, dtype=object)[pr.kind[lo:hi]].tolist(),
            strict=True,
        )

    yield from _emit(cfg, "promotions", _chunk_label("promotions", cat), pr.sku.size, make)


def _sales_batches(cfg: SimConfig, cal: _Calendar, ch: _Chunk) -> Iterator[SimBatch]:
    """One row per listed SKU and open day, SKU by SKU, in date order."""
    cat, mask = ch.cat, ch.active.T
    sku, day = np.nonzero(mask)
    units, on_hand = ch.sold.T[mask], ch.system.T[mask]
    price, promo = ch.price.T[mask], ch.promo.T[mask].astype(np.int8)
    weighed = cat.weighed[sku]

    def make(lo: int, hi: int) -> Iterator[tuple]:
        w = weighed[lo:hi]
        return zip(
            repeat(cfg.store_id, hi - lo),
            cat.sku[sku[lo:hi]].tolist(),
            cal.iso[day[lo:hi]].tolist(),
            _qty(units[lo:hi], w),
            price[lo:hi].tolist(),
            promo[lo:hi].tolist(),
            _qty(on_hand[lo:hi], w),
            strict=True,
        )

    yield from _emit(cfg, "daily_sales", _chunk_label("daily_sales", ch.cat), sku.size, make)


def _hour_shape(cal: _Calendar, day: int) -> np.ndarray:
    """The share of a day's sales in each local hour: the store's traffic shape."""
    hours = np.arange(24)
    shape = np.zeros(24)
    if not cal.is_open[day]:
        return shape
    t, wd = hours + 0.5, cal.weekday[day]
    if wd == 5:
        shape = 0.35 + 1.0 * _bump(t, 13.0, 2.6) + 0.3 * _bump(t, 17.5, 1.5)
    elif wd == 6:
        shape = 0.30 + 1.0 * _bump(t, 13.5, 2.4)
    else:
        shape = 0.35 + 0.7 * _bump(t, 12.3, 1.3) + 1.0 * _bump(t, 17.6, 1.5)
    shape = np.where((hours >= cal.opens[day]) & (hours < cal.closes[day]), shape, 0.0)
    return shape / shape.sum()


def _line_batches(cfg: SimConfig, cal: _Calendar, ch: _Chunk) -> Iterator[SimBatch]:
    """One sale line per SKU and hour that sold, for the last ``line_days`` days.

    Each day's demand arrives over the trading hours (multinomial on the traffic shape);
    the day's units sold are its earliest arrivals, so a shelf that empties stops selling."""
    first = max(0, cal.days - cfg.line_days)
    days = np.arange(first, cal.days)
    if not days.size:
        return
    cat = ch.cat
    rng = _rng(cfg.seed, _STREAM_LINES, cat.chunk)
    shape = np.array([_hour_shape(cal, int(d)) for d in days])  # (days, 24)
    open_days = shape.sum(axis=1) > 0
    shape[~open_days, 0] = 1.0  # closed: no demand anyway; the draw needs valid shares
    demand = np.where(ch.active[first:], ch.demand[first:], 0).astype(np.int64)
    sold = np.where(ch.active[first:], ch.sold[first:], 0).astype(np.int64)
    arrivals = rng.multinomial(demand, shape[:, None, :])  # (days, skus, 24)
    before = np.cumsum(arrivals, axis=2) - arrivals  # units that arrived earlier that day
    units = np.clip(sold[:, :, None] - before, 0, arrivals)
    del arrivals, before
    d, j, h = np.nonzero(units)  # day-major, then SKU, then hour: time order per SKU-day
    qty, price = units[d, j, h], ch.price[first:][d, j]
    day = days[d]
    skus = cat.sku[j]
    hours = np.char.zfill(h.astype(str), 2)
    stamps = np.char.add(cal.iso[day].astype(str), np.char.add("T", hours))

    def make(lo: int, hi: int) -> Iterator[tuple]:
        stamp = stamps[lo:hi].tolist()
        sku = skus[lo:hi].tolist()
        ids = ["L" + t[:10].replace("-", "") + t[11:] + "-" + s
               for t, s in zip(stamp, sku, strict=True)]  # fmt: skip
        return zip(
            ids,
            [t + ":30:00" for t in stamp],
            sku,
            _qty(qty[lo:hi], cat.weighed[j[lo:hi]]),
            price[lo:hi].tolist(),
            repeat("sale", hi - lo),
            strict=True,
        )

    yield from _emit(cfg, "sales_lines", _chunk_label("sales_lines", cat), d.size, make)


def _order_ids(cal: _Calendar, prefix: str, day: np.ndarray, skus: list[str]) -> list[str]:
    """Ids carry the order date and SKU: one order per SKU and day at most."""
    return [prefix + c + "-" + s for c, s in zip(cal.compact[day].tolist(), skus, strict=True)]


def _delivery_batches(cfg: SimConfig, cal: _Calendar, ch: _Chunk) -> Iterator[SimBatch]:
    o, cat = ch.orders, ch.cat
    got = np.flatnonzero(o.arrival < cal.days)
    got = got[np.lexsort((o.arrival[got], o.sku[got]))]
    sku, day, arrival, qty = o.sku[got], o.day[got], o.arrival[got], o.recorded[got]

    def make(lo: int, hi: int) -> Iterator[tuple]:
        skus = cat.sku[sku[lo:hi]].tolist()
        return zip(
            _order_ids(cal, "DL", day[lo:hi], skus),
            skus,
            cal.iso[arrival[lo:hi]].tolist(),
            _qty(qty[lo:hi], cat.weighed[sku[lo:hi]]),
            _order_ids(cal, "PO", day[lo:hi], skus),
            strict=True,
        )

    yield from _emit(cfg, "deliveries", _chunk_label("deliveries", cat), got.size, make)


_ADJUSTMENTS = (("waste", "W", -1), ("count", "C", 1), ("damage", "D", -1), ("return", "R", 1))


def _adjustment_batches(cfg: SimConfig, cal: _Calendar, ch: _Chunk) -> Iterator[SimBatch]:
    cat = ch.cat
    parts = []
    for k, matrix in enumerate((ch.waste, ch.count, ch.damage, ch.returns)):
        sku, day = np.nonzero(matrix.T)
        parts.append((sku, day, matrix.T[sku, day] * _ADJUSTMENTS[k][2], np.full(sku.size, k)))
    sku, day, qty, reason = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.lexsort((reason, day, sku))
    sku, day, qty, reason = sku[order], day[order], qty[order], reason[order]
    names = np.array([a[0] for a in _ADJUSTMENTS], dtype=object)
    codes = np.array([a[1] for a in _ADJUSTMENTS], dtype=object)

    def make(lo: int, hi: int) -> Iterator[tuple]:
        skus = cat.sku[sku[lo:hi]].tolist()
        ids = [
            "AJ" + c + "-" + s + "-" + r
            for c, s, r in zip(
                cal.compact[day[lo:hi]].tolist(), skus, codes[reason[lo:hi]].tolist(), strict=True
            )
        ]
        return zip(
            ids,
            skus,
            cal.iso[day[lo:hi]].tolist(),
            _qty(qty[lo:hi], cat.weighed[sku[lo:hi]]),
            names[reason[lo:hi]].tolist(),
            strict=True,
        )

    yield from _emit(cfg, "adjustments", _chunk_label("adjustments", cat), sku.size, make)


def _truth_daily_batches(cfg: SimConfig, cal: _Calendar, ch: _Chunk) -> Iterator[SimBatch]:
    """Per SKU: float32 little-endian arrays from its launch to end_date, NaN once delisted."""
    cat = ch.cat

    def series(matrix: np.ndarray) -> np.ndarray:
        values = (matrix / cat.scale).astype("<f4")
        values[~ch.listed] = np.nan
        return np.ascontiguousarray(values.T)

    demand, shelf, system = series(ch.demand), series(ch.shelf), series(ch.system)
    start = cat.launch

    def make(lo: int, hi: int) -> Iterator[tuple]:
        for j in range(lo, hi):
            s = int(start[j])
            yield (
                cat.sku[j],
                cal.iso[s],
                cal.days - s,
                demand[j, s:].tobytes(),
                shelf[j, s:].tobytes(),
                system[j, s:].tobytes(),
            )

    yield from _emit(cfg, "truth_daily", _chunk_label("truth_daily", cat), cat.n, make)


@dataclass(frozen=True)
class _OpenOrders:
    sku: np.ndarray  # object: SKU ids
    day: np.ndarray
    arrival: np.ndarray
    qty: np.ndarray
    weighed: np.ndarray


def _outstanding(cal: _Calendar, ch: _Chunk) -> _OpenOrders:
    o = ch.orders
    open_ = np.flatnonzero(o.arrival >= cal.days)
    open_ = open_[np.lexsort((o.day[open_], o.sku[open_]))]
    return _OpenOrders(
        sku=ch.cat.sku[o.sku[open_]],
        day=o.day[open_],
        arrival=o.arrival[open_],
        qty=o.qty[open_],
        weighed=ch.cat.weighed[o.sku[open_]],
    )


def _open_order_batches(
    cfg: SimConfig, cal: _Calendar, parts: list[_OpenOrders]
) -> Iterator[SimBatch]:
    sku, day, arrival, qty, weighed = (
        np.concatenate([getattr(p, f) for p in parts])
        for f in ("sku", "day", "arrival", "qty", "weighed")
    )

    def make(lo: int, hi: int) -> Iterator[tuple]:
        skus = sku[lo:hi].tolist()
        return zip(
            _order_ids(cal, "PO", day[lo:hi], skus),
            skus,
            cal.iso[day[lo:hi]].tolist(),
            cal.iso[arrival[lo:hi]].tolist(),
            _qty(qty[lo:hi], weighed[lo:hi]),
            repeat("open", hi - lo),
            strict=True,
        )

    yield from _emit(cfg, "open_orders", "open_orders", sku.size, make)


# -- store traffic and labor -----------------------------------------------------------------
def _bump(t: np.ndarray, center: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - center) / width) ** 2)


def _hour_grid(cal: _Calendar, stop: int, before_open: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(day, hour) of every trading hour of open days < stop, from ``before_open`` h early."""
    days = np.flatnonzero(cal.is_open[:stop])
    first = cal.opens[days] - before_open
    count = cal.closes[days] - first
    day = np.repeat(days, count)
    hour = (
        np.repeat(first, count)
        + np.arange(count.sum())
        - np.repeat(np.cumsum(count) - count, count)
    )
    return day, hour


def _planned_traffic(
    cal: _Calendar, store: _Store, base_tx: float, day: np.ndarray, hour: np.ndarray
) -> np.ndarray:
    """Expected transactions per (day, hour) as the store can know them ahead (no weather)."""
    wd, t = cal.weekday[day], hour + 0.5
    weekday = 0.35 + 0.7 * _bump(t, 12.3, 1.3) + 1.0 * _bump(t, 17.6, 1.5)
    saturday = 0.35 + 1.0 * _bump(t, 13.0, 2.6) + 0.3 * _bump(t, 17.5, 1.5)
    sunday = 0.30 + 1.0 * _bump(t, 13.5, 2.4)
    shape = np.select([wd == 5, wd == 6], [saturday, sunday], weekday)
    # Before an early close shoppers crowd the last hours.
    shape *= np.where(cal.early_close[day] & (hour >= cal.closes[day] - 3), 1.5, 1.0)
    shape = np.where(hour >= cal.opens[day], shape, 0.0)
    total = np.bincount(day, weights=shape, minlength=cal.horizon)[day]
    season = 1 + 0.05 * np.cos(2 * np.pi / 365.25 * (cal.doy[day] - 350))
    daily = base_tx * _WEEKLY[wd] * cal.holiday[day] * store.trend[day] * season
    return daily * shape / total


@dataclass(frozen=True)
class _Traffic:
    day: np.ndarray
    hour: np.ndarray
    visitors: np.ndarray  # truth: shoppers in the store
    transactions: np.ndarray  # what the POS counts: the visitors who bought


def _draw_traffic(cfg: SimConfig, cal: _Calendar, store: _Store, base_tx: float) -> _Traffic:
    rng = _rng(cfg.seed, _STREAM_TRAFFIC)
    day, hour = _hour_grid(cal, cal.days)
    mean = _planned_traffic(cal, store, base_tx, day, hour) * store.weather[day]
    visitors = rng.poisson(mean * rng.gamma(30.0, 1 / 30.0, day.size))
    return _Traffic(day, hour, visitors, rng.binomial(visitors, _CONVERSION))


def _hourly_batches(
    cfg: SimConfig, cal: _Calendar, traffic: _Traffic, kind: str
) -> Iterator[SimBatch]:
    """`traffic` (POS transactions, with the store id) or `truth_hourly` (visitors)."""
    day, hour = traffic.day, traffic.hour
    values = traffic.transactions if kind == "traffic" else traffic.visitors

    def make(lo: int, hi: int) -> Iterator[tuple]:
        columns: list[Iterable] = [cal.iso[day[lo:hi]].tolist(), hour[lo:hi].tolist()]
        if kind == "traffic":
            columns.insert(0, repeat(cfg.store_id, hi - lo))
        return zip(*columns, values[lo:hi].tolist(), strict=True)

    yield from _emit(cfg, kind, kind, day.size, make)


def _schedule_batches(
    cfg: SimConfig, cal: _Calendar, store: _Store, base_tx: float
) -> Iterator[SimBatch]:
    """Cashiers for the planned transactions, floor staff for the units (and an early hour
    to stock shelves), with the scheduler's noise; 14 days past end_date are already known."""
    rng = _rng(cfg.seed, _STREAM_SCHEDULE)
    day, hour = _hour_grid(cal, cal.days + 14, before_open=1)
    plan = _planned_traffic(cal, store, base_tx, day, hour)
    prep = hour < cal.opens[day]
    noise = np.exp(rng.normal(0.0, 0.15, (2, day.size)))
    cashier = np.maximum(1, np.rint(plan * noise[0] / _TX_PER_CASHIER_HOUR))
    floor = np.maximum(1, np.rint((1 + plan * _BASKET_UNITS / _UNITS_PER_FLOOR_HOUR) * noise[1]))
    daily = np.bincount(day, weights=plan, minlength=cal.horizon)[day]
    floor = np.where(prep, 2 + np.rint(daily * _BASKET_UNITS / 6000 * noise[1]), floor)
    keep = ~prep
    d = np.concatenate([day[keep], day])
    h = np.concatenate([hour[keep], hour])
    staff = np.concatenate([cashier[keep], floor]).astype(np.int64)
    role = np.concatenate([np.zeros(keep.sum(), dtype=int), np.ones(day.size, dtype=int)])
    order = np.lexsort((role, h, d))
    d, h, staff, role = d[order], h[order], staff[order], role[order]
    names = np.array(["cashier", "floor"], dtype=object)

    def make(lo: int, hi: int) -> Iterator[tuple]:
        return zip(
            cal.iso[d[lo:hi]].tolist(),
            h[lo:hi].tolist(),
            staff[lo:hi].tolist(),
            names[role[lo:hi]].tolist(),
            strict=True,
        )

    yield from _emit(cfg, "schedule", "schedule", d.size, make)


# -- the generator ---------------------------------------------------------------------------
def generate(cfg: SimConfig) -> Iterator[SimBatch]:
    """Yield the store's batches in dependency order (see :data:`KINDS`).

    Per SKU chunk of ``cfg.chunk_skus`` come daily_sales, deliveries, adjustments and
    truth_daily; only one chunk's matrices are alive at a time (plus whatever batches the
    caller keeps). Kinds with no rows yield no batch.
    """
    cal = _build_calendar(cfg)
    store = _build_store(cfg, cal)
    catalogs = [
        _make_catalog(cfg, cal, chunk, lo, min(lo + cfg.chunk_skus, cfg.skus))
        for chunk, lo in enumerate(range(0, cfg.skus, cfg.chunk_skus))
    ]
    yield from _store_batches(cfg)
    yield from _calendar_batches(cfg, cal)
    for cat in catalogs:
        yield from _product_batches(cfg, cal, cat)
    for cat in catalogs:
        yield from _promotion_batches(cfg, cal, cat)
    outstanding = []
    for cat in catalogs:
        chunk = _simulate_chunk(cfg, cal, store, cat)
        yield from _sales_batches(cfg, cal, chunk)
        yield from _line_batches(cfg, cal, chunk)
        yield from _delivery_batches(cfg, cal, chunk)
        yield from _adjustment_batches(cfg, cal, chunk)
        yield from _truth_daily_batches(cfg, cal, chunk)
        outstanding.append(_outstanding(cal, chunk))
        del chunk  # the batches handed out keep what they need
    yield from _open_order_batches(cfg, cal, outstanding)
    base_tx = max(250.0, sum(float(c.base.sum()) for c in catalogs) / _BASKET_UNITS)
    traffic = _draw_traffic(cfg, cal, store, base_tx)
    yield from _hourly_batches(cfg, cal, traffic, "traffic")
    yield from _schedule_batches(cfg, cal, store, base_tx)
    yield from _hourly_batches(cfg, cal, traffic, "truth_hourly")
