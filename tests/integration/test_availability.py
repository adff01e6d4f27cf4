"""Shelf checks by the availability model: from hourly sales kept at ingest, scored at the
last trading hour, finding the simulator's phantom inventory well above the base rate."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from google.protobuf import json_format

from edge_agent import audit
from edge_agent.clock import FixedClock
from edge_agent.cycle import load_models, run_cycle
from edge_agent.mirror import hours, open_mirror
from edge_agent.policy import Policy
from edge_agent.simulation import run_simulation
from models import BOOTSTRAP_DIR
from models import features as F
from storeedge.v1 import audit_pb2, decision_pb2, model_pb2

END = date(2026, 6, 28)  # a Sunday; the week before it is cycled (it has sales lines)
CLOSES = {0: 22, 1: 22, 2: 22, 3: 22, 4: 22, 5: 22, 6: 20}  # the simulator's trading hours


def _clock_at(clock: FixedClock, day: date) -> None:
    clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)  # 6 am local


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    path = tmp_path_factory.mktemp("availability") / "store.db"
    clock = FixedClock(datetime(2026, 6, 29, 11, tzinfo=UTC))
    mirror = open_mirror(path, clock=clock)
    run_simulation(mirror, store_id="S001", skus=1200, days=60, seed=5, end_date=END)
    models = load_models(BOOTSTRAP_DIR)
    results = []
    for offset in range(6, -1, -1):  # as of END-6 .. END: origins END-7 .. END-1
        day = END - timedelta(days=offset)
        _clock_at(clock, day)
        results.append(run_cycle(mirror, models, Policy(), day))
    yield mirror, models, results
    mirror.close()


def _truth(mirror) -> dict[str, tuple[date, np.ndarray, np.ndarray]]:
    out = {}
    for sku, start, shelf, system in mirror.conn.execute(
        "SELECT sku, start_date, shelf_on_hand, system_on_hand FROM sim_truth_daily"
    ):
        out[sku] = (date.fromisoformat(start), np.frombuffer(shelf, "<f4"),
                    np.frombuffer(system, "<f4"))  # fmt: skip
    return out


def _phantom(truth, sku: str, day: date) -> bool:
    """The shelf is empty at the end of ``day`` while the system counts stock."""
    start, shelf, system = truth[sku]
    i = (day - start).days
    return 0 <= i < len(shelf) and shelf[i] <= 0 and system[i] > 0


def _checks(mirror, result) -> list[tuple[str, decision_pb2.ShelfCheckDetail, float]]:
    ids = [d.decision_id for d in result.decisions if d.kind == "shelf_check"]
    out = []
    for decision_id in ids:
        sku, payload, confidence = mirror.conn.execute(
            "SELECT sku, payload, confidence FROM decisions WHERE decision_id = ?", (decision_id,)
        ).fetchone()
        out.append((sku, decision_pb2.Decision.FromString(payload).shelf_check, confidence))
    return out


def test_model_checks_find_phantom_inventory_well_above_the_base_rate(week):
    mirror, _, results = week
    truth = _truth(mirror)
    found = checked = 0
    random_found = random_checked = 0
    base_found = base_total = 0
    for result in results:
        assert result.shelf_checks["model"] == "availability", result.shelf_checks
        scored = date.fromisoformat(result.shelf_checks["scored_day"])
        for sku, detail, _ in _checks(mirror, result):
            hit = _phantom(truth, sku, scored)
            if detail.random_sample:
                random_found, random_checked = random_found + hit, random_checked + 1
            else:
                found, checked = found + hit, checked + 1
        # What checks drawn at random find on average: the share of SKUs the system counts
        # in stock whose shelf is empty.
        for start, shelf, system in truth.values():
            i = (scored - start).days
            if 0 <= i < len(shelf) and system[i] > 0:
                base_total += 1
                base_found += shelf[i] <= 0
    model_rate, base_rate = found / checked, base_found / base_total
    print(f"model checks {found}/{checked} = {model_rate:.3f}; random checks "
          f"{random_found}/{random_checked}; base rate {base_rate:.3f}")  # fmt: skip
    assert checked >= 100 and random_checked == 7 * round(40 * 0.1)
    assert model_rate >= 2.0 * base_rate


def test_checks_carry_the_model_row_its_hour_and_version(week):
    mirror, models, results = week
    manifest = json_format.Parse((BOOTSTRAP_DIR / "availability.manifest.json").read_text(),
                                 model_pb2.ModelManifest())  # fmt: skip
    threshold = manifest.metrics["decision_threshold"]
    for result in results:
        scored = date.fromisoformat(result.shelf_checks["scored_day"])
        checks = _checks(mirror, result)
        shelf = [d for d in result.decisions if d.kind == "shelf_check"]
        assert {d.model_version for d in shelf} == {manifest.version}
        ranked = [(detail, confidence) for _, detail, confidence in checks
                  if not detail.random_sample]  # fmt: skip
        assert 0 < len(ranked) <= 36 and len(checks) - len(ranked) == 4
        probabilities = [detail.off_shelf_probability for detail, _ in ranked]
        assert min(probabilities) >= threshold
        ranks = [detail.rank for detail, _ in ranked]
        by_rank = [p for _, p in sorted(zip(ranks, probabilities, strict=True))]
        assert by_rank == sorted(by_rank, reverse=True)
        assert all(c == pytest.approx(d.off_shelf_probability) for d, c in ranked)
        for _, detail, _ in checks:  # random checks too: the hub trains on them
            assert detail.scored_hour == CLOSES[scored.weekday()] - 1
            assert len(detail.availability_features) == len(F.AVAILABILITY_FEATURES)
            row = np.array(detail.availability_features, dtype=np.float32)
            assert models.availability.predict(row[None, :])[0] == pytest.approx(
                detail.off_shelf_probability, abs=1e-6
            )
            assert row[F.AVAILABILITY_FEATURES.index("hour")] == detail.scored_hour
    # The audit record of a check holds what recomputing it needs: the row and the cut-off.
    check = next(d for d in results[-1].decisions if d.kind == "shelf_check")
    for (payload,) in mirror.conn.execute("SELECT payload FROM audit_log ORDER BY seq DESC"):
        record = audit_pb2.AuditRecord.FromString(payload)
        if record.subject_id == check.decision_id:
            break
    assert record.decision.shelf_check.availability_features
    assert float(record.attributes["decision_threshold"]) == threshold
    assert record.attributes["scored_hour"] == str(record.decision.shelf_check.scored_hour)
    assert audit.verify(mirror).ok


def test_the_served_row_is_the_training_row_from_the_lines(week):
    """Recompute one cycle's rows from ``sales_lines`` themselves (not the packed blocks)
    with the hub's full feature function: the served rows are those rows."""
    mirror, _, results = week
    result = results[-1]
    scored = date.fromisoformat(result.shelf_checks["scored_day"])
    checks = _checks(mirror, result)
    skus = sorted({sku for sku, _, _ in checks})
    index = {sku: i for i, sku in enumerate(skus)}
    first = scored - timedelta(days=14)
    sales = np.zeros((len(skus), 15 * 24), dtype=np.float32)
    for sku, day, hour, qty in mirror.conn.execute(
        "SELECT sku, business_date, local_hour, SUM(qty) FROM sales_lines WHERE line_type = "
        "'sale' AND business_date BETWEEN ? AND ? AND sku IN (SELECT value FROM json_each(?)) "
        "GROUP BY sku, business_date, local_hour",
        (first.isoformat(), scored.isoformat(), json.dumps(skus)),
    ):
        sales[index[sku], (date.fromisoformat(day) - first).days * 24 + hour] = qty
    ones = np.ones_like(sales)
    full = F.availability_features(F.SkuHourPanel(first, sales, 0 * ones, ones))
    full = full.reshape(len(skus), 15 * 24, -1)
    # Promotion and price come from the daily rows: the sales-derived columns are compared.
    keep = [i for i, n in enumerate(F.AVAILABILITY_FEATURES) if n not in ("promo", "price_ratio")]
    for sku, detail, _ in checks:
        row = np.array(detail.availability_features, dtype=np.float32)
        expected = full[index[sku], 14 * 24 + detail.scored_hour]
        np.testing.assert_array_equal(row[keep], expected[keep], err_msg=sku)


