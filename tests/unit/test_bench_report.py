"""scripts/bench_report.py: a partial benchmark run laid over an earlier full one."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_report", ROOT / "scripts/bench_report.py")
bench_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_report)


def _bench(name: str, median: float, figure: float) -> dict:
    return {
        "name": name,
        "stats": {"median": median, "min": median * 0.9, "max": median * 1.1, "rounds": 3},
        "extra_info": {"label": name.replace("_", " "), "figure": figure, "unit": "rec/s"},
    }


def test_a_partial_run_replaces_its_rows_and_dates_the_others(tmp_path: Path) -> None:
    earlier = {
        "datetime": "2026-11-26T23:26:07+00:00",
        "benchmarks": [
            _bench("test_cycle_big", 4.7, 6376.0),
            _bench("test_hub_ingest", 3.3, 30538.0),
        ],
    }
    partial = {
        "datetime": "2026-11-27T02:40:00+00:00",
        "benchmarks": [_bench("test_cycle_big", 4.2, 7000.0)],
    }
    (tmp_path / "old.json").write_text(json.dumps(earlier))
    (tmp_path / "new.json").write_text(json.dumps(partial))
    md = tmp_path / "BENCHMARKS.md"
    md.write_text(f"# Benchmarks\n{bench_report.BEGIN}\n{bench_report.END}\nnotes\n")

    assert (
        bench_report.main(
            [str(tmp_path / "new.json"), "--md", str(md), "--over", str(tmp_path / "old.json")]
        )
        == 0
    )

    rows = {
        line.split(" | ")[0].lstrip("| "): line
        for line in md.read_text().splitlines()
        if line.startswith("| test")
    }
    assert "7,000 rec/s" in rows["test cycle big"]  # the new run's figure, not the old one
    assert "Run of 2026-11-27 02:40 UTC" in md.read_text()
    assert "test hub ingest (run of 2026-11-26 23:26 UTC)" in rows
    assert "30,538 rec/s" in rows["test hub ingest (run of 2026-11-26 23:26 UTC)"]
    assert md.read_text().endswith("notes\n")  # outside the markers: untouched
