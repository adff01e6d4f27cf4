# ruff: noqa: E501  (the page's script is JavaScript in a string; ruff wraps no JS)
"""The report page: HTML, CSS and a small script of our own that draws inline SVG charts
from the report's JSON (embedded in the page). No network, no CDN, no library."""

from __future__ import annotations

import html

__all__ = ["render_page"]

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       margin: 0; background: #f6f7f9; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 12px 0 2px; }
section { background: #fff; border: 1px solid #d8dce1; border-radius: 8px; padding: 16px 20px;
          margin: 16px 0; }
p.what { color: #4a5360; margin: 0 0 10px; }
p.missing { color: #9a3412; font-weight: 600; }
p.meta { color: #4a5360; font-size: 13px; }
svg.chart { width: 100%; max-width: 900px; height: auto; display: block; }
svg text { font: 12px system-ui, sans-serif; fill: #333; }
.legend span { display: inline-block; margin-right: 14px; font-size: 13px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
            vertical-align: -1px; border-radius: 2px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e6ea;
         vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; border-top: 2px solid #1b1f24; }
tr.head td { background: #eef1f4; font-weight: 700; }
small.formula { display: block; color: #5b6470; font-size: 12px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; }
.kpi { background: #eef1f4; border-radius: 6px; padding: 8px 12px; min-width: 140px; }
.kpi b { display: block; font-size: 20px; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f6feb", "#d9480f", "#2f9e44", "#ae3ec9", "#f59f00", "#0c8599", "#e03131",
                "#5c940d"];
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var root = document.getElementById("report");

  function svgEl(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function htmlEl(tag, text, parent, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (cls) { e.className = cls; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function num(v, digits) {
    if (!isNum(v)) { return "not measured"; }
    return v.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function pct(v) { return isNum(v) ? (100 * v).toFixed(1) + " %" : "not measured"; }
  function money(v) {
    var cur = data.roi ? data.roi.currency : "";
    return isNum(v) ? num(v, 0) + " " + cur : "not measured";
  }
  function minutes(v) { return isNum(v) ? (v / 60).toFixed(1) + " min" : "not measured"; }
  function section(id, title, what) {
    var s = htmlEl("section", null, root);
    s.id = id;
    htmlEl("h2", title, s);
    if (what) { htmlEl("p", what, s, "what"); }
    return s;
  }
  function missing(parent, why) { htmlEl("p", "Not measured: " + why, parent, "missing"); }
  function legend(parent, items) {
    var box = htmlEl("div", null, parent, "legend");
    items.forEach(function (item) {
      var span = htmlEl("span", null, box);
      var swatch = htmlEl("i", null, span);
      swatch.style.background = item.color;
      span.appendChild(document.createTextNode(item.name));
    });
  }
  function niceMax(v) {
    if (!(v > 0)) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= v) { return steps[i] * p; } }
    return 10 * p;
  }
  function frame(parent, name, height) {
    var svg = svgEl("svg", {"class": "chart", "data-chart": name, viewBox: "0 0 900 " + height,
                            role: "img", "aria-label": name}, parent);
    return svg;
  }
  // Y axis with ticks and grid lines over [lo, hi] mapped to the plot's pixel range.
  function yAxis(svg, box, lo, hi, fmt, label) {
    for (var i = 0; i <= 4; i++) {
      var v = lo + (hi - lo) * i / 4;
      var y = box.bottom - (box.bottom - box.top) * i / 4;
      svgEl("line", {x1: box.left, x2: box.right, y1: y, y2: y, stroke: "#e3e6ea"}, svg);
      svgEl("text", {x: box.left - 6, y: y + 4, "text-anchor": "end"}, svg).textContent = fmt(v);
    }
    var t = svgEl("text", {x: 14, y: (box.top + box.bottom) / 2, "text-anchor": "middle",
                           transform: "rotate(-90 14 " + (box.top + box.bottom) / 2 + ")"}, svg);
    t.textContent = label;
    svgEl("line", {x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom,
                   stroke: "#6b7480"}, svg);
  }
  function xLabels(svg, box, labels, xAt) {
    var every = Math.max(1, Math.ceil(labels.length / 12));
    labels.forEach(function (label, i) {
      if (i % every) { return; }
      svgEl("text", {x: xAt(i), y: box.bottom + 16, "text-anchor": "middle"}, svg)
        .textContent = label;
    });
  }
  // Lines over shared x labels; series: [{name, values: [number|null]}]; opts.target: a
  // dashed reference line (e.g. 0.9 for P90 coverage).
  function lineChart(parent, name, labels, series, opts) {
    var svg = frame(parent, name, 300);
    var box = {left: 70, right: 880, top: 14, bottom: 262};
    var all = [];
    series.forEach(function (s) { s.values.forEach(function (v) { if (isNum(v)) { all.push(v); } }); });
    if (opts.target !== undefined) { all.push(opts.target); }
    var hi = niceMax(Math.max.apply(null, all.concat([0])));
    var lo = Math.min(0, Math.min.apply(null, all));
    var yAt = function (v) { return box.bottom - (box.bottom - box.top) * (v - lo) / (hi - lo); };
    var xAt = function (i) {
      return labels.length < 2 ? (box.left + box.right) / 2
        : box.left + 20 + (box.right - box.left - 40) * i / (labels.length - 1);
    };
    yAxis(svg, box, lo, hi, opts.fmt, opts.yLabel);
    xLabels(svg, box, labels, xAt);
    if (opts.target !== undefined) {
      svgEl("line", {x1: box.left, x2: box.right, y1: yAt(opts.target), y2: yAt(opts.target),
                     stroke: "#6b7480", "stroke-dasharray": "6 4"}, svg);
      svgEl("text", {x: box.right, y: yAt(opts.target) - 4, "text-anchor": "end"}, svg)
        .textContent = opts.targetLabel;
    }
    series.forEach(function (s, k) {
      var color = s.color || COLORS[k % COLORS.length];
      var d = "";
      var pen = "M";
      s.values.forEach(function (v, i) {
        if (!isNum(v)) { pen = "M"; return; }
        d += pen + xAt(i).toFixed(1) + " " + yAt(v).toFixed(1) + " ";
        pen = "L";
      });
      if (d) {
        svgEl("path", {d: d, fill: "none", stroke: color, "stroke-width": 2, "class": "mark"}, svg);
      }
      s.values.forEach(function (v, i) {
        if (!isNum(v)) { return; }
        var c = svgEl("circle", {cx: xAt(i), cy: yAt(v), r: 3.5, fill: color, "class": "mark"}, svg);
        svgEl("title", {}, c).textContent = s.name + ", " + labels[i] + ": " + opts.fmt(v);
      });
    });
    legend(parent, series.map(function (s, k) {
      return {name: s.name, color: s.color || COLORS[k % COLORS.length]};
    }));
    return svg;
  }
  // Bars with optional 95 % whiskers: bars [{label, value, lo, hi, color, group}].
  function barChart(parent, name, bars, opts) {
    var slot = 810 / Math.max(bars.length, 1);
    var tilted = slot < 80;  // many bars: slanted labels, so that they do not overlap
    var height = (opts.height || 280) + (tilted ? 60 : 0);
    var svg = frame(parent, name, height);
    var box = {left: 70, right: 880, top: 14, bottom: height - (tilted ? 100 : 40)};
    var values = [0];
    bars.forEach(function (b) {
      [b.value, b.lo, b.hi].forEach(function (v) { if (isNum(v)) { values.push(v); } });
    });
    var hi = niceMax(Math.max.apply(null, values));
    var lo = Math.min.apply(null, values) < 0 ? -niceMax(-Math.min.apply(null, values)) : 0;
    var yAt = function (v) { return box.bottom - (box.bottom - box.top) * (v - lo) / (hi - lo); };
    yAxis(svg, box, lo, hi, opts.fmt, opts.yLabel);
    var width = Math.min(70, slot * 0.7);
    bars.forEach(function (b, i) {
      var x = box.left + slot * i + (slot - width) / 2;
      var cx = x + width / 2;
      var color = b.color || COLORS[i % COLORS.length];
      if (isNum(b.value)) {
        var top = yAt(Math.max(b.value, 0));
        var h = Math.max(Math.abs(yAt(b.value) - yAt(0)), 1);
        var r = svgEl("rect", {x: x, y: top, width: width, height: h, fill: color,
                               "class": "mark"}, svg);
        var tip = b.label + ": " + opts.fmt(b.value);
        if (isNum(b.lo) && isNum(b.hi)) {
          tip += " (95 % interval " + opts.fmt(b.lo) + " .. " + opts.fmt(b.hi) + ")";
          svgEl("line", {x1: cx, x2: cx, y1: yAt(b.lo), y2: yAt(b.hi), stroke: "#1b1f24",
                         "stroke-width": 1.5, "class": "whisker"}, svg);
          [b.lo, b.hi].forEach(function (v) {
            svgEl("line", {x1: cx - 8, x2: cx + 8, y1: yAt(v), y2: yAt(v), stroke: "#1b1f24",
                           "stroke-width": 1.5, "class": "whisker"}, svg);
          });
        }
        svgEl("title", {}, r).textContent = tip;
        if (slot >= 45) {
          var above = isNum(b.hi) ? Math.min(yAt(b.hi), yAt(b.value)) : yAt(b.value);
          svgEl("text", {x: cx + (isNum(b.hi) ? 12 : 0), y: Math.min(above, yAt(0)) - 5,
                         "text-anchor": isNum(b.hi) ? "start" : "middle"}, svg)
            .textContent = opts.fmt(b.value);
        }
      } else {
        svgEl("text", {x: cx, y: box.bottom - 6, "text-anchor": "middle", fill: "#9a3412"}, svg)
          .textContent = "not measured";
      }
      var label = svgEl("text", tilted
        ? {x: cx, y: box.bottom + 12, "text-anchor": "end",
           transform: "rotate(-40 " + cx + " " + (box.bottom + 12) + ")"}
        : {x: cx, y: box.bottom + 16, "text-anchor": "middle"}, svg);
      label.textContent = b.label;
    });
    return svg;
  }

  function summary() {
    var hub = data.hub;
    var s = section("summary", null, null);
    s.querySelector("h2").remove();
    htmlEl("h1", data.title, s);
    htmlEl("p", "Generated " + data.generated_at + " from the hub database " + hub.db +
           ". Every figure on this page is in report.json beside it.", s, "meta");
    var kpis = htmlEl("div", null, s, "kpis");
    [["Stores", hub.stores.length], ["Decisions", hub.decisions],
     ["Outcome windows complete", hub.joins_complete], ["Still partial", hub.joins_partial],
     ["Weeks", hub.weeks.length ? hub.weeks[0] + " .. " + hub.weeks[hub.weeks.length - 1] : "none"]
    ].forEach(function (kv) {
      var k = htmlEl("div", null, kpis, "kpi");
      htmlEl("b", typeof kv[1] === "number" ? num(kv[1], 0) : kv[1], k);
      htmlEl("span", kv[0], k);
    });
  }

  function forecastVsActual() {
    var f = data.forecast_vs_actual;
    var s = section("forecast", "Forecast vs. actual, per order (units)",
      "Each point is an order: what the model forecast for the days the order had to cover " +
      "and what actually sold over them; the actual should stay under the P90 forecast about " +
      "9 times in 10. SKUs: " + f.chosen_by + "; orders of one day summed over the stores.");
    if (!f.skus.length) { missing(s, "no order has a complete outcome window yet"); return; }
    f.skus.forEach(function (sku) {
      htmlEl("h3", "SKU " + sku.sku, s);
      if (!sku.points.length) { missing(s, "no complete order window for this SKU"); return; }
      var labels = sku.points.map(function (p) { return p.date; });
      var series = [
        {name: "P90 forecast", color: "#1f6feb", values: sku.points.map(function (p) { return p.forecast_p90; })},
        {name: "actual sales", color: "#d9480f", values: sku.points.map(function (p) { return p.actual; })}
      ];
      if (sku.points.some(function (p) { return isNum(p.forecast_mean); })) {
        series.push({name: "mean forecast", color: "#2f9e44",
                     values: sku.points.map(function (p) { return p.forecast_mean; })});
      }
      lineChart(s, "forecast-" + sku.sku, labels, series,
                {fmt: function (v) { return num(v, 0); }, yLabel: "units"});
    });
  }

  function accuracy() {
    var a = data.accuracy_by_model;
    var s = section("accuracy", "Forecast accuracy by model version, per week",
      "How far off each model version's forecasts were, week by week, on live data: WAPE " +
      "(total absolute error / total actual; lower is better) and P90 coverage (share of " +
      "orders whose sales stayed under the P90 forecast; the target is 90 %).");
    var wape = a.series.filter(function (x) { return x.points.some(function (p) { return isNum(p.wape); }); });
    var cover = a.series.filter(function (x) { return x.points.some(function (p) { return isNum(p.p90_coverage); }); });
    function values(x, key) {
      var byWeek = {};
      x.points.forEach(function (p) { byWeek[p.week] = p[key]; });
      return a.weeks.map(function (w) { return isNum(byWeek[w]) ? byWeek[w] : null; });
    }
    htmlEl("h3", "WAPE (lower is better)", s);
    if (wape.length) {
      lineChart(s, "accuracy-wape", a.weeks, wape.map(function (x) {
        return {name: x.name, values: values(x, "wape")};
      }), {fmt: pct, yLabel: "WAPE"});
    } else { missing(s, "no point forecast with a complete outcome yet"); }
    htmlEl("h3", "P90 coverage (target 90 %)", s);
    if (cover.length) {
      lineChart(s, "accuracy-p90", a.weeks, cover.map(function (x) {
        return {name: x.name, values: values(x, "p90_coverage")};
      }), {fmt: pct, yLabel: "P90 coverage", target: 0.9, targetLabel: "target 90 %"});
    } else { missing(s, "no order with a complete outcome window yet"); }
  }

  function categories() {
    var all = data.categories;
    var c = all.filter(function (x) { return isNum(x.stockout_rate); });
    var s = section("categories", "Stock-outs, inventory turns and waste by category",
      "Stock-out rate: share of the days an order's stock had to cover on which the shelf " +
      "ran empty (lower is better). Inventory turns: yearly sales / average stock, in units " +
      "(higher means less money sitting on shelves). Waste: units the stores wrote off " +
      "(waste, damage) over those days.");
    if (!c.length) { missing(s, "no order with a complete outcome window yet"); return; }
    htmlEl("h3", "Stock-out rate", s);
    barChart(s, "stockouts", c.map(function (x) {
      return {label: x.category, value: x.stockout_rate, color: "#e03131"};
    }), {fmt: pct, yLabel: "share of SKU-days"});
    htmlEl("h3", "Inventory turns (per year)", s);
    barChart(s, "turns", c.map(function (x) {
      return {label: x.category, value: x.inventory_turns, color: "#0c8599"};
    }), {fmt: function (v) { return num(v, 1); }, yLabel: "turns / year"});
    htmlEl("h3", "Waste (units written off)", s);
    barChart(s, "waste", c.map(function (x) {
      return {label: x.category, value: x.waste_units, color: "#868e96"};
    }), {fmt: function (v) { return num(v, 0); }, yLabel: "units"});
    var rest = all.filter(function (x) { return !isNum(x.stockout_rate); });
    if (rest.length) {
      missing(s, rest.length + (rest.length === 1 ? " category" : " categories") +
              " with no complete order window yet (" +
              rest.map(function (x) { return x.category; }).join(", ") + ")");
    }
  }

  function funnel() {
    var f = data.funnel;
    var s = section("funnel", "How decisions were handled (approval funnel)",
      "Of all decisions, how many the policy executed on its own and how many a person " +
      "approved, rejected or overrode; the time to approval is how long exceptions waited " +
      "for a person.");
    if (!f.decisions) { missing(s, "no decision has reached the hub"); return; }
    barChart(s, "funnel", [
      {label: "auto-executed", value: f.auto, color: "#2f9e44"},
      {label: "approved", value: f.approved, color: "#1f6feb"},
      {label: "rejected", value: f.rejected, color: "#e03131"},
      {label: "overridden", value: f.overridden, color: "#f59f00"},
      {label: "other (pending, expired)", value: f.other, color: "#868e96"}
    ], {fmt: function (v) { return num(v, 0); }, yLabel: "decisions"});
    htmlEl("p", "Time from decision to approval: mean " + minutes(f.review_seconds_mean) +
           ", longest " + minutes(f.review_seconds_max) + " (" + num(f.reviewed, 0) +
           " reviewed decisions).", s, "meta").id = "time-to-approval";
  }

  function lift() {
    var l = data.lift;
    var s = section("lift", "Lift against the baseline policy, with 95 % intervals",
      "The same demand replayed under the store's previous ordering policy (baseline), the " +
      "baseline tuned to the kit's average inventory, and the kit; whiskers show the 95 % " +
      "interval over the seeds. Figures are per store per day.");
    if (!l) { missing(s, "no lift file was given (--lift); direct impact is not measured"); return; }
    // The source's plain fields only (digests and nested details stay in report.json).
    var src = l.source || {};
    var plain = [];
    Object.keys(src).forEach(function (k) {
      var v = src[k];
      if (Array.isArray(v) && v.every(function (x) { return typeof x !== "object"; })) {
        plain.push(k + " " + v.join(", "));
      } else if (v !== null && typeof v !== "object" && String(v).length <= 80) {
        plain.push(k + " " + v);
      }
    });
    htmlEl("p", "Kind: " + l.kind + ". Source: " + plain.join("; ") +
           " (all of it in report.json).", s, "meta");
    Object.keys(l.metrics).forEach(function (name) {
      var m = l.metrics[name];
      var fmt = m.unit === "share" ? pct : function (v) { return num(v, 2); };
      htmlEl("h3", name + " (" + m.unit + " per store-day; " +
             (m.higher_is_better ? "higher" : "lower") + " is better)", s);
      var bars = [
        {label: "kit", value: m.kit.mean, lo: m.kit.ci95[0], hi: m.kit.ci95[1], color: "#1f6feb"},
        {label: "baseline", value: m.baseline.mean, lo: m.baseline.ci95[0], hi: m.baseline.ci95[1],
         color: "#868e96"}
      ];
      bars.push(m.baseline_tuned
        ? {label: "tuned baseline", value: m.baseline_tuned.mean, lo: m.baseline_tuned.ci95[0],
           hi: m.baseline_tuned.ci95[1], color: "#f59f00"}
        : {label: "tuned baseline", value: null});
      barChart(s, "lift-" + name, bars, {fmt: fmt, yLabel: m.unit, height: 220});
      var text = "Lift (kit - baseline): " + fmt(m.lift.mean) + " [" + fmt(m.lift.ci95[0]) +
        " .. " + fmt(m.lift.ci95[1]) + "]";
      if (m.lift_vs_tuned) {
        text += "; vs tuned baseline: " + fmt(m.lift_vs_tuned.mean) + " [" +
          fmt(m.lift_vs_tuned.ci95[0]) + " .. " + fmt(m.lift_vs_tuned.ci95[1]) + "]";
      }
      htmlEl("p", text, s, "meta");
    });
  }

  function roiTable() {
    var r = data.roi;
    var s = section("roi", "ROI statement",
      "Direct impact in money (from the lift) kept apart from enabling impact (from the " +
      "hub's decisions), net of the costs entered; low / central / high are the pessimistic " +
      "end, the mean and the optimistic end of the lift's 95 % interval, per year.");
    if (!r) { missing(s, "no costs file was given (--costs)"); return; }
    htmlEl("p", "Scaled to " + r.fleet.stores + " stores (" + r.fleet.source + ") x " +
           r.days_per_year + " days a year; amounts in " + r.currency + ".", s, "meta");
    var table = htmlEl("table", null, s);
    table.id = "roi-table";
    function row(cells, cls) {
      var tr = htmlEl("tr", null, table, cls);
      cells.forEach(function (c, i) {
        var td = htmlEl(i === 0 ? "td" : "td", null, tr, i > 0 ? "num" : null);
        if (c && typeof c === "object") {
          td.appendChild(document.createTextNode(c.text));
          if (c.formula) { htmlEl("small", c.formula, td, "formula"); }
        } else { td.textContent = c; }
      });
      return tr;
    }
    var head = htmlEl("tr", null, table);
    ["", "low", "central", "high"].forEach(function (t, i) { htmlEl("th", t, head, i ? "num" : null); });
    row(["Direct impact (per year)", "", "", ""], "head");
    r.direct.forEach(function (line) {
      if (line.status !== "measured") {
        row([{text: line.label, formula: line.why}, line.status, line.status, line.status]);
        return;
      }
      row([{text: line.label, formula: line.formula + " (" + line.source + ")"},
           money(line.annual.low), money(line.annual.central), money(line.annual.high)]);
    });
    if (r.direct_total) {
      var t = r.direct_total.annual;
      row(["Total direct impact", money(t.low), money(t.central), money(t.high)], "total");
    }
    row(["Costs", "", "", ""], "head");
    r.costs.one_off.forEach(function (c) {
      row([{text: c.label + " (one-off)", formula: c.formula}, money(c.amount), money(c.amount), money(c.amount)]);
    });
    r.costs.yearly.forEach(function (c) {
      row([{text: c.label + " (per year)", formula: c.formula}, money(c.amount), money(c.amount), money(c.amount)]);
    });
    row(["Net and payback", "", "", ""], "head");
    if (r.net_yearly) {
      var k = ["low", "central", "high"];
      row(["Net per year (direct - yearly costs)"].concat(k.map(function (x) { return money(r.net_yearly[x]); })), "total");
      row(["Payback (one-off costs / net per year)"].concat(k.map(function (x) {
        return r.payback_months[x] === null ? "never" : num(r.payback_months[x], 1) + " months";
      })), "total");
      row(["Net over " + r.horizon_years + " years"].concat(k.map(function (x) { return money(r.horizon_net[x]); })));
    } else {
      row(["Net per year and payback", "not measured", "not measured", "not measured"]);
    }
    htmlEl("h3", "Enabling impact (not money, not added above)", s);
    var e = htmlEl("table", null, s);
    e.id = "enabling-table";
    r.enabling.forEach(function (line) {
      var tr = htmlEl("tr", null, e);
      var label = htmlEl("td", line.label, tr);
      htmlEl("small", line.formula + " (" + line.source + ")", label, "formula");
      var shown;
      if (line.status !== "measured" || !isNum(line.value)) { shown = "not measured"; }
      else if (line.unit === "seconds") { shown = minutes(line.value) + " mean, " + minutes(line.max) + " longest"; }
      else {
        shown = num(line.value, 0) + " " + line.unit;
        if (isNum(line.share)) { shown += " (" + pct(line.share) + ")"; }
      }
      htmlEl("td", shown, tr, "num");
    });
  }

  try {
    summary(); forecastVsActual(); accuracy(); categories(); funnel(); lift(); roiTable();
    // What the browser test reads back: each chart's laid-out size and its marks.
    Array.prototype.forEach.call(document.querySelectorAll("svg.chart"), function (svg) {
      var box = svg.getBoundingClientRect();
      svg.setAttribute("data-width", Math.round(box.width));
      svg.setAttribute("data-height", Math.round(box.height));
      svg.setAttribute("data-marks", svg.querySelectorAll(".mark").length);
    });
    document.body.setAttribute("data-rendered", "ok");
  } catch (err) {
    document.body.setAttribute("data-error", String(err && err.stack || err));
    htmlEl("p", "The page could not draw its charts: " + err, root, "missing");
  }
})();
"""


def render_page(data_json: str, title: str) -> str:
    """The page around the report's JSON (embedded as data, drawn by the page's script)."""
    embedded = data_json.replace("</", "<\\/")  # no early end of the script element
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        '<body><main id="report"><noscript>This report draws its charts with JavaScript; '
        "the numbers are in report.json.</noscript></main>"
        f'<script type="application/json" id="report-data">{embedded}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
