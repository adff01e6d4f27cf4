"""The POS export kinds the mirror ingests: their columns, validation and SQL.

Each kind turns one raw row (a mapping of normalized header names to strings or
numbers) into a tuple for its table, or raises :class:`BadRow` with a reason
code and a detail that names the column and the value. Only the columns listed
here are ever read: anything else in an export (card numbers, customer or
loyalty ids, payment methods) is dropped before it can reach the mirror.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import repeat
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "KINDS",
    "QUARANTINE_REASONS",
    "BadRow",
    "Kind",
    "LineRollup",
    "RowContext",
]

Row = Mapping[str, Any]

#: Reason codes used in the quarantine table, with what they mean.
QUARANTINE_REASONS: dict[str, str] = {
    "unknown_sku": "the SKU is not in the product master (re-processed when it arrives)",
    "bad_quantity": "a quantity is empty, not a number, NaN or infinite",
    "negative_quantity": "a negative quantity on a line not flagged as return or void",
    "bad_timestamp": "a timestamp is empty or not ISO 8601",
    "future_timestamp": "a timestamp or date lies beyond the clock-skew tolerance in the future",
    "bad_date": "a date is empty or not YYYY-MM-DD",
    "duplicate_line_id": "a line id seen before with other content, or twice in one file",
    "wrong_store": "the row names another store than the mirror's",
    "missing_field": "a required column is empty",
    "bad_value": "a value is outside what the column allows",
    "malformed_row": "the row does not parse (wrong column count, invalid JSON)",
    "beyond_retention": "a sales line for a day whose lines were already rolled up and pruned",
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BadRow(Exception):
    """A row that goes to quarantine; ``reason`` is a QUARANTINE_REASONS key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class RowContext:
    """What validation needs to know about the store and the moment of ingest."""

    store_id: str
    tz: ZoneInfo
    now: datetime
    skew_tolerance_s: float
    known_skus: set[str]
    decimal_comma: bool = False
    latest_utc: datetime = field(init=False)
    #: Parsed timestamps by their text: lines of one basket share a timestamp.
    timestamps: dict[str, tuple[str, str, int] | None] = field(default_factory=dict)
    #: Parsed minutes (a timestamp's text without its seconds), see _parse_timestamp_cached.
    minutes: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    #: UTC minutes before this one ("YYYY-MM-DDTHH:MM") cannot reach the skew limit.
    last_safe_minute: str = field(init=False)
    latest_date: date = field(init=False)

    def __post_init__(self) -> None:
        self.latest_utc = self.now.astimezone(UTC) + timedelta(seconds=self.skew_tolerance_s)
        self.latest_date = self.latest_utc.astimezone(self.tz).date()
        self.last_safe_minute = utc_text(self.latest_utc - timedelta(minutes=1))[:16]


# -- value parsers: each names the column and the value it refuses -----------------------
def _text(row: Row, col: str, *, required: bool = True) -> str | None:
    value = row.get(col)
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise BadRow("missing_field", f"{col} is empty")
        return None
    return text


