"""Ingest: every bad row quarantined with file, line and reason; nothing lost, nothing twice."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from edge_agent import audit
from edge_agent.errors import IngestError, StoreNotConfigured, UnknownFileKindError
from edge_agent.mirror import Ingestor, Mirror, detect_kind, open_mirror
from edge_agent.mirror.kinds import KINDS
from tests.conftest import write

SALES_HEADER = "line_id,timestamp,sku,qty,unit_price,basket_id,line_type,store_id\n"


def table_dump(mirror: Mirror) -> dict[str, list[tuple]]:
    tables = [
        r[0]
        for r in mirror.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
    ]
    return {t: mirror.conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def quarantine_rows(mirror: Mirror) -> list[tuple]:
    return mirror.conn.execute(
        "SELECT file_name, line_no, reason, detail FROM quarantine ORDER BY line_no"
    ).fetchall()


def test_each_bad_row_goes_to_quarantine_with_line_and_reason(mirror: Mirror, tmp_path: Path):
    path = write(
        tmp_path,
        "sales.csv",
        SALES_HEADER
        + "\n".join(
            [
                "L1,2026-03-02T09:15:03+01:00,SKU1,2,0.99,B1,sale,S001",  # 2 good
                "L2,2026-03-02T09:20:00+01:00,SKU9,1,0.99,B1,sale,S001",  # 3 unknown sku
                "L3,2026-03-02T09:20:00+01:00,SKU1,abc,0.99,B1,sale,S001",  # 4 non-numeric
                "L4,2026-03-02T09:20:00+01:00,SKU1,NaN,0.99,B1,sale,S001",  # 5 NaN
                "L5,2026-03-02T09:20:00+01:00,SKU1,-2,0.99,B1,,S001",  # 6 unflagged negative
                "L6,02/03/2026 9:20,SKU1,1,0.99,B1,sale,S001",  # 7 malformed timestamp
                "L7,2026-03-10T12:30:00Z,SKU1,1,0.99,B1,sale,S001",  # 8 30 min in the future
                "L1,2026-03-02T09:15:03+01:00,SKU1,2,0.99,B1,sale,S001",  # 9 duplicate line id
                "L8,2026-03-02T09:20:00+01:00,SKU1,1,0.99,B1,sale,S777",  # 10 wrong store
                "L9,2026-03-02T09:20:00+01:00,SKU1,1,0.99",  # 11 too few fields
                "L10,2026-03-02T09:21:00+01:00,SKU2,1,2.49,B2,return,S001",  # 12 good return
                "L11,2026-03-10T12:04:00Z,SKU1,1,0.99,B3,sale,S001",  # 13 within skew tolerance
            ]
        )
        + "\n",
    )
    report = Ingestor(mirror).ingest_file(path)
    assert report.rows_read == 12
    assert report.rows_loaded == 3
    assert dict(report.quarantined) == {
        "unknown_sku": 1,
        "bad_quantity": 2,
        "negative_quantity": 1,
        "bad_timestamp": 1,
        "future_timestamp": 1,
        "duplicate_line_id": 1,
        "wrong_store": 1,
        "malformed_row": 1,
    }
    rows = quarantine_rows(mirror)
    assert [(line, reason) for _, line, reason, _ in rows] == [
        (3, "unknown_sku"),
        (4, "bad_quantity"),
        (5, "bad_quantity"),
        (6, "negative_quantity"),
        (7, "bad_timestamp"),
        (8, "future_timestamp"),
        (9, "duplicate_line_id"),
        (10, "wrong_store"),
        (11, "malformed_row"),
    ]
    assert all(name == str(path) for name, *_ in rows)
    details = {reason: detail for _, _, reason, detail in rows}
    assert "SKU9" in details["unknown_sku"]
    assert "'abc'" in details["bad_quantity"] or "NaN" in details["bad_quantity"]
    assert "5 fields where the header has 8" in details["malformed_row"]
    # Nothing lost: every row read is either loaded or quarantined.
    assert report.rows_loaded + report.rows_quarantined == report.rows_read


def test_returns_and_voids_are_kept_apart_from_sales(mirror: Mirror, tmp_path: Path):
    path = write(
        tmp_path,
        "sales.csv",
        SALES_HEADER
        + "\n".join(
            [
                "L1,2026-03-02T09:15:00+01:00,SKU1,2.5,0.99,B1,sale,S001",
                "L2,2026-03-02T09:16:00+01:00,SKU1,-1,0.99,B1,return,S001",
                "L3,2026-03-02T09:17:00+01:00,SKU1,4,0.99,B2,void,S001",
                "L4,2026-03-02T10:17:00+01:00,SKU1,0.75,0.99,B3,,S001",
            ]
        )
        + "\n",
    )
    Ingestor(mirror).ingest_file(path)
    units, returns = mirror.conn.execute(
        "SELECT units, returns FROM daily_sales WHERE sku = 'SKU1' AND date = '2026-03-02'"
    ).fetchone()
    assert units == pytest.approx(3.25)  # fractional (weighed) quantities, voids not counted
    assert returns == pytest.approx(1.0)
    hourly = mirror.conn.execute(
        "SELECT hour, transactions FROM store_hourly WHERE date = '2026-03-02' ORDER BY hour"
    ).fetchall()
    assert hourly == [(9, 1), (10, 1)]


def test_reimporting_a_file_changes_nothing(mirror: Mirror, tmp_path: Path):
    path = write(
        tmp_path,
        "sales.csv",
        SALES_HEADER
        + "L1,2026-03-02T09:15:03+01:00,SKU1,2,0.99,B1,sale,S001\n"
        + "L2,2026-03-02T09:15:03+01:00,SKU9,2,0.99,B1,sale,S001\n",
    )
    first = Ingestor(mirror).ingest_file(path)
    before = table_dump(mirror)
    again = Ingestor(mirror).ingest_file(path)
    assert again.skipped and "already ingested" in again.skipped
    assert again.file_id == first.file_id
    assert table_dump(mirror) == before


def test_overlapping_export_counts_lines_already_present(mirror: Mirror, tmp_path: Path):
    line = "L1,2026-03-02T09:15:03+01:00,SKU1,2,0.99,B1,sale,S001\n"
    Ingestor(mirror).ingest_file(write(tmp_path, "a.csv", SALES_HEADER + line))
    report = Ingestor(mirror).ingest_file(
        write(
            tmp_path,
            "b.csv",
            SALES_HEADER
            + line
            + "L1,2026-03-02T09:15:03+01:00,SKU1,3,0.99,B1,sale,S001\n"
            + "L2,2026-03-02T09:16:03+01:00,SKU1,1,0.99,B1,sale,S001\n",
        )
    )
    assert report.rows_already_present == 1
    assert report.rows_loaded == 1
    assert dict(report.quarantined) == {"duplicate_line_id": 1}
    assert mirror.conn.execute("SELECT qty FROM sales_lines WHERE line_id='L1'").fetchone() == (2,)


def test_unknown_sku_rows_are_released_when_the_product_arrives(mirror: Mirror, tmp_path: Path):
    sales = write(
        tmp_path,
        "sales.csv",
        SALES_HEADER + "L1,2026-03-02T09:15:03+01:00,NEW1,2,0.99,B1,sale,S001\n",
    )
    daily = write(tmp_path, "daily.csv", "store_id,sku,date,units\nS001,NEW1,2026-03-02,7\n")
    ingestor = Ingestor(mirror)
    ingestor.ingest_file(sales)
    ingestor.ingest_file(daily)
    assert (
        mirror.conn.execute("SELECT COUNT(*) FROM sales_lines WHERE sku='NEW1'").fetchone()[0] == 0
    )
    report = ingestor.ingest_file(
        write(tmp_path, "p.csv", "sku,category,case_pack\nNEW1,dairy,6\n")
    )
    assert report.rows_released == 2
    assert mirror.conn.execute("SELECT qty FROM sales_lines WHERE sku='NEW1'").fetchone() == (2,)
    assert mirror.conn.execute(
        "SELECT units, source FROM daily_sales WHERE sku='NEW1'"
    ).fetchone() == (7, "export")
    open_rows = mirror.conn.execute(
        "SELECT COUNT(*) FROM quarantine WHERE released_at IS NULL"
    ).fetchone()[0]
    assert open_rows == 0
    # The release is recorded in the product file's audit record.
    _, record = list(audit.iter_records(mirror))[-1]
    assert record.ingest.rows_released == 2


def test_file_of_no_known_kind_is_refused_and_nothing_written(mirror: Mirror, tmp_path: Path):
    before = table_dump(mirror)
    path = write(tmp_path, "weird.csv", "colour,shape\nred,round\n")
    with pytest.raises(UnknownFileKindError, match=r"weird.csv.*colour, shape"):
        Ingestor(mirror).ingest_files([path])
    assert table_dump(mirror) == before


def test_explicit_kind_with_missing_columns_is_refused(mirror: Mirror, tmp_path: Path):
    path = write(tmp_path, "x.csv", "sku,date\nSKU1,2026-03-01\n")
    with pytest.raises(IngestError, match="needs column"):
        Ingestor(mirror).ingest_file(path, kind="daily_sales")


def test_ingest_before_the_store_is_known_is_refused(tmp_path: Path, clock):
    m = open_mirror(tmp_path / "empty.db", clock=clock)
    path = write(tmp_path, "d.csv", "store_id,sku,date,units\nS001,SKU1,2026-03-02,1\n")
    with pytest.raises(StoreNotConfigured, match="edge-agent init"):
        Ingestor(m).ingest_file(path)
    assert m.conn.execute("SELECT COUNT(*) FROM ingest_files").fetchone()[0] == 0


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_documented_example_is_detected_and_loads(mirror: Mirror, tmp_path: Path, kind):
    example = KINDS[kind].example.replace("SKU000001", "SKU1")
    header = example.splitlines()[0].split(",")
    assert detect_kind(header).name == kind
    report = Ingestor(mirror).ingest_file(write(tmp_path, f"{kind}.csv", example + "\n"))
    assert report.kind == kind
    assert report.rows_quarantined == 0, quarantine_rows(mirror)
    assert report.rows_loaded + report.rows_already_present == 1


def test_daily_sales_correction_replaces_and_identical_row_is_present(mirror, tmp_path):
    ingestor = Ingestor(mirror)
    ingestor.ingest_file(
        write(
            tmp_path,
            "d1.csv",
            "store_id,sku,date,units,price,promo,on_hand\nS001,SKU1,2026-03-02,14,0.99,0,37\n",
        )
    )
    report = ingestor.ingest_file(
        write(
            tmp_path,
            "d2.csv",
            "store_id,sku,date,units,price,promo,on_hand\n"
            "S001,SKU1,2026-03-02,15,0.99,0,36\n"
            "S001,SKU2,2026-03-02,3,2.49,1,8\n",
        )
    )
    assert (report.rows_loaded, report.rows_already_present) == (2, 0)
    report = ingestor.ingest_file(
        write(
            tmp_path,
            "d3.csv",
            "store_id,sku,date,units,price,promo,on_hand\nS001,SKU1,2026-03-02,15,0.99,0,36\n",
        )
    )
    assert (report.rows_loaded, report.rows_already_present) == (0, 1)
    assert mirror.conn.execute(
        "SELECT units, on_hand FROM daily_sales WHERE sku='SKU1'"
    ).fetchone() == (15, 36)


def test_daily_sales_in_the_future_and_bad_dates_are_quarantined(mirror, tmp_path):
    report = Ingestor(mirror).ingest_file(
        write(
            tmp_path,
            "d.csv",
            "store_id,sku,date,units\nS001,SKU1,2026-03-11,1\n"
            "S001,SKU1,2026-02-30,1\nS001,SKU1,2026-03-10,-1\nS001,SKU1,2026-03-10,1.5\n",
        )
    )
    assert dict(report.quarantined) == {
        "future_timestamp": 1,
        "bad_date": 1,
        "negative_quantity": 1,
    }
    assert report.rows_loaded == 1


def test_jsonl_semicolon_decimal_comma_and_gzip(mirror: Mirror, tmp_path: Path):
    jsonl = tmp_path / "sales.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "line_id": "J1",
                    "timestamp": "2026-03-02T09:00:00+01:00",
                    "sku": "SKU1",
                    "qty": 1.5,
                },
                {
                    "line_id": "J2",
                    "timestamp": "2026-03-02T09:01:00+01:00",
                    "sku": "SKU1",
                    "qty": "x",
                },
            ]
        )
        + "\n{not json\n"
    )
    report = Ingestor(mirror).ingest_file(jsonl)
    assert report.kind == "sales_lines"
    assert (report.rows_loaded, dict(report.quarantined)) == (
        1,
        {"bad_quantity": 1, "malformed_row": 1},
    )
    semicolon = write(
        tmp_path, "daily_eu.csv", "store_id;sku;date;units;price\nS001;SKU3;2026-03-02;2,35;2,99\n"
    )
    assert Ingestor(mirror).ingest_file(semicolon).rows_loaded == 1
    assert mirror.conn.execute(
        "SELECT units, price FROM daily_sales WHERE sku='SKU3'"
    ).fetchone() == (2.35, 2.99)
    gz = tmp_path / "daily.csv.gz"
    with gzip.open(gz, "wt") as handle:
        handle.write("store_id,sku,date,units\nS001,SKU2,2026-03-03,4\n")
    assert Ingestor(mirror).ingest_file(gz).rows_loaded == 1


def test_payment_and_customer_fields_never_enter_the_mirror(mirror: Mirror, tmp_path: Path):
    path = write(
        tmp_path,
        "sales.csv",
        "line_id,timestamp,sku,qty,card_number,customer_id,loyalty_email\n"
        "P1,2026-03-02T09:00:00+01:00,SKU1,1,4111111111111111,CUST-7781,a@b.example\n"
        "P2,2026-03-02T09:00:00+01:00,NOPE,1,4000000000000002,CUST-9912,c@d.example\n",
    )
    report = Ingestor(mirror).ingest_file(path)
    assert report.ignored_columns == ["card_number", "customer_id", "loyalty_email"]
    mirror.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blob = mirror.path.read_bytes() + Path(str(mirror.path) + "-wal").read_bytes()
    for secret in (
        b"4111111111111111",
        b"CUST-7781",
        b"a@b.example",
        b"4000000000000002",
        b"CUST-9912",
        b"c@d.example",
    ):
        assert secret not in blob


@pytest.mark.parametrize(
    ("stamp", "business_date", "hour"),
    [
        # Spring forward in Berlin (2026-03-29 has 23 hours).
        ("2026-03-28T23:30:00Z", "2026-03-29", 0),
        ("2026-03-29T00:59:59Z", "2026-03-29", 1),
        ("2026-03-29T01:00:00Z", "2026-03-29", 3),
        ("2026-03-29T21:59:00Z", "2026-03-29", 23),
        ("2026-03-29T22:00:00Z", "2026-03-30", 0),
        # Fall back (2026-10-25 has 25 hours): 02:xx happens twice, both on the same day.
        ("2026-10-24T21:59:00Z", "2026-10-24", 23),
        ("2026-10-24T22:00:00Z", "2026-10-25", 0),
        ("2026-10-25T00:30:00Z", "2026-10-25", 2),
        ("2026-10-25T01:30:00Z", "2026-10-25", 2),
        ("2026-10-25T22:59:00Z", "2026-10-25", 23),
        ("2026-10-25T23:00:00Z", "2026-10-26", 0),
        # Naive timestamps are store-local wall time.
        ("2026-10-25T02:30:00", "2026-10-25", 2),
        ("2026-03-29T23:59:00", "2026-03-29", 23),
    ],
)
def test_business_dates_follow_the_store_time_zone_across_dst(tmp_path, stamp, business_date, hour):
    from datetime import UTC, datetime

    from edge_agent.clock import FixedClock

    m = open_mirror(tmp_path / "dst.db", clock=FixedClock(datetime(2026, 11, 1, tzinfo=UTC)))
    with m.transaction():
        m.set_store("S001", "Europe/Berlin")
        audit.append(m, 5, summary="store")
    Ingestor(m).ingest_file(write(tmp_path, "p.csv", "sku,category,case_pack\nSKU1,dairy,1\n"))
    Ingestor(m).ingest_file(
        write(tmp_path, "s.csv", f"line_id,timestamp,sku,qty\nX,{stamp},SKU1,1\n")
    )
    assert m.conn.execute("SELECT business_date, local_hour FROM sales_lines").fetchone() == (
        business_date,
        hour,
    )


def test_dst_days_have_23_and_25_hours_of_transactions(tmp_path):
    from datetime import UTC, datetime, timedelta

    from edge_agent.clock import FixedClock

    m = open_mirror(tmp_path / "dst.db", clock=FixedClock(datetime(2026, 11, 1, tzinfo=UTC)))
    with m.transaction():
        m.set_store("S001", "Europe/Berlin")
        audit.append(m, 5, summary="store")
    Ingestor(m).ingest_file(write(tmp_path, "p.csv", "sku,category,case_pack\nSKU1,dairy,1\n"))
    lines = ["line_id,timestamp,sku,qty,basket_id"]
    for day_start in (
        datetime(2026, 3, 28, 23, tzinfo=UTC),
        datetime(2026, 10, 24, 22, tzinfo=UTC),
    ):
        for h in range(26):  # one basket every UTC hour, spilling past the local day
            at = day_start + timedelta(hours=h, minutes=30)
            lines.append(f"{at:%Y%m%d%H},{at.isoformat()},SKU1,1,{at:%Y%m%d%H}")
    Ingestor(m).ingest_file(write(tmp_path, "s.csv", "\n".join(lines) + "\n"))
    per_day = dict(
        m.conn.execute("SELECT date, SUM(transactions) FROM store_hourly GROUP BY date").fetchall()
    )
    assert per_day["2026-03-29"] == 23
    assert per_day["2026-10-25"] == 25
    # The repeated 02:00 hour of the fall-back day is one wall-clock bucket holding both.
    assert m.conn.execute(
        "SELECT transactions FROM store_hourly WHERE date='2026-10-25' AND hour=2"
    ).fetchone() == (2,)


def test_store_file_configures_hours_and_refuses_another_zone(tmp_path, clock):
    m = open_mirror(tmp_path / "s.db", clock=clock)
    path = write(
        tmp_path,
        "store.csv",
        "store_id,time_zone,name,weekday,opens,closes\n"
        "S002,America/Chicago,Elm St,,07:00,22:00\n"
        "S002,America/Chicago,Elm St,sun,9:00,20:00\n",
    )
    report = Ingestor(m).ingest_file(path)
    assert report.rows_loaded == 2
    assert m.require_store().time_zone == "America/Chicago"
    assert m.conn.execute("SELECT opens, closes FROM store_hours WHERE weekday=6").fetchone() == (
        "09:00",
        "20:00",
    )
    moved = Ingestor(m).ingest_file(
        write(
            tmp_path,
            "store2.csv",
            "store_id,time_zone\nS002,Europe/Paris\nS003,America/Chicago\nS002,Mars/Olympus\n",
        )
    )
    assert dict(moved.quarantined) == {"bad_value": 2, "wrong_store": 1}
    assert m.require_store().time_zone == "America/Chicago"


def test_effective_dated_products_keep_history(mirror: Mirror, tmp_path: Path):
    Ingestor(mirror).ingest_file(
        write(
            tmp_path,
            "p.csv",
            "sku,effective_from,category,case_pack,price,status\n"
            "SKU1,2026-01-01,dairy,12,0.89,active\nSKU1,2026-03-01,dairy,12,0.99,active\n"
            "SKU1,2026-06-01,dairy,12,1.09,delisted\n",
        )
    )
    history = mirror.conn.execute(
        "SELECT effective_from, price, status FROM products WHERE sku='SKU1' "
        "AND effective_from != '2026-03-10' ORDER BY effective_from"
    ).fetchall()
    assert history == [
        ("2026-01-01", 0.89, "active"),
        ("2026-03-01", 0.99, "active"),
        ("2026-06-01", 1.09, "delisted"),
    ]


def test_a_failed_file_writes_nothing(mirror: Mirror, tmp_path: Path, monkeypatch):
    before = table_dump(mirror)
    path = write(
        tmp_path, "s.csv", SALES_HEADER + "L1,2026-03-02T09:15:03+01:00,SKU1,2,0.99,B1,sale,S001\n"
    )
    from edge_agent.mirror import ingest as ingest_module

    def broken(self, *args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ingest_module._SalesLineWriter, "refresh_rollups", broken)
    with pytest.raises(sqlite3.OperationalError):
        Ingestor(mirror).ingest_file(path)
    assert table_dump(mirror) == before
