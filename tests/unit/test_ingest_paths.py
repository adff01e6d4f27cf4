"""The fast paths of ingest give exactly the answers of the per-row rules.

Sales lines are validated column-wise (whole columns at C speed, else line by
line) with the per-row validator deciding and explaining anything unusual; CSV
is read in chunks of lines; large files are validated in a child process. Each
of these must agree with the plain per-row path on messy input.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.mirror import Ingestor, Mirror
from edge_agent.mirror.exports import open_export, validate_batches
from edge_agent.mirror.kinds import KINDS, BadRow, RowContext
from tests.unit.test_ingest import table_dump

COLUMNS = ("line_id", "timestamp", "sku", "qty", "unit_price", "basket_id", "line_type", "store_id")


def _messy_value(rng: random.Random, column: str, n: int):
    """Mostly plain values, sometimes every kind of trouble a POS export has shown."""
    plain = {
        "line_id": f"L{n:06d}",
        "timestamp": f"2026-03-0{rng.randint(1, 9)}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}+01:00",
        "sku": rng.choice(["SKU1", "SKU2", "SKU3"]),
        "qty": str(rng.choice([1, 2, 3, 0.745, 12])),
        "unit_price": str(rng.choice([0.99, 2.49, 10])),
        "basket_id": f"B{n // 3:05d}",
        "line_type": rng.choice(["", "sale", "sale"]),
        "store_id": rng.choice(["", "S001"]),
    }[column]
    if rng.random() > 0.15:
        return plain
    trouble = {
        "line_id": ["", " L1 ", f"L{n // 2:06d}", 7, None],
        "timestamp": [
            # around the clock-skew limit (now 12:00Z + 300 s): per-second exactness
            "2026-03-10T12:04:00Z",
            "2026-03-10T12:04:59Z",
            "2026-03-10T12:05:00Z",
            "2026-03-10T12:05:01Z",
            "2026-03-10T13:05:00.500+01:00",
            "2026-03-10T13:04:59.999+01:00",
            "2026-03-02T09:15:60+01:00",
            "",
            "not a time",
            "2026-03-02 09:00:00",
            "2026-03-02T09:00:00Z",
            "2030-01-01T00:00:00Z",
            "2026-03-29T02:30:00",
            20260302,
            None,
        ],
        "sku": ["", "SKU9", " SKU1", 1, None],
        "qty": ["", "abc", "NaN", "inf", "-1", " 2 ", "1_000", "-0", 3, 2.5, True, None],
        "unit_price": ["", "x", "nan", "-1", " 1.5 ", 4, False, None],
        "basket_id": ["", " B1", 0, 5, None],
        "line_type": ["return", "void", "RETURN", " sale", "refund", 0, None],
        "store_id": ["S002", " S001 ", 0, None],
    }[column]
    return rng.choice(trouble)


def _messy_rows(seed: int, n: int = 3000) -> list[dict]:
    rng = random.Random(seed)
    return [{c: _messy_value(rng, c, i) for c in COLUMNS} for i in range(n)]


def _per_row(rows: list[dict], ctx: RowContext) -> list:
    out = []
    for row in rows:
        try:
            out.append(KINDS["sales_lines"].validate(row, ctx))
        except BadRow as bad:
            out.append(("bad", bad.reason, bad.detail))
    return out


def _context() -> RowContext:
    return RowContext(
        store_id="S001",
        tz=ZoneInfo("Europe/Berlin"),
        now=datetime(2026, 3, 10, 12, tzinfo=UTC),
        skew_tolerance_s=300,
        known_skus={"SKU1", "SKU2", "SKU3"},
    )


@pytest.mark.parametrize("seed", range(8))
def test_column_wise_validation_agrees_with_the_per_row_rules(seed: int):
    rows = _messy_rows(seed)
    expected = _per_row(rows, _context())
    for as_sequences in (False, True):
        raw = [
            (i + 2, [r[c] for c in COLUMNS] if as_sequences else r, None)
            for i, r in enumerate(rows)
        ]
        header = COLUMNS if as_sequences else None
        got: dict[int, object] = {}
        for batch in validate_batches(raw, KINDS["sales_lines"], _context(), 700, header=header):
            got.update(zip(batch.lines, batch.values, strict=True))
            got.update({n: ("bad", reason, detail) for n, _, reason, detail in batch.bad})
        assert [got[i + 2] for i in range(len(rows))] == expected


def test_whole_column_path_is_taken_for_a_plain_batch_and_agrees():
    from edge_agent.mirror import kinds

    rng = random.Random(3)
    rows = []
    for i in range(500):
        rows.append(
            {
                "line_id": f"L{i:05d}",
                "timestamp": f"2026-03-02T09:{i % 60:02d}:00+01:00",
                "sku": rng.choice(["SKU1", "SKU2"]),
                "qty": str(rng.choice([1, 2, 0.5])),
                "unit_price": "0.99",
                "basket_id": f"B{i // 4}",
                "line_type": "sale",
                "store_id": "S001",
            }
        )
    ctx = _context()
    columns = {c: [r[c] for r in rows] for c in COLUMNS}
    whens = [kinds._timestamp(r, "timestamp", ctx) for r in rows]
    fast = kinds._sales_lines_whole_columns(columns, ctx, whens, len(rows))
    assert fast is not None, "a plain batch must take the whole-column path"
    assert fast == _per_row(rows, ctx)


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(["" if r[c] is None else r[c] for c in COLUMNS])


@pytest.mark.parametrize("seed", range(3))
def test_child_process_path_loads_exactly_what_the_inline_path_loads(
    mirror: Mirror, tmp_path: Path, clock, seed: int
):
    from edge_agent.mirror import open_mirror

    rows = _messy_rows(seed, 4000)
    path = tmp_path / "sales.csv"
    _write_csv(path, rows)
    twin_path = tmp_path / "twin.db"
    mirror.conn.execute("VACUUM INTO ?", (str(twin_path),))
    twin = open_mirror(twin_path, clock=clock)
    inline = Ingestor(mirror, batch_rows=500).ingest_file(path)
    child = Ingestor(twin, batch_rows=500, parallel_min_bytes=0).ingest_file(path)
    assert inline.as_dict() | {"file": None} == child.as_dict() | {"file": None}
    assert inline.rows_loaded > 2000 and inline.rows_quarantined > 100
    for table in ("sales_lines", "daily_sales", "store_hourly"):
        assert table_dump(mirror)[table] == table_dump(twin)[table]
    lines = lambda m: m.conn.execute(  # noqa: E731
        "SELECT file_name, line_no, kind, reason, detail FROM quarantine ORDER BY line_no"
    ).fetchall()
    assert [r[1:] for r in lines(mirror)] == [r[1:] for r in lines(twin)]
    twin.close()


def test_csv_chunks_keep_line_numbers_across_quotes_blank_lines_and_ragged_rows(tmp_path: Path):
    from edge_agent.mirror import exports

    body = ["line_id,timestamp,sku,qty,basket_id"]
    expected = {}
    line = 2
    for i in range(30):
        if i % 7 == 3:
            body.append("")  # a blank line
            line += 1
        if i % 5 == 1:  # a quoted field with a newline inside: one record over two lines
            body.append(f'Q{i},2026-03-02T09:00:00+01:00,SKU1,1,"basket\nsplit"')
            expected[f"Q{i}"] = line
            line += 2
        elif i % 11 == 4:
            body.append(f"R{i},2026-03-02T09:00:00+01:00,SKU1")  # ragged
            expected[f"R{i}"] = line
            line += 1
        else:
            body.append(f"P{i},2026-03-02T09:00:00+01:00,SKU1,1,B{i}")
            expected[f"P{i}"] = line
            line += 1
    path = tmp_path / "lines.csv"
    path.write_text("\n".join(body) + "\n")
    original = exports._CHUNK_LINES
    try:
        for chunk in (1, 2, 3, 8192):  # quoted records straddle chunk ends at small sizes
            exports._CHUNK_LINES = chunk
            with open_export(path) as export:
                seen = {}
                for n, row, problem in export.rows:
                    key = row["line_id"] if isinstance(row, dict) else row[0]
                    seen[key] = n
                    if key.startswith("R"):
                        assert problem == "3 fields where the header has 5"
                    else:
                        assert problem is None
                    if key.startswith("Q"):
                        assert row[4] == "basket\nsplit"
            assert seen == expected, chunk
    finally:
        exports._CHUNK_LINES = original


def test_duplicate_line_quarantine_keeps_the_validated_values(mirror: Mirror, tmp_path: Path):
    path = tmp_path / "s.csv"
    path.write_text(
        "line_id,timestamp,sku,qty,unit_price\n"
        "D1,2026-03-02T09:00:00+01:00,SKU1,1,0.99\n"
        "D1,2026-03-02T09:05:00+01:00,SKU1,2,0.99\n"
    )
    Ingestor(mirror).ingest_file(path)
    raw = mirror.conn.execute(
        "SELECT raw FROM quarantine WHERE reason = 'duplicate_line_id'"
    ).fetchone()[0]
    assert json.loads(raw) == {
        "line_id": "D1",
        "ts_utc": "2026-03-02T08:05:00.000Z",
        "business_date": "2026-03-02",
        "local_hour": 9,
        "sku": "SKU1",
        "qty": 2.0,
        "unit_price": 0.99,
        "basket_id": None,
        "line_type": "sale",
    }


DAILY = ("store_id", "sku", "date", "units", "price", "promo", "on_hand")


def _daily_rows(seed: int, messy: bool, n: int = 400) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row = {
            "store_id": "S001",
            "sku": rng.choice(["SKU1", "SKU2", "SKU3"]),
            "date": f"2026-03-0{rng.randint(1, 9)}",
            "units": rng.choice([0, 1, 2.5, 7]),
            "price": rng.choice([0.99, 2.49]),
            "promo": rng.choice([0, 1]),
            "on_hand": rng.choice([0, 5, -2, 12.5]),
        }
        if messy and rng.random() < 0.1:
            column = rng.choice(DAILY)
            row[column] = rng.choice(
                [
                    "",
                    None,
                    "x",
                    "nan",
                    "-3",
                    "2026-02-30",
                    "2026-03-11",
                    " 4 ",
                    True,
                    "yes",
                    "S002",
                    "SKU9",
                    3,
                ]
            )
        rows.append(row)
    return rows


@pytest.mark.parametrize(("seed", "messy"), [(0, False), (1, False), (2, True), (3, True)])
def test_daily_sales_column_path_agrees_with_the_per_row_rules(seed: int, messy: bool):
    kind = KINDS["daily_sales"]
    rows = _daily_rows(seed, messy)
    ctx = _context()
    expected = []
    for row in rows:
        try:
            expected.append(kind.validate(row, ctx))
        except BadRow as bad:
            expected.append(("bad", bad.reason, bad.detail))
    quick = kind.validate_many({c: [r[c] for r in rows] for c in DAILY}, _context())
    if not messy:
        assert None not in quick, "plain daily rows must take the column path"
    got = {}
    for batch in validate_batches(
        [(i, r, None) for i, r in enumerate(rows)], kind, _context(), 150
    ):
        got.update(zip(batch.lines, batch.values, strict=True))
        got.update({n: ("bad", reason, detail) for n, _, reason, detail in batch.bad})
    assert [got[i] for i in range(len(rows))] == expected