def _number(
    row: Row, col: str, ctx: RowContext, *, required: bool = True, reason: str = "bad_quantity"
) -> float | None:
    value = row.get(col)
    if isinstance(value, bool):
        raise BadRow(reason, f"{col} {value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = "" if value is None else str(value).strip()
        if not text:
            if required:
                raise BadRow(
                    reason if reason == "bad_quantity" else "missing_field", f"{col} is empty"
                )
            return None
        if ctx.decimal_comma:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise BadRow(reason, f"{col} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise BadRow(reason, f"{col} is {value!r}")
    return number


def _int(
    row: Row,
    col: str,
    ctx: RowContext,
    *,
    required: bool = True,
    low: int | None = None,
    high: int | None = None,
) -> int | None:
    number = _number(row, col, ctx, required=required, reason="bad_value")
    if number is None:
        return None
    if number != int(number):
        raise BadRow("bad_value", f"{col} {row.get(col)!r} is not a whole number")
    result = int(number)
    if (low is not None and result < low) or (high is not None and result > high):
        raise BadRow("bad_value", f"{col} {result} is outside {low}..{high}")
    return result


def _date(
    row: Row, col: str, ctx: RowContext, *, required: bool = True, not_future: bool = False
) -> str | None:
    text = _text(row, col, required=False)
    if text is None:
        if required:
            raise BadRow("bad_date", f"{col} is empty")
        return None
    try:
        day = date.fromisoformat(text[:10] if len(text) > 10 and text[10] in "T " else text)
    except ValueError:
        raise BadRow("bad_date", f"{col} {text!r} is not a date (YYYY-MM-DD)") from None
    if not_future and day > ctx.latest_date:
        raise BadRow(
            "future_timestamp",
            f"{col} {day} is after the store's current business date {ctx.latest_date}",
        )
    return day.isoformat()


def _timestamp(row: Row, col: str, ctx: RowContext) -> tuple[str, str, int]:
    """(UTC text, store-local business date, local hour). Naive timestamps are store-local."""
    text = _text(row, col, required=False)
    if text is None:
        raise BadRow("bad_timestamp", f"{col} is empty")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise BadRow("bad_timestamp", f"{col} {text!r} is not an ISO 8601 timestamp") from None
    if stamp.tzinfo is None:
        local = stamp.replace(tzinfo=ctx.tz)
        utc = local.astimezone(UTC)
    else:
        utc = stamp.astimezone(UTC)
        local = utc.astimezone(ctx.tz)
    if utc > ctx.latest_utc:
        raise BadRow(
            "future_timestamp",
            f"{col} {text!r} is more than {ctx.skew_tolerance_s:g} s in the future",
        )
    return utc_text(utc), local.date().isoformat(), local.hour


def utc_text(instant: datetime) -> str:
    """Fixed-width UTC text (millisecond precision), so stored timestamps sort as text."""
    # isoformat runs in C; its "+00:00" suffix becomes "Z".
    return instant.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"


def _clock_time(row: Row, col: str) -> str | None:
    text = _text(row, col, required=False)
    if text is None:
        return None
    try:
        parsed = time.fromisoformat(text if len(text) > 4 else text.zfill(5))
    except ValueError:
        raise BadRow("bad_value", f"{col} {text!r} is not a time of day (HH:MM)") from None
    return parsed.strftime("%H:%M")


def _flag(row: Row, col: str) -> int | None:
    value = row.get(col)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lower()
    if text in ("1", "1.0", "true", "t", "yes", "y"):
        return 1
    if text in ("0", "0.0", "false", "f", "no", "n"):
        return 0
    raise BadRow("bad_value", f"{col} {value!r} is not a yes/no flag (1/0, true/false)")


def _choice(row: Row, col: str, allowed: tuple[str, ...], default: str | None) -> str:
    text = _text(row, col, required=default is None)
    if text is None:
        assert default is not None
        return default
    text = text.lower()
    if text not in allowed:
        raise BadRow("bad_value", f"{col} {text!r} is not one of {', '.join(allowed)}")
    return text


def _weekday_list(row: Row, col: str) -> str | None:
    text = _text(row, col, required=False)
    if text is None:
        return None
    days = [part.strip().lower()[:3] for part in text.replace(";", ",").split(",") if part.strip()]
    unknown = [d for d in days if d not in WEEKDAYS]
    if unknown:
        raise BadRow("bad_value", f"{col} {text!r}: unknown weekday(s) {', '.join(unknown)}")
    return ",".join(d for d in WEEKDAYS if d in days)


def _weekday(row: Row, col: str, ctx: RowContext) -> int | None:
    text = _text(row, col, required=False)
    if text is None:
        return None
    lowered = text.lower()[:3]
    if lowered in WEEKDAYS:
        return WEEKDAYS.index(lowered)
    return _int(row, col, ctx, low=0, high=6)


def _sku(row: Row, ctx: RowContext) -> str:
    sku = _text(row, "sku")
    assert sku is not None
    if sku not in ctx.known_skus:
        raise BadRow("unknown_sku", f"sku {sku!r} is not in the product master")
    return sku


def _check_store(row: Row, ctx: RowContext) -> None:
    store = _text(row, "store_id", required=False)
    if store is not None and store != ctx.store_id:
        raise BadRow(
            "wrong_store", f"store_id {store!r} is not this mirror's store {ctx.store_id!r}"
        )


def _when(row: Row, ctx: RowContext) -> tuple[str, str]:
    """(business date, UTC text or None) from a timestamp column, else a date column."""
    if _text(row, "timestamp", required=False) is not None:
        ts_utc, business_date, _ = _timestamp(row, "timestamp", ctx)
        return business_date, ts_utc
    business_date = _date(row, "date", ctx, not_future=True)
    assert business_date is not None
    return business_date, None  # type: ignore[return-value]


# -- kinds ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    #: Columns that identify the kind in a header (all must be present).
    required: tuple[str, ...]
    #: Every column read, in the order of the validated tuple's source.
    columns: tuple[str, ...]
    description: str
    example: str
    validate: Callable[[Row, RowContext], tuple]
    #: Columns written (the validated tuple's order) and the key among them.
    target_columns: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    #: Summarizes a batch of validated tuples where they are validated (sales lines).
    summarize: Callable[[list[tuple]], Any] | None = None
    #: Validates a batch given as columns; None marks rows for ``validate`` to decide.
    validate_many: Callable[[Mapping[str, Sequence[Any]], RowContext], list] | None = None

    def upsert_sql(self) -> str:
        """Insert, or replace a keyed row whose content differs (last write wins)."""
        cols = ", ".join(self.target_columns)
        marks = ", ".join("?" for _ in self.target_columns)
        rest = [c for c in self.target_columns if c not in self.key and c != "file_id"]
        sets = ", ".join(f"{c} = excluded.{c}" for c in rest)
        differs = " OR ".join(f"{self.table}.{c} IS NOT excluded.{c}" for c in rest)
        return (
            f"INSERT INTO {self.table} ({cols}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {sets} WHERE {differs}"
        )


def _v_sales_line(row: Row, ctx: RowContext) -> tuple:
    """One sales line: the reference rules, and the explanation of every rejection."""
    _check_store(row, ctx)
    line_id = _text(row, "line_id")
    ts_utc, business_date, hour = _timestamp(row, "timestamp", ctx)
    sku = _sku(row, ctx)
    qty = _number(row, "qty", ctx)
    assert qty is not None
    line_type = _text(row, "line_type", required=False)
    if line_type is None:
        if qty < 0:
            raise BadRow(
                "negative_quantity",
                f"qty {qty:g} is negative but line_type is empty (use return or void)",
            )
        line_type = "sale"
    else:
        line_type = line_type.lower()
        if line_type not in LINE_TYPES:
            raise BadRow("bad_value", f"line_type {line_type!r} is not one of sale, return, void")
        if line_type == "sale" and qty < 0:
            raise BadRow("negative_quantity", f"qty {qty:g} is negative on a sale line")
    unit_price = _number(row, "unit_price", ctx, required=False, reason="bad_value")
    basket = _text(row, "basket_id", required=False)
    return (line_id, ts_utc, business_date, hour, sku, abs(qty), unit_price, basket, line_type)


LINE_TYPES = ("sale", "return", "void")
_NUMBER_TYPES = (int, float)


def _v_sales_lines_many(columns: Mapping[str, Sequence[Any]], ctx: RowContext) -> list:
    """The hot path of ingest: a batch of lines given as columns.

    Returns each plainly valid line's tuple (exactly what :func:`_v_sales_line`
    returns) and None for any other line, which the caller hands to
    :func:`_v_sales_line` to accept or explain. When every column passes whole-column
    checks (C-level set and map operations) the tuples are zipped without a Python
    loop per line; otherwise lines are checked one by one. Tests hold both paths to
    the per-line answers.
    """
    n = len(columns["line_id"])
    if ctx.decimal_comma:
        return [None] * n
    cache = ctx.timestamps
    if len(cache) > 200_000:
        cache.clear()
        ctx.minutes.clear()
    stamps = [t if t.__class__ is str else None for t in columns["timestamp"]]
    for text in set(stamps):
        if text is not None and text not in cache:
            cache[text] = _parse_timestamp_cached(text, ctx)
    whens = list(map(cache.get, stamps))
    fast = _sales_lines_whole_columns(columns, ctx, whens, n)
    return fast if fast is not None else _sales_lines_row_by_row(columns, ctx, whens)


def _parse_timestamp_cached(text: str, ctx: RowContext) -> tuple[str, str, int] | None:
    """(UTC text, business date, hour) of a timestamp, or None if it is not plainly valid.

    Lines of one minute share everything but the seconds (UTC offsets are whole
    minutes), so the zone arithmetic is done once per minute and the seconds are
    spliced in; near the clock-skew limit every timestamp is parsed on its own.
    """
    seconds = text[17:19]
    if len(text) >= 19 and text[16] == ":" and seconds.isdigit() and seconds < "60":
        key = text[:17] + text[19:]
        minute = ctx.minutes.get(key)
        if minute is None:
            try:
                minute = _timestamp({"timestamp": key[:17] + "00" + key[17:]}, "timestamp", ctx)
            except BadRow:
                minute = _NOT_PLAIN
            ctx.minutes[key] = minute
        if minute is not _NOT_PLAIN and minute[0][:16] < ctx.last_safe_minute:
            utc, day, hour = minute
            return utc[:17] + seconds + utc[19:], day, hour
    try:
        return _timestamp({"timestamp": text}, "timestamp", ctx)
    except BadRow:
        return None


_NOT_PLAIN = ("", "", -1)


def _sales_lines_whole_columns(
    columns: Mapping[str, Sequence[Any]], ctx: RowContext, whens: list, n: int
) -> list | None:
    """All lines' tuples when every column is plainly valid as a whole, else None."""
    absent = (None,) * n
    ids = columns["line_id"]
    qtys = columns["qty"]
    prices = columns.get("unit_price", absent)
    baskets = columns.get("basket_id", absent)
    types = columns.get("line_type", absent)
    if (
        None in whens
        or not set(columns.get("store_id", absent)) <= {None, "", ctx.store_id}
        or not ctx.known_skus.issuperset(columns["sku"])
        or not set(types) <= {None, "", "sale"}  # returns and voids take the per-line path
        or set(map(type, qtys)) != {str}
        or set(map(type, ids)) != {str}
        or "" in ids
    ):
        return None
    try:
        quantities = list(map(float, qtys))
        price_types = set(map(type, prices))
        if price_types == {str}:
            unit_prices: Sequence[float | None] = list(map(float, prices))
        elif price_types == {type(None)}:
            unit_prices = prices
        else:
            return None
        if list(map(str.strip, ids)) != list(ids):
            return None
        basket_types = set(map(type, baskets))
        if basket_types == {str}:
            if "" in baskets or list(map(str.strip, baskets)) != list(baskets):
                return None
        elif basket_types != {type(None)}:
            return None
    except ValueError:
        return None
    if min(quantities) < 0 or not all(map(math.isfinite, quantities)):
        return None
    if unit_prices is not prices and not all(map(math.isfinite, unit_prices)):  # type: ignore[arg-type]
        return None
    # itemgetter maps run in C; zip(*whens) would build one iterator per line.
    return list(
        zip(
            ids,
            map(_FIRST, whens),
            map(_SECOND, whens),
            map(_THIRD, whens),
            columns["sku"],
            quantities,
            unit_prices,
            baskets,
            ("sale",) * n,
            strict=True,
        )
    )


def _sales_lines_row_by_row(
    columns: Mapping[str, Sequence[Any]], ctx: RowContext, whens: list
) -> list:
    """Each line's tuple if it is plainly valid, else None (a tight loop per line)."""
    absent = (None,) * len(whens)
    known, store_id, plain_types = ctx.known_skus, ctx.store_id, ("return", "void")
    out: list[tuple | None] = []
    append = out.append
    for line_id, when, sku, raw_qty, raw_price, basket, line_type, store in zip(
        columns["line_id"],
        whens,
        columns["sku"],
        columns["qty"],
        columns.get("unit_price", absent),
        columns.get("basket_id", absent),
        columns.get("line_type", absent),
        columns.get("store_id", absent),
        strict=True,
    ):
        try:
            if (
                when is None
                or (store is not None and store != "" and store != store_id)
                or sku not in known
                or line_id.__class__ is not str
                or not line_id
                or line_id != line_id.strip()
                or (
                    basket is not None and (basket.__class__ is not str or basket != basket.strip())
                )
            ):
                append(None)
                continue
            qty = (
                float(raw_qty)
                if raw_qty.__class__ is str or raw_qty.__class__ in _NUMBER_TYPES
                else None
            )
            price = (
                None
                if raw_price is None or raw_price == ""
                else float(raw_price)
                if raw_price.__class__ is str or raw_price.__class__ in _NUMBER_TYPES
                else _REJECT
            )
        except (ValueError, TypeError, AttributeError):
            append(None)
            continue
        if (
            qty is None
            or qty - qty != 0.0  # NaN or infinite
            or price is _REJECT
            or (price is not None and price - price != 0.0)
        ):
            append(None)
            continue
        if line_type is None or line_type == "":
            if qty < 0:
                append(None)
                continue
            line_type = "sale"
        elif line_type == "sale":
            if qty < 0:
                append(None)
                continue
        elif line_type not in plain_types:
            append(None)
            continue
        append(
            (line_id, when[0], when[1], when[2], sku, abs(qty), price, basket or None, line_type)
        )
    return out


_REJECT = object()
_FIRST, _SECOND, _THIRD = itemgetter(0), itemgetter(1), itemgetter(2)


class LineRollup:
    """What sales lines add to daily totals and hourly transactions.

    Kept per batch (computed where the batch is validated, possibly in a child
    process) and merged by the writer, so the day is never rescanned.
    """

    __slots__ = ("baskets", "daily", "hours")

    def __init__(self) -> None:
        # (sku, date) -> [units sold, units returned, sales value, priced units]
        self.daily: dict[tuple[str, str], list[float]] = {}
        # (date, hour) -> basket ids (line ids for lines without a basket) of sales
        self.baskets: dict[tuple[str, int], set[str]] = {}
        # (sku, date) -> units sold per local hour (the availability model's input)
        self.hours: dict[tuple[str, str], list[float]] = {}

    def add(self, values: tuple) -> None:
        """Add one validated line (the tuple of :func:`_v_sales_line`)."""
        line_id, _, day, hour, sku, qty, price, basket, line_type = values
        if line_type == "void":
            return
        totals = self.daily.get((sku, day))
        if totals is None:
            totals = self.daily[(sku, day)] = [0.0, 0.0, 0.0, 0.0]
        if line_type == "return":
            totals[1] += qty
            return
        totals[0] += qty
        hours = self.hours.get((sku, day))
        if hours is None:
            hours = self.hours[(sku, day)] = [0.0] * 24
        hours[hour] += qty
        if price is not None:
            totals[2] += qty * price
            totals[3] += qty
        members = self.baskets.get((day, hour))
        if members is None:
            members = self.baskets[(day, hour)] = set()
        members.add(basket or line_id)

    def merge(self, other: LineRollup) -> None:
        for key, add in other.daily.items():
            totals = self.daily.get(key)
            if totals is None:
                self.daily[key] = list(add)
            else:
                for i in range(4):
                    totals[i] += add[i]
        for key, add in other.hours.items():
            hours = self.hours.get(key)
            if hours is None:
                self.hours[key] = list(add)
            else:
                for i in range(24):
                    hours[i] += add[i]
        for key, members in other.baskets.items():
            mine = self.baskets.get(key)
            if mine is None:
                self.baskets[key] = set(members)
            else:
                mine.update(members)


def _summarize_lines(batch: list[tuple]) -> LineRollup:
    rollup = LineRollup()
    for values in batch:
        rollup.add(values)
    return rollup


def _v_daily_sales(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    sku = _sku(row, ctx)
    day = _date(row, "date", ctx, not_future=True)
    units = _number(row, "units", ctx)
    assert units is not None
    if units < 0:
        raise BadRow("negative_quantity", f"units {units:g} is negative")
    price = _number(row, "price", ctx, required=False, reason="bad_value")
    promo = _flag(row, "promo")
    on_hand = _number(row, "on_hand", ctx, required=False)
    return (sku, day, units, price, promo, on_hand, "export")


def _v_daily_sales_many(columns: Mapping[str, Sequence[Any]], ctx: RowContext) -> list:
    """Daily totals as whole columns (the simulator writes millions): every row's tuple
    when every column is plainly valid, else None for all (the per-row rules decide)."""
    n = len(columns["sku"])
    absent = (None,) * n
    undecided: list = [None] * n
    if (
        ctx.decimal_comma
        or not set(columns.get("store_id", absent)) <= {None, "", ctx.store_id}
        or not ctx.known_skus.issuperset(columns["sku"])
    ):
        return undecided
    days = columns["date"]
    if set(map(type, days)) != {str}:
        return undecided
    parsed = {}
    for text in set(days):
        try:
            parsed[text] = _date({"date": text}, "date", ctx, not_future=True)
        except BadRow:
            return undecided
    units = _plain_numbers(columns["units"], optional=False)
    prices = _plain_numbers(columns.get("price", absent), optional=True)
    on_hand = _plain_numbers(columns.get("on_hand", absent), optional=True)
    promos = list(map(_PROMO_FLAGS.get, columns.get("promo", absent), repeat(_REJECT)))
    if units is None or prices is None or on_hand is None or _REJECT in promos:
        return undecided
    if units and min(units) < 0:
        return undecided
    return list(
        zip(
            columns["sku"],
            map(parsed.__getitem__, days),
            units,
            prices,
            promos,
            on_hand,
            repeat("export", n),
            strict=True,
        )
    )


def _plain_numbers(values: Sequence[Any], *, optional: bool) -> list | None:
    """Floats of a column of plain finite numbers (or all None when optional), else None."""
    kinds = set(map(type, values))
    if optional and kinds <= {type(None)}:
        return list(values)
    if not kinds or not (kinds <= {float, int} or kinds == {str}):
        return None
    try:
        numbers = list(map(float, values))
    except ValueError:
        return None
    return numbers if all(map(math.isfinite, numbers)) else None


# Flag values read the same as _flag reads them; anything else takes the per-row path.
_PROMO_FLAGS: dict[Any, int | None] = {None: None, "": None, 0: 0, 1: 1, "0": 0, "1": 1}


def _v_inventory(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    sku = _sku(row, ctx)
    business_date, ts_utc = _when(row, ctx)
    if ts_utc is None:  # a date-only count stands for the end of that business day
        end = datetime.combine(date.fromisoformat(business_date), time(23, 59, 59), ctx.tz)
        ts_utc = utc_text(end.astimezone(UTC))
    on_hand = _number(row, "on_hand", ctx)
    return (sku, ts_utc, business_date, on_hand)


def _v_adjustment(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    adjustment_id = _text(row, "adjustment_id")
    sku = _sku(row, ctx)
    business_date, ts_utc = _when(row, ctx)
    qty = _number(row, "qty", ctx)
    reason = (_text(row, "reason") or "").lower()
    return (adjustment_id, sku, business_date, ts_utc, qty, reason)


def _v_delivery(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    delivery_id = _text(row, "delivery_id")
    sku = _sku(row, ctx)
    business_date, ts_utc = _when(row, ctx)
    qty = _number(row, "qty", ctx)
    assert qty is not None
    if qty < 0:
        raise BadRow("negative_quantity", f"qty {qty:g} is negative on a delivery")
    return (delivery_id, sku, business_date, ts_utc, qty, _text(row, "order_id", required=False))


def _v_open_order(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    order_id = _text(row, "order_id")
    sku = _sku(row, ctx)
    order_date = _date(row, "order_date", ctx, required=False)
    expected = _date(row, "expected_date", ctx)
    qty = _number(row, "qty", ctx)
    assert qty is not None
    if qty < 0:
        raise BadRow("negative_quantity", f"qty {qty:g} is negative on an open order")
    status = _choice(row, "status", ("open", "received", "cancelled"), "open")
    return (order_id, sku, order_date, expected, qty, status)


def _v_schedule(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    day = _date(row, "date", ctx)
    hour = _int(row, "hour", ctx, low=0, high=23)
    staff = _number(row, "staff", ctx, reason="bad_value")
    assert staff is not None
    if staff < 0:
        raise BadRow("bad_value", f"staff {staff:g} is negative")
    role = (_text(row, "role", required=False) or "all").lower()
    return (day, hour, role, staff)


def _v_promotion(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    promo_id = _text(row, "promo_id")
    sku = _sku(row, ctx)
    start = _date(row, "start_date", ctx)
    end = _date(row, "end_date", ctx)
    assert start is not None and end is not None
    if end < start:
        raise BadRow("bad_value", f"end_date {end} is before start_date {start}")
    promo_price = _number(row, "promo_price", ctx, required=False, reason="bad_value")
    discount = _number(row, "discount_pct", ctx, required=False, reason="bad_value")
    if discount is not None and not 0 <= discount <= 100:
        raise BadRow("bad_value", f"discount_pct {discount:g} is outside 0..100")
    kind = _text(row, "kind", required=False)
    return (promo_id, sku, start, end, promo_price, discount, kind)


def _v_traffic(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    day = _date(row, "date", ctx, not_future=True)
    hour = _int(row, "hour", ctx, low=0, high=23)
    transactions = _int(row, "transactions", ctx, low=0)
    return (day, hour, transactions, "export")


def _v_calendar(row: Row, ctx: RowContext) -> tuple:
    _check_store(row, ctx)
    day = _date(row, "date", ctx)
    status = _choice(row, "status", ("open", "closed", "holiday", "event"), None)
    return (
        day,
        status,
        _text(row, "name", required=False),
        _clock_time(row, "opens"),
        _clock_time(row, "closes"),
    )


def _v_product(row: Row, ctx: RowContext) -> tuple:
    sku = _text(row, "sku")
    effective = _date(row, "effective_from", ctx, required=False) or ctx.latest_date.isoformat()
    category = _text(row, "category")
    case_pack = _number(row, "case_pack", ctx, reason="bad_value")
    assert case_pack is not None
    if case_pack <= 0:
        raise BadRow("bad_value", f"case_pack {case_pack:g} must be positive")
    values: list[Any] = [
        sku,
        effective,
        category,
        _text(row, "department", required=False),
        _text(row, "description", required=False),
        case_pack,
    ]
    for col in ("unit_cost", "price", "shelf_capacity"):
        number = _number(row, col, ctx, required=False, reason="bad_value")
        if number is not None and number < 0:
            raise BadRow("bad_value", f"{col} {number:g} is negative")
        values.append(number)
    values += [
        _text(row, "supplier", required=False),
        _int(row, "lead_time_days", ctx, required=False, low=0, high=365),
        _weekday_list(row, "order_days"),
        _clock_time(row, "order_cutoff"),
        _flag(row, "perishable") or 0,
        _int(row, "shelf_life_days", ctx, required=False, low=0),
        _choice(row, "status", ("active", "delisted"), "active"),
    ]
    return tuple(values)


def _v_store(row: Row, ctx: RowContext) -> tuple:
    store_id = _text(row, "store_id")
    zone = _text(row, "time_zone")
    try:
        ZoneInfo(zone)  # type: ignore[arg-type]
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRow("bad_value", f"time_zone {zone!r} is not an IANA time zone") from None
    return (
        store_id,
        zone,
        _text(row, "name", required=False),
        _weekday(row, "weekday", ctx),
        _clock_time(row, "opens"),
        _clock_time(row, "closes"),
    )


def _kind(
    name: str,
    table: str,
    required: str,
    optional: str,
    description: str,
    example: str,
    validate: Callable[[Row, RowContext], tuple],
    target: str = "",
    key: str = "",
    summarize: Callable[[list[tuple]], Any] | None = None,
    validate_many: Callable[[Mapping[str, Sequence[Any]], RowContext], list] | None = None,
) -> Kind:
    req = tuple(required.split(","))
    return Kind(
        name=name,
        table=table,
        required=req,
        columns=req + (tuple(optional.split(",")) if optional else ()),
        description=description,
        example=example,
        validate=validate,
        target_columns=tuple(target.split(",")) if target else (),
        key=tuple(key.split(",")) if key else (),
        summarize=summarize,
        validate_many=validate_many,
    )


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        _kind(
            "store",
            "store",
            "store_id,time_zone",
            "name,weekday,opens,closes",
            "Store and trading hours (weekday 0=Mon..6=Sun or mon..sun; empty = every day).",
            "store_id,time_zone,name,weekday,opens,closes\nS001,Europe/Berlin,Main St,,08:00,20:00",
            _v_store,
        ),
        _kind(
            "calendar",
            "store_calendar",
            "date,status",
            "store_id,name,opens,closes",
            "Closures, holidays, events: status open, closed, holiday or event.",
            "date,status,name\n2026-12-25,closed,Christmas Day",
            _v_calendar,
            "date,status,name,opens,closes",
            "date",
        ),
        _kind(
            "products",
            "products",
            "sku,category,case_pack",
            "effective_from,department,description,unit_cost,price,shelf_capacity,supplier,"
            "lead_time_days,order_days,order_cutoff,perishable,shelf_life_days,status",
            "Product master, effective-dated (effective_from defaults to today).",
            "sku,category,case_pack,unit_cost,price,supplier,lead_time_days,order_days,order_cutoff\n"
            'SKU000001,dairy,12,0.55,0.99,ACME,2,"mon,thu",11:00',
            _v_product,
            "sku,effective_from,category,department,description,case_pack,unit_cost,price,"
            "shelf_capacity,supplier,lead_time_days,order_days,order_cutoff,perishable,"
            "shelf_life_days,status",
            "sku,effective_from",
        ),
        _kind(
            "sales_lines",
            "sales_lines",
            "line_id,timestamp,sku,qty",
            "unit_price,basket_id,line_type,store_id",
            "POS lines; line_type sale (default), return or void; naive timestamps: store-local.",
            "line_id,timestamp,sku,qty,unit_price,basket_id,line_type\n"
            "T1-0001-1,2026-03-02T09:15:03+01:00,SKU000001,2,0.99,T1-0001,sale",
            _v_sales_line,
            summarize=_summarize_lines,
            validate_many=_v_sales_lines_many,
        ),
        _kind(
            "daily_sales",
            "daily_sales",
            "sku,date,units",
            "store_id,price,promo,on_hand",
            "Daily totals per SKU: store_id,sku,date,units[,price,promo,on_hand].",
            "store_id,sku,date,units,price,promo,on_hand\nS001,SKU000001,2026-03-02,14,0.99,0,37",
            _v_daily_sales,
            "sku,date,units,price,promo,on_hand,source",
            "sku,date",
            validate_many=_v_daily_sales_many,
        ),
        _kind(
            "inventory",
            "inventory_snapshots",
            "sku,on_hand",
            "store_id,timestamp,date",
            "On-hand snapshots or counts (a date alone means end of that business day).",
            "sku,date,on_hand\nSKU000001,2026-03-02,37",
            _v_inventory,
            "sku,ts_utc,business_date,on_hand",
            "sku,ts_utc",
        ),
        _kind(
            "adjustments",
            "stock_adjustments",
            "adjustment_id,sku,qty,reason",
            "store_id,timestamp,date",
            "Stock adjustments, signed (waste, damage, count, theft, return, other).",
            "adjustment_id,sku,date,qty,reason\nA-77,SKU000001,2026-03-02,-3,waste",
            _v_adjustment,
            "adjustment_id,sku,business_date,ts_utc,qty,reason",
            "adjustment_id,sku",
        ),
        _kind(
            "deliveries",
            "deliveries",
            "delivery_id,sku,qty",
            "store_id,timestamp,date,order_id",
            "Goods received.",
            "delivery_id,sku,date,qty,order_id\nD-12,SKU000001,2026-03-02,24,O-9",
            _v_delivery,
            "delivery_id,sku,business_date,ts_utc,qty,order_id",
            "delivery_id,sku",
        ),
        _kind(
            "open_orders",
            "open_orders",
            "order_id,sku,qty,expected_date",
            "store_id,order_date,status",
            "Orders placed and not yet received (status open, received, cancelled).",
            "order_id,sku,order_date,expected_date,qty\nO-9,SKU000001,2026-03-01,2026-03-03,24",
            _v_open_order,
            "order_id,sku,order_date,expected_date,qty,status",
            "order_id,sku",
        ),
        _kind(
            "schedule",
            "labor_schedule",
            "date,hour,staff",
            "store_id,role",
            "Hourly labor schedule (staff on duty per local hour and role).",
            "date,hour,staff,role\n2026-03-02,9,3,cashier",
            _v_schedule,
            "date,hour,role,staff",
            "date,hour,role",
        ),
        _kind(
            "promotions",
            "promotions",
            "promo_id,sku,start_date,end_date",
            "store_id,promo_price,discount_pct,kind",
            "Promotions known in advance.",
            "promo_id,sku,start_date,end_date,discount_pct\nP-5,SKU000001,2026-03-05,2026-03-11,20",
            _v_promotion,
            "promo_id,sku,start_date,end_date,promo_price,discount_pct,kind",
            "promo_id,sku",
        ),
        _kind(
            "traffic",
            "store_hourly",
            "date,hour,transactions",
            "store_id",
            "Store transactions per local hour: store_id,date,hour,transactions.",
            "store_id,date,hour,transactions\nS001,2026-03-02,9,112",
            _v_traffic,
            "date,hour,transactions,source",
            "date,hour",
        ),
    )
}
