"""`cloud-hub report` on a hub database with decisions, reviews and outcomes: its numbers
match a recomputation from the raw records (decoded here, apart from the outcome join's
code), the page carries exactly report.json's numbers, and headless Chromium draws every
chart (sizes and marks read back from the rendered page, and a screenshot that is not
blank)."""

from __future__ import annotations

import html.parser
import json
import re
import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from storeedge.v1 import decision_pb2, outcome_pb2, shelf_check_pb2
from tests.browser import chromium_path, dump_dom, png_pixels, screenshot
from tests.helpers import cli
from tests.report_data import SKUS, STORES, write_hub

S = decision_pb2
EXAMPLE_COSTS = Path(__file__).resolve().parents[2] / "docs" / "roi-costs.example.toml"


def _estimate(mean: float, half: float) -> dict:
    return {"mean": mean, "ci95": [mean - half, mean + half]}


LIFT = {
    "kind": "simulated",
    "source": {"seeds": [1, 2, 3, 4, 5], "days": 56, "command": "test"},
    "metrics": {
        "stockout_rate": {"unit": "share", "per": "store_day", "higher_is_better": False,
                          "kit": _estimate(0.03, 0.01), "baseline": _estimate(0.07, 0.01),
                          "baseline_tuned": _estimate(0.05, 0.01), "lift": _estimate(-0.04, 0.01),
                          "lift_vs_tuned": _estimate(-0.02, 0.01)},
        "lost_margin_value": {"unit": "currency", "per": "store_day", "higher_is_better": False,
                              "kit": _estimate(30.0, 5.0), "baseline": _estimate(90.0, 6.0),
                              "baseline_tuned": _estimate(75.0, 6.0), "lift": _estimate(-60.0, 8.0),
                              "lift_vs_tuned": _estimate(-15.0, 8.0)},
        "avg_inventory_value": {"unit": "currency", "per": "store_day", "higher_is_better": False,
                                "kit": _estimate(900.0, 40.0), "baseline": _estimate(950.0, 40.0),
                                "baseline_tuned": _estimate(900.0, 40.0),
                                "lift": _estimate(-50.0, 30.0),
                                "lift_vs_tuned": _estimate(0.0, 30.0)},
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_hub(root / "hub.db")
    (root / "lift.json").write_text(json.dumps(LIFT))
    done = cli("cloud-hub", "report", "--db", str(root / "hub.db"), "--out", str(root / "out"),
               "--costs", str(EXAMPLE_COSTS), "--lift", str(root / "lift.json"),
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["url"] == (root / "out" / "index.html").resolve().as_uri()
    return root


# -- the recomputation from the raw records --------------------------------------------------


def _raw(hub_db: Path):
    conn = sqlite3.connect(hub_db)
    decisions, states, facts, hours = {}, defaultdict(list), {}, {}
    for record_id, store, kind, payload in conn.execute(
        "SELECT record_id, store_id, record_type, payload FROM records"
    ):
        if kind == "decision":
            decisions[record_id] = (store, S.Decision.FromString(payload))
        elif kind == "decision_state":
            change = S.DecisionStateChange.FromString(payload)
            states[f"{store}:decision:{change.decision_id.sequence}"].append(change)
        elif kind == "outcome":
            day = outcome_pb2.DailyOutcome.FromString(payload)
            for s in day.skus:
                facts[(store, s.sku, day.business_date)] = (s.units_sold, s.on_hand, s.waste)
            for h in day.hours:
                hours[(store, day.business_date, h.hour)] = h.transactions
        elif kind == "shelf_check":
            shelf_check_pb2.ShelfCheckResult.FromString(payload)  # decodes: nothing to add up
    conn.close()
    return decisions, states, facts, hours


def _week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def _days(first: str, count: int) -> list[str]:
    return [(date.fromisoformat(first) + timedelta(days=i)).isoformat() for i in range(count)]


def test_report_numbers_match_a_recomputation_from_the_raw_records(written):
    report = json.loads((written / "out" / "report.json").read_text())
    decisions, states, facts, hours = _raw(written / "hub.db")

    # The approval funnel: a person's answer wins (overridden > rejected > approved) over
    # the state the decision was made in; time to approval from the first answer.
    review = {"auto": 0, "approved": 0, "rejected": 0, "overridden": 0, "other": 0}
    waits = []
    for decision_id, (_, d) in decisions.items():
        seen = {d.state, *(c.to_state for c in states[decision_id])}
        path = next((name for state, name in (
            (S.DECISION_STATE_OVERRIDDEN, "overridden"), (S.DECISION_STATE_REJECTED, "rejected"),
            (S.DECISION_STATE_APPROVED, "approved"), (S.DECISION_STATE_AUTO, "auto"))
            if state in seen), "other")  # fmt: skip
        review[path] += 1
        if states[decision_id]:
            waits.append((states[decision_id][0].changed_at.ToDatetime()
                          - d.recorded_at.ToDatetime()).total_seconds())  # fmt: skip
    funnel = report["funnel"]
    assert {k: funnel[k] for k in review} == review
    assert funnel["decisions"] == len(decisions) == report["hub"]["decisions"]
    assert min(review["approved"], review["rejected"], review["overridden"]) > 0, review
    assert funnel["review_seconds_mean"] == pytest.approx(np.mean(waits))
    assert funnel["review_seconds_max"] == pytest.approx(max(waits))

    # Orders: the protection window is order day .. +2, the coverage window from the
    # delivery (+1) on; a stock-out day is one ending with nothing on hand.
    orders = [(store, d) for store, d in decisions.values() if d.kind == S.DECISION_KIND_ORDER]
    # stock-out days, days, sold, on hand, waste
    by_category = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0])
    p90 = defaultdict(lambda: [0, 0])
    order_error = defaultdict(lambda: [0.0, 0.0])
    forecast = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for store, d in orders:
        o = d.order
        window = _days(o.order_date, o.protection_days)
        sold = sum(facts[(store, d.sku, day)][0] for day in window)
        for day in window[1:]:
            units, on_hand, waste = facts[(store, d.sku, day)]
            c = by_category[d.category]
            c[0] += on_hand <= 0
            c[1] += 1
            c[2] += units
            c[3] += max(on_hand, 0.0)
            c[4] += waste
        key = (d.model_version, _week(d.business_date))
        p90[key][0] += sold <= o.protection_quantile
        p90[key][1] += 1
        if o.forecast_mean > 0:
            order_error[key][0] += abs(o.forecast_mean - sold)
            order_error[key][1] += sold
        forecast[d.sku][d.business_date][0] += o.protection_quantile
        forecast[d.sku][d.business_date][1] += sold
    categories = {c["category"]: c for c in report["categories"]}
    assert set(categories) == set(SKUS.values())
    for name, (out, days, sold, on_hand, waste) in by_category.items():
        assert categories[name]["stockout_rate"] == pytest.approx(out / days)
        assert categories[name]["inventory_turns"] == pytest.approx(365 * sold / on_hand)
        assert categories[name]["waste_units"] == pytest.approx(waste) and waste > 0

    # Accuracy per model version and week: P90 coverage of orders, WAPE of orders and of
    # staffing hours (forecast transactions against the hour's transactions).
    staffing_error = defaultdict(lambda: [0.0, 0.0])
    for store, d in decisions.values():
        if d.kind == S.DECISION_KIND_STAFFING:
            actual = hours.get((store, d.business_date, d.staffing.hour), 0)
            key = (d.model_version, _week(d.business_date))
            staffing_error[key][0] += abs(d.staffing.forecast_transactions - actual)
            staffing_error[key][1] += actual
    series = {(s["kind"], s["model_version"]): {p["week"]: p for p in s["points"]}
              for s in report["accuracy_by_model"]["series"]}  # fmt: skip
    for (version, week), (covered, count) in p90.items():
        point = series[("orders", version)][week]
        assert point["p90_coverage"] == pytest.approx(covered / count)
        error, actual = order_error[(version, week)]
        assert point["wape"] == pytest.approx(error / actual)
    for (version, week), (error, actual) in staffing_error.items():
        assert series[("staffing", version)][week]["wape"] == pytest.approx(error / actual)
    # Orders and staffing, two versions each; none for the shelf checks' model (its rows
    # carry a category, but no forecast).
    assert len(series) == 4

    # Forecast vs actual: the 3 SKUs with the most orders (ties by name), per day.
    counts = defaultdict(int)
    for _, d in orders:
        counts[d.sku] += 1
    top = sorted(counts, key=lambda s: (-counts[s], s))[:3]
    assert [s["sku"] for s in report["forecast_vs_actual"]["skus"]] == top
    for shown in report["forecast_vs_actual"]["skus"]:
        expected = forecast[shown["sku"]]
        assert [p["date"] for p in shown["points"]] == sorted(expected)
        for point in shown["points"]:
            assert [point["forecast_p90"], point["actual"]] == pytest.approx(
                expected[point["date"]])  # fmt: skip

    # ROI: the fleet from the registry, the lift scaled to it, the people's exceptions.
    roi = report["roi"]
    assert roi["fleet"]["stores"] == len(STORES)
    lost = {line["name"]: line for line in roi["direct"]}["lost_margin_recovered"]
    scale = len(STORES) * 364  # the example costs file's days_per_year
    assert lost["annual"] == pytest.approx({"low": 52 * scale, "central": 60 * scale,
                                            "high": 68 * scale})  # fmt: skip
    # Costs of the example file for 2 stores: one-off 2 x 900 + 120 x 650, yearly
    # 2 x 1,200 + 40 x 650; the payback is one-off / (direct - yearly) per month.
    one_off, yearly = 2 * 900 + 120 * 650, 2 * 1200 + 40 * 650
    assert roi["payback_months"] == pytest.approx(
        {k: 12 * one_off / (v * scale - yearly) for k, v in (("low", 52), ("central", 60),
                                                              ("high", 68))})  # fmt: skip
    exceptions = {line["name"]: line for line in roi["enabling"]}["exceptions_handled"]
    assert exceptions["value"] == review["approved"] + review["rejected"] + review["overridden"]


def test_the_page_carries_report_json_and_needs_no_network(written):
    page = (written / "out" / "index.html").read_text()
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                         page, re.S).group(1)  # fmt: skip
    assert json.loads(embedded) == json.loads((written / "out" / "report.json").read_text())
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", page)
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}