def test_hourly_blocks_catch_up_with_lines_an_older_release_wrote(week):
    mirror, _, results = week
    day = date.fromisoformat(results[-1].shelf_checks["scored_day"])
    sku = mirror.conn.execute("SELECT MIN(sku) FROM products").fetchone()[0]
    before = hours.hourly_sales(mirror, day, 1, {sku: 0})[0, 9]
    # A release without the blocks ingests a file: its lines, its ingest row, no fold.
    with mirror.transaction():
        file_id = mirror.conn.execute(
            "INSERT INTO ingest_files(name, sha256, kind, ingested_at) VALUES "
            "('old.csv', 'x', 'sales_lines', '2026-06-29T00:00:00Z')"
        ).lastrowid
        mirror.conn.execute(
            "INSERT INTO sales_lines(line_id, ts_utc, business_date, local_hour, sku, qty, "
            "line_type, file_id) VALUES ('OLD-1', ?, ?, 9, ?, 3, 'sale', ?)",
            (f"{day.isoformat()}T14:10:00.000Z", day.isoformat(), sku, file_id),
        )
    assert hours.hourly_sales(mirror, day, 1, {sku: 0})[0, 9] == before + 3


def test_daily_exports_only_fall_back_to_the_rule_and_say_so(tmp_path):
    clock = FixedClock(datetime(2026, 6, 29, 11, tzinfo=UTC))
    mirror = open_mirror(tmp_path / "daily.db", clock=clock)
    try:
        run_simulation(mirror, store_id="S002", skus=200, days=60, seed=3, end_date=END,
                       line_days=0)  # fmt: skip
        _clock_at(clock, END)
        result = run_cycle(mirror, load_models(BOOTSTRAP_DIR), Policy(), END)
        assert result.shelf_checks["model"] == "zero_sales_gap"
        assert "no sales lines" in result.shelf_checks["fallback"]
        assert result.as_dict()["shelf_checks"] == result.shelf_checks
        shelf = [d for d in result.decisions if d.kind == "shelf_check"]
        assert shelf and {(d.model_name, d.model_version) for d in shelf} == {
            ("zero_sales_gap", "1")
        }
        payload = mirror.conn.execute(
            "SELECT payload FROM decisions WHERE decision_id = ?", (shelf[0].decision_id,)
        ).fetchone()[0]
        detail = decision_pb2.Decision.FromString(payload).shelf_check
        assert len(detail.availability_features) == 0
    finally:
        mirror.close()
