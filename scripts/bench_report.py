"""Write the figures of a `make bench` run into BENCHMARKS.md.

Reads the pytest-benchmark JSON (``--benchmark-json``) and rewrites the part of
BENCHMARKS.md between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``: a table
(benchmark, rounds, median, figure, raw-limit figure, ratio, target, met?), details per
benchmark, the machine and the command. Everything outside the markers is left as it is.
The output depends only on the JSON, so running it twice changes nothing.

    python scripts/bench_report.py .bench.json [--md BENCHMARKS.md] [--check] [--over OLD.json]

A partial run (``pytest -m bench tests/bench/test_x.py``) can be laid over the JSON of
an earlier full run with ``--over OLD.json``: its benchmarks replace those of the same
name, the others stay, and every row from the older run names that run's date.

Exit codes: 0 written; 1 with --check, when a benchmark missed its target; 2 bad usage
(no JSON, no markers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
ROOT = Path(__file__).resolve().parents[1]
# The order of the table: each measured path right above its raw limit.
ORDER = (
    "test_ingest_day_into_year",
    "test_raw_executemany",
    "test_simulate_small",
    "test_generate_only_small",
    "test_simulate_big",
    "test_cycle_big",
    "test_cycle_bare_limit",
    "test_outbox_drain",
    "test_bare_publish_async",
    "test_hub_ingest",
    "test_bare_fetch_ack",
    "test_end_to_end_backlog",
    "test_cluster_drain_r3",
    "test_agent_idle_rss",
    "test_reconnect_storm",
    "test_reconnect_storm_raw",
    "test_model_rollout_to_100_stores",
    "test_train_replenishment",
    "test_sampling_accuracy_cost",
    "test_api_p99_under_load_while_ingesting",
    "test_lift_simulated",
    "test_backtest_replenishment_on_a_large_file",
)
# Benchmarks whose raw limit runs after them (and so cannot record the ratio itself).
RAW_AFTER = {"test_cycle_big": "test_cycle_bare_limit"}


def _fail(message: str, hint: str) -> SystemExit:
    print(f"bench_report: {message}\nhint: {hint}", file=sys.stderr)
    return SystemExit(2)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f} s"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.0f} ms"


def _rate(value: float | None, unit: str) -> str:
    return "—" if value is None else f"{value:,.0f} {unit}"


def _row(bench: dict[str, Any]) -> list[str]:
    info = bench.get("extra_info", {})
    stats = bench["stats"]
    unit = info.get("unit", "")
    median = info.get("median_s", stats["median"])
    figure = info.get("figure")
    raw = info.get("raw_figure")
    ratio = info.get("ratio")
    target = info.get("target")
    met = info.get("met")
    rss = info.get("peak_rss_mib")
    if info.get("kind") == "raw":
        target_text, met_text = "(reference)", "—"
    else:
        target_text = info.get("target_text", "—") if target is not None else "—"
        met_text = "—" if met is None else ("**yes**" if met else "**no**")
    label = info.get("label", bench["name"])
    if bench.get("earlier_run"):
        label += f" (run of {_when(bench['earlier_run'])})"
    return [
        label,
        str(info.get("rounds", stats["rounds"])),
        _seconds(median),
        _rate(figure, unit),
        _rate(raw, unit),
        "—" if ratio is None else f"{ratio:.2f}",
        "—" if rss is None else f"{rss:,.0f} MiB",
        target_text,
        met_text,
    ]


def _details(bench: dict[str, Any]) -> str | None:
    info = bench.get("extra_info", {})
    stats = bench["stats"]
    label = info.get("label", bench["name"])
    parts = []
    if info.get("round_seconds"):  # the figure measured inside a child, per round
        low, high = min(info["round_seconds"]), max(info["round_seconds"])
        parts.append(f"rounds {_seconds(low)} – {_seconds(high)}")
    elif stats["rounds"] > 1:
        parts.append(f"rounds {_seconds(stats['min'])} – {_seconds(stats['max'])}")
    if "rows" in info:
        parts.append(f"{info['rows']:,} rows")
    if "peak_rss_of" in info:
        parts.append(f"peak RSS of {info['peak_rss_of']}")
    elif "peak_rss_mib" in info:
        parts.append("peak RSS is the command's own, the largest of the rounds")
    if "prefill_lines" in info:
        parts.append(
            f"mirror prefilled with {info['prefill_lines']:,} lines "
            f"({info['prefill_lines_per_day']:,} a day), built in {info['template_build_s']} s"
        )
    if "export_mib" in info:
        parts.append(f"export {info['export_mib']} MiB")
    if "rows_loaded" in info:
        loaded = ", ".join(f"{k} {v:,}" for k, v in info["rows_loaded"].items())
        parts.append(f"loaded: {loaded}")
    if "end_date" in info:
        parts.append(f"ending {info['end_date']}")
    if "decisions" in info:
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(info.get("decision_kinds", {}).items()))
        parts.append(f"cycle for {info['as_of']}: {info['decisions']:,} decisions ({kinds})")
    if "protection_rows" in info:
        parts.append(f"{info['protection_rows']:,} rows scored by the protection model")
    if info.get("raw_median_s") and info.get("kind") == "cycle":
        slower = info["median_s"] / info["raw_median_s"]
        parts.append(f"{slower:.1f} x the raw limit's time")
    if "idle_rss_mib" in info:
        parts.append(f"idle RSS after the cycle {info['idle_rss_mib']:,.0f} MiB")
    if "cluster_nodes" in info:
        low, high = min(info["single_round_seconds"]), max(info["single_round_seconds"])
        parts.append(
            f"{info['cluster_nodes']} nodes on one machine, streams with {info['replicas']} "
            "replicas, the client on a follower's node; the same drain into one server "
            f"{_seconds(info['raw_median_s'])} median (rounds {_seconds(low)} – "
            f"{_seconds(high)}), rounds interleaved"
        )
    if "rmsse" in info:
        parts.append(
            f"RMSSE {info['rmsse']:.4f} (ma28 {info['rmsse_ma28']:.4f}); trained on "
            f"{info['train_rows']:,} rows, every {info['train_horizon_stride']}th horizon"
        )
    if "command_wall_s" in info:
        parts.append(f"whole child process (start, models, cycle) {info['command_wall_s']} s")
    return f"- {label}: " + "; ".join(parts) + "." if parts else None


def _machine(data: dict[str, Any]) -> str:
    mine = data.get("machine_info", {}).get("storeedge")
    if mine is None:  # a JSON written without tests/bench/conftest.py: describe this machine
        mine = {
            "cpu_count": os.cpu_count(),
            "cpu_model": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        }
    text = (
        f"{mine['cpu_count']} cores (`os.cpu_count()`), {mine['cpu_model']}, "
        f"Python {mine['python']}"
    )
    if mine.get("sqlite"):
        text += f", SQLite {mine['sqlite']}"
    if mine.get("platform"):
        text += f", {mine['platform']}"
    load = mine.get("load_start"), mine.get("load_end")
    if all(load):
        text += f"; load average (1 min) {load[0][0]:.2f} at the start, {load[1][0]:.2f} at the end"
    return text


def _when(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return text or "an unknown date"


def render(data: dict[str, Any], json_name: str) -> str:
    benches = {b["name"]: b for b in data.get("benchmarks", [])}
    if not benches:
        raise _fail("the JSON holds no benchmarks", "run `make bench` first")
    for name, raw_name in RAW_AFTER.items():
        if name in benches and raw_name in benches:
            info, raw = benches[name].setdefault("extra_info", {}), benches[raw_name]["extra_info"]
            if info.get("figure") and raw.get("figure") and info.get("raw_figure") is None:
                info.update(raw_figure=raw["figure"], raw_median_s=raw.get("median_s"))
                info["ratio"] = info["figure"] / raw["figure"]
    names = [n for n in ORDER if n in benches] + sorted(set(benches) - set(ORDER))
    when = _when(data.get("datetime", ""))
    command = data.get("storeedge_command", "pytest -m bench tests/bench")
    header = [
        "Benchmark",
        "Rounds",
        "Median",
        "Figure",
        "Raw limit",
        "Ratio",
        "Peak RSS",
        "Target",
        "Met?",
    ]
    lines = [
        BEGIN,
        f"<!-- written by scripts/bench_report.py from {json_name}; edits here are lost -->",
        "",
        f"Run of {when} on {_machine(data)}.",
        "",
        f"Produced by `{command}`, then `python scripts/bench_report.py {json_name}`.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "--:", "--:", "--:", "--:", "--:", "--:", "---", "---"]) + "|",
    ]
    lines += ["| " + " | ".join(_row(benches[n])) + " |" for n in names]
    details = [d for d in (_details(benches[n]) for n in names) if d]
    if details:
        lines += ["", *details]
    lines.append(END)
    return "\n".join(lines)


def overlay(data: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """``data``'s benchmarks over ``earlier``'s: same name, the newer wins; the rest of
    ``earlier`` stays, marked with the date of its run."""
    newer = {b["name"] for b in data.get("benchmarks", [])}
    kept = [
        {**b, "earlier_run": b.get("earlier_run") or earlier.get("datetime", "")}
        for b in earlier.get("benchmarks", [])
        if b["name"] not in newer
    ]
    return {**data, "benchmarks": [*data.get("benchmarks", []), *kept]}


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}", "run `make bench` first") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path, help="pytest-benchmark JSON (make bench: .bench.json)")
    parser.add_argument("--md", type=Path, default=ROOT / "BENCHMARKS.md", help="file to update")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a benchmark missed its target"
    )
    parser.add_argument(
        "--over", type=Path, help="an earlier run's JSON: its other benchmarks stay in the table"
    )
    args = parser.parse_args(argv)
    data = _load(args.json)
    if args.over is not None:
        data = overlay(data, _load(args.over))
    try:
        text = args.md.read_text()
    except OSError as exc:
        raise _fail(f"cannot read {args.md}: {exc}", "pass --md FILE") from None
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise _fail(
            f"{args.md} has no {BEGIN} ... {END} section",
            "add the two marker lines where the figures belong",
        )
    section = render(data, args.json.name)
    updated = text[:start] + section + text[end + len(END) :]
    if updated != text:
        args.md.write_text(updated)
    print(f"bench_report: {'updated' if updated != text else 'unchanged'} {args.md}")
    missed = [b["name"] for b in data["benchmarks"] if b.get("extra_info", {}).get("met") is False]
    for name in missed:
        print(f"bench_report: {name} missed its target", file=sys.stderr)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