# -- the page in a real browser ------------------------------------------------------------


class _Charts(html.parser.HTMLParser):
    """Every chart's attributes, the body's, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, str]] = {}
        self.body: dict[str, str] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "svg" and "chart" in a.get("class", ""):
            self.charts[a["data-chart"]] = a
        elif tag == "body":
            self.body = a

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium_path()


def _rendered(browser: str, page: Path, profile: Path) -> _Charts:
    parsed = _Charts()
    parsed.feed(dump_dom(browser, profile, page))
    assert "data-error" not in parsed.body, parsed.body.get("data-error")
    assert parsed.body.get("data-rendered") == "ok"
    return parsed


def test_chromium_draws_every_chart(written, browser, tmp_path):
    report = json.loads((written / "out" / "report.json").read_text())
    page = written / "out" / "index.html"
    parsed = _rendered(browser, page, tmp_path / "profile")
    skus = [s["sku"] for s in report["forecast_vs_actual"]["skus"]]
    # Least marks each chart must have: a line and a point per day and series, a bar per
    # category or funnel step, a bar per policy in the lift.
    least = {f"forecast-{sku}": 2 * 21 for sku in skus}
    least |= {"accuracy-wape": 4, "accuracy-p90": 2, "stockouts": len(report["categories"]),
              "turns": len(report["categories"]), "waste": len(report["categories"]),
              "funnel": 5}  # fmt: skip
    least |= {f"lift-{name}": 3 for name in LIFT["metrics"]}
    assert set(parsed.charts) == set(least)
    for name, marks in least.items():
        chart = parsed.charts[name]
        assert int(chart["data-width"]) > 300 and int(chart["data-height"]) > 100, chart
        assert int(chart["data-marks"]) >= marks, (name, chart["data-marks"])
    text = " ".join(parsed.text)
    assert "Payback (one-off costs / net per year)" in text
    for months in report["roi"]["payback_months"].values():
        assert f"{months:,.1f} months" in text
    assert "Labor hours saved" in text and "not measured" in text  # no labor lift given
    assert f"{report['funnel']['auto']}" in text

    # The screenshot shows the charts: many colours, and the forecast lines' own colours.
    pixels = png_pixels(screenshot(browser, tmp_path / "profile", page, tmp_path / "shot.png",
                                   height=900))  # fmt: skip
    rgb = pixels.reshape(-1, pixels.shape[2])[:, :3].astype(int)
    assert rgb.std() > 10
    for colour in ((0x1F, 0x6F, 0xEB), (0xD9, 0x48, 0x0F)):  # P90 forecast, actual sales
        assert (np.abs(rgb - colour).sum(axis=1) < 30).sum() > 200, colour


def test_without_lift_or_costs_the_page_says_not_measured(written, browser, tmp_path):
    out = tmp_path / "bare"
    done = cli("cloud-hub", "report", "--db", str(written / "hub.db"), "--out", str(out),
               "--sku", "SKU4")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "open it: file://" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["lift"] is None and report["roi"] is None
    assert [s["sku"] for s in report["forecast_vs_actual"]["skus"]] == ["SKU4"]
    parsed = _rendered(browser, out / "index.html", tmp_path / "profile")
    text = " ".join(parsed.text)
    assert "Not measured: no lift file was given" in text
    assert "Not measured: no costs file was given" in text
    assert "forecast-SKU4" in parsed.charts and "funnel" in parsed.charts
