"""Retraining's pieces: the promotion rule, the stratified sample, and the hub's decoder of
synced daily outcomes held to models.panels (the edge's definition)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from cloud_hub import hubdb
from cloud_hub.storage import Incoming, open_storage
from cloud_hub.synced import read_store_panels, stratified_sample
from cloud_hub.training import Score, decide
from models.panels import SkuDay, StoreDay, outcome_from_day, panel_from_days


def test_promotion_needs_the_margin_overall():
    champion = Score(0.50, {"canary": 0.50, "main": 0.50})
    assert decide(Score(0.48, {"canary": 0.48, "main": 0.48}), champion, margin=0.02,
                  tolerance=0.05)[0] is True  # fmt: skip
    promoted, reasons = decide(Score(0.495, {"canary": 0.49, "main": 0.5}), champion,
                               margin=0.02, tolerance=0.05)  # fmt: skip
    assert promoted is False and "not better by the margin 2.0%" in reasons[0]


def test_a_ring_worse_beyond_the_tolerance_blocks_promotion_even_when_better_overall():
    champion = Score(0.50, {"canary": 0.40, "main": 0.52})
    challenger = Score(0.45, {"canary": 0.43, "main": 0.46})  # canary 7.5 % worse
    promoted, reasons = decide(challenger, champion, margin=0.02, tolerance=0.05)
    assert promoted is False
    assert any(r.startswith("ring canary: error 0.4300 vs champion 0.4000") for r in reasons)
    assert decide(challenger, champion, margin=0.02, tolerance=0.10)[0] is True


def test_a_guarded_metric_worse_beyond_the_tolerance_blocks_promotion():
    champion = Score(0.5, {"main": 0.5}, {"pinball_p90": 0.30})
    challenger = Score(0.4, {"main": 0.4}, {"pinball_p90": 0.40})
    assert decide(challenger, champion, margin=0.02, tolerance=0.05)[0] is True
    promoted, reasons = decide(challenger, champion, margin=0.02, tolerance=0.05,
                               guards=("pinball_p90",))  # fmt: skip
    assert promoted is False and reasons[-1].startswith("pinball_p90 0.4000")


def test_an_unscorable_champion_is_not_replaced_automatically():
    promoted, reasons = decide(Score(0.1), None, margin=0.02, tolerance=0.05)
    assert promoted is False and "promote by hand" in reasons[0]


def test_the_sample_keeps_each_categorys_share_and_is_deterministic():
    skus = [f"K{i:04d}" for i in range(1000)]
    categories = ["a"] * 700 + ["b"] * 250 + ["c"] * 50
    chosen = stratified_sample("S001", skus, categories, 100)
    by_category = {c: sum(1 for s in chosen if categories[skus.index(s)] == c) for c in "abc"}
    assert by_category == {"a": 70, "b": 25, "c": 5}
    assert chosen == stratified_sample("S001", skus, categories, 100)
    assert chosen != stratified_sample("S002", skus, categories, 100)  # another store, other SKUs
    assert stratified_sample("S001", skus, categories, 0) == sorted(skus)


def test_the_sample_never_exceeds_its_limit_when_shares_round_up():
    sizes = [20, 13, 9, 7, 5, 4, 2]  # shares of 25: 8.3, 5.4, 3.75, 2.9, 2.1, 1.7, 0.8
    categories = [f"c{i}" for i, n in enumerate(sizes) for _ in range(n)]
    skus = [f"K{i:04d}" for i in range(len(categories))]
    chosen = stratified_sample("S001", skus, categories, 25)
    counts = [sum(1 for s in chosen if categories[skus.index(s)] == f"c{i}") for i in range(7)]
    assert sum(counts) == 25 and min(counts) >= 1
    assert counts == [8, 5, 4, 3, 2, 2, 1]  # floors, then the largest remainders
    # More categories than the limit: one of each, the only way past it.
    assert len(stratified_sample("S001", skus, categories, 5)) == 7


def _days(n: int, rng: np.random.Generator) -> list[StoreDay]:
    start = date(2026, 3, 1)
    days = []
    for d in range(n):
        skus = []
        for i in range(7):
            listed = not (i == 3 and d < 4)  # K3 is listed from day 4 on
            skus.append(SkuDay(f"K{i}", f"cat{i % 3}", listed, float(rng.integers(0, 9)), 0.0,
                               0.0 if i == 5 else 1.5 + i, bool(rng.random() < 0.2),
                               4.0))  # fmt: skip
        hours = {h: int(rng.integers(1, 30)) for h in range(8, 20)}
        days.append(StoreDay(start + timedelta(days=d), d == 6, "Easter" if d == 9 else "",
                             "", skus, hours))  # fmt: skip
    return days


def test_the_hub_decoder_builds_the_panel_models_panels_builds(tmp_path):
    rng = np.random.default_rng(5)
    days = _days(20, rng)
    hub_db = tmp_path / "hub.db"
    storage = open_storage(hub_db)
    batch, seq = [], 0
    for facts in days:
        whole = outcome_from_day("S001", facts)
        revisions = [1]
        if facts.day.day == 5:  # a correction: revision 1 carries stale units
            revisions = [1, 2]
        for revision in revisions:
            # Split into parts of 3 SKUs, hours with part 1 (as edge_agent/outcomes does).
            for part, first in enumerate(range(0, len(whole.skus), 3), 1):
                message = type(whole)()
                message.CopyFrom(whole)
                del message.skus[:]
                message.skus.extend(whole.skus[first : first + 3])
                if part > 1:
                    del message.hours[:]
                if revision == 1 and len(revisions) == 2:
                    for row in message.skus:
                        row.units_sold += 100  # what the correction replaces
                message.revision, message.part, message.part_count = revision, part, 3
                seq += 1
                batch.append(Incoming("S001", "outcome", f"S001:outcome:{seq}",
                                      message.SerializeToString()))  # fmt: skip
    storage.ingest(batch)
    storage.close()
    conn = hubdb.connect(hub_db)
    try:
        (decoded,) = read_store_panels(conn)
    finally:
        conn.close()
    expected = panel_from_days(days)
    got = decoded.panel
    assert got is not None and got.skus == expected.skus and got.start == expected.start
    for field in ("sales", "price", "promo", "closed", "holiday", "event", "category"):
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field), field)
    assert decoded.traffic[0, 8] == days[0].hours[8]
    assert np.isnan(decoded.traffic[6]).all()  # the closed day has no traffic
    assert np.isnan(decoded.traffic[:, :8]).all()


@pytest.mark.parametrize("limit", [2, 4])
def test_a_sampled_decode_equals_the_full_panel_on_the_sampled_skus(tmp_path, limit):
    rng = np.random.default_rng(6)
    days = [d for d in _days(12, rng)]
    storage = open_storage(tmp_path / "hub.db")
    storage.ingest([Incoming("S001", "outcome", f"S001:outcome:{n}",
                             outcome_from_day("S001", d).SerializeToString())
                    for n, d in enumerate(days, 1)])  # fmt: skip
    storage.close()
    conn = hubdb.connect(tmp_path / "hub.db")
    try:
        (full,) = read_store_panels(conn)
        (sampled,) = read_store_panels(conn, sample_skus=limit)
    finally:
        conn.close()
    assert full.panel is not None and sampled.panel is not None
    rows = [full.panel.skus.index(s) for s in sampled.panel.skus]
    assert 1 <= len(rows) <= limit + 2  # at least one per category, rounded shares
    np.testing.assert_array_equal(sampled.panel.sales, full.panel.sales[rows])
    np.testing.assert_array_equal(sampled.panel.price, full.panel.price[rows])
