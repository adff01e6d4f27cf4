"""The hub's report: one self-contained HTML page with charts, and report.json beside it.

Everything on the page is drawn by the page's own script from the report's JSON document,
embedded in the page: the page and report.json carry the same numbers (one source). The
numbers come from the outcome join and its metrics (:mod:`cloud_hub.outcomes`), the lift
file and the ROI statement (:mod:`cloud_hub.roi`); nothing is fetched from the network.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloud_hub import outcomes, roi
from cloud_hub.errors import ReportError
from cloud_hub.report_page import render_page

__all__ = ["DEFAULT_SKUS", "build_report", "write_report"]

#: SKUs charted when none are chosen: the ones with the most order decisions.
DEFAULT_SKUS = 3


def _order_docs(conn: sqlite3.Connection, skus: list[str]) -> list[dict[str, Any]]:
    if not skus or not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                    "name = 'outcome_docs'").fetchone():  # fmt: skip
        return []
    rows = conn.execute(
        f"SELECT doc FROM outcome_docs WHERE json_extract(doc, '$.kind') = 'order' AND "
        f"json_extract(doc, '$.sku') IN ({','.join('?' * len(skus))})",
        skus,
    )
    return [json.loads(row[0]) for row in rows]


def _top_skus(conn: sqlite3.Connection, count: int) -> list[str]:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                        "name = 'outcome_docs'").fetchone():  # fmt: skip
        return []
    rows = conn.execute(
        "SELECT json_extract(doc, '$.sku') AS sku, COUNT(*) AS n FROM outcome_docs "
        "WHERE json_extract(doc, '$.kind') = 'order' AND json_extract(doc, '$.status') = "
        "'complete' GROUP BY sku ORDER BY n DESC, sku LIMIT ?",
        (count,),
    )
    return [row[0] for row in rows]


def _forecast_vs_actual(conn: sqlite3.Connection, skus: list[str] | None) -> dict[str, Any]:
    chosen = list(skus) if skus else _top_skus(conn, DEFAULT_SKUS)
    by_sku: dict[str, dict[str, list[dict[str, Any]]]] = {s: defaultdict(list) for s in chosen}
    for doc in _order_docs(conn, chosen):
        if doc["status"] == "complete":
            by_sku[doc["sku"]][doc["business_date"]].append(doc)
    series = []
    for sku in chosen:
        points = []
        for day, docs in sorted(by_sku[sku].items()):
            means = [d["order"]["forecast_mean"] for d in docs]
            points.append({
                "date": day, "decisions": len(docs),
                "stores": sorted({d["store_id"] for d in docs}),
                "forecast_p90": sum(d["order"]["forecast_p90"] for d in docs),
                "forecast_mean": None if None in means else sum(means),
                "actual": sum(d["order"]["protection_sales"] for d in docs),
            })  # fmt: skip
        series.append({"sku": sku, "points": points})
    return {"chosen_by": "--sku" if skus else f"the {DEFAULT_SKUS} SKUs with the most orders",
            "skus": series}  # fmt: skip


def _forecasts_kind(row: dict[str, Any]) -> str:
    # Staffing rows are the store-level group (no category); orders have a category.
    return "staffing" if row["category"] == "" else "orders"


def _accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        groups[(_forecasts_kind(row), row["model_version"])][row["week"]].append(row)
    series = []
    for (kind, version), weeks in sorted(groups.items()):
        points = []
        for week, group in sorted(weeks.items()):
            c = outcomes.combine(group)
            points.append({"week": week, "wape": c["wape"], "bias": c["bias"],
                           "forecasts": c["forecasts"], "p90_coverage": c["p90_coverage"],
                           "p90_forecasts": c["p90_forecasts"], "decisions": c["decisions"],
                           "rows": c["rows"]})  # fmt: skip
        if not any(p["forecasts"] or p["p90_forecasts"] for p in points):
            continue  # a version that forecast nothing here (a shelf-check model's rows)
        series.append({"kind": kind, "model_version": version or "-",
                       "name": f"{kind} {version or '-'}", "points": points})  # fmt: skip
    return {"weeks": sorted({r["week"] for r in rows}), "series": series}


def _categories(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["category"]:
            groups[row["category"]].append(row)
    out = []
    for category, group in sorted(groups.items()):
        c = outcomes.combine(group)
        out.append({"category": category, **{k: c[k] for k in (
            "stockout_rate", "stockout_days", "sku_days", "inventory_turns", "days_of_supply",
            "sales_units", "onhand_unit_days", "lost_units", "lost_value", "waste_units",
            "order_windows", "decisions", "rows")}})  # fmt: skip
    return out


def _funnel(rows: list[dict[str, Any]]) -> dict[str, Any]:
    c = outcomes.combine(rows)
    return {k: c[k] for k in ("decisions", "auto", "approved", "rejected", "overridden", "other",
                              "share_auto", "share_approved", "share_rejected",
                              "share_overridden", "share_other", "reviewed",
                              "review_seconds_mean", "review_seconds_max", "rows")}  # fmt: skip


def _lift(lift: roi.Lift | None, path: Path | None) -> dict[str, Any] | None:
    if lift is None:
        return None
    metrics = {name: m.model_dump() for name, m in sorted(lift.metrics.items())}
    return {"file": str(path), "kind": lift.kind, "source": lift.source, "metrics": metrics}


def build_report(
    conn: sqlite3.Connection, *, db: Path, skus: list[str] | None = None,
    lift: roi.Lift | None = None, lift_path: Path | None = None,
    costs: roi.Costs | None = None, costs_path: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The report's numbers, as one JSON-ready document (the page draws exactly these)."""
    rows = roi.all_metric_rows(conn)
    statement = None
    if costs is not None and costs_path is not None:
        statement = roi.roi_statement(conn, costs, costs_path=costs_path, lift=lift,
                                      lift_path=lift_path, rows=rows)  # fmt: skip
    total = outcomes.combine(rows)
    return {
        "title": "storeedge: outcomes, lift and ROI",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "hub": {"db": str(db), "decisions": total["decisions"],
                "joins_complete": total["joins_complete"],
                "joins_partial": total["joins_partial"],
                "stores": sorted({r["store_id"] for r in rows}),
                "weeks": sorted({r["week"] for r in rows}), "metric_rows": len(rows)},
        "forecast_vs_actual": _forecast_vs_actual(conn, skus),
        "accuracy_by_model": _accuracy(rows),
        "categories": _categories(rows),
        "funnel": _funnel(rows),
        "lift": _lift(lift, lift_path),
        "roi": statement,
    }  # fmt: skip


def write_report(document: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write report.json and index.html into ``out``; returns their paths."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        data = json.dumps(document, indent=2, sort_keys=True, allow_nan=False)
        (out / "report.json").write_text(data + "\n")
        (out / "index.html").write_text(render_page(data, document["title"]))
    except OSError as exc:
        raise ReportError(f"cannot write the report into {out}: {exc.strerror}",
                          hint="pass --out with a writable folder") from exc  # fmt: skip
    return out / "index.html", out / "report.json"
