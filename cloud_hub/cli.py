"""`cloud-hub`: the hub's command line, a thin layer over the library.

With ``--json`` a command prints exactly one JSON document on stdout; progress
and logs go to stderr. Exit codes: 0 ok, 2 bad usage or an error that stopped
the command (with a hint).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cloud_hub import __version__
from cloud_hub.errors import HubError
from models import BOOTSTRAP_DIR

__all__ = ["build_parser", "main"]


def _emit(args: argparse.Namespace, document: Any, text: Callable[[], str]) -> None:
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text() + "\n")


def _table(result: dict[str, Any]) -> str:
    methods = result["methods"]
    columns = sorted({k for m in methods.values() for k in m})
    lines = [
        f"{result['kind']} backtest: holdout {result['holdout'][0]} .. {result['holdout'][1]}"
        f" ({result['holdout_days']} days), trained on {result['train_rows']:,} rows"
        f" in {result['seconds']} s",
        "method".ljust(16) + "".join(c.rjust(24) for c in columns),
    ]
    for name, values in methods.items():
        cells = "".join(
            (f"{values[c]:.4f}" if isinstance(values.get(c), float) else str(values.get(c, "-")))
            .rjust(24) for c in columns)  # fmt: skip
        lines.append(name.ljust(16) + cells)
    return "\n".join(lines)


def cmd_backtest(args: argparse.Namespace) -> int:
    from cloud_hub import backtest  # LightGBM: only when asked

    if args.model == "replenishment":
        result = backtest.backtest_replenishment(
            args.daily_sales, args.holdout_days, calendar=args.calendar,
            protection_days=args.protection_days)  # fmt: skip
    elif args.model == "labor":
        result = backtest.backtest_labor(args.transactions, args.holdout_days)
    else:
        result = backtest.backtest_availability(args.hourly, args.holdout_days)
    _emit(args, result, lambda: _table(result))
    return 0


def cmd_models_build_bootstrap(args: argparse.Namespace) -> int:
    from cloud_hub.bootstrap import build_bootstrap  # LightGBM: only when asked

    written = build_bootstrap(args.data, args.out)
    _emit(args, {"models": written, "out": str(args.out)}, lambda: "\n".join(
        f"{m['name']:<30} {m['rows']:>9,} rows  sha256 {m['sha256'][:16]}  parity "
        f"{m['parity']:.4f}" for m in written))  # fmt: skip
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    _emit(args, {"version": __version__}, lambda: f"cloud-hub {__version__}")
    return 0


def _command(sub: argparse._SubParsersAction, name: str, summary: str,
             example: str) -> argparse.ArgumentParser:  # fmt: skip
    parser = sub.add_parser(name, help=summary, description=summary,
                            epilog=f"example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloud-hub", description="storeedge hub: backtests (and, to come, ingest, "
        "registry, rollout, API).", epilog="example:\n  cloud-hub backtest replenishment "
        "--daily-sales sales.csv --holdout-days 28 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    backtests = sub.add_parser(
        "backtest", help="Backtest a model on your own history against baselines.",
        description="Train on everything before the last N days, score the last N from one "
        "forecast origin, beside baselines.", epilog="example:\n  cloud-hub backtest labor "
        "--transactions tx.csv --holdout-days 7",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    models = backtests.add_subparsers(dest="model", required=True, metavar="MODEL")
    p = _command(
        models,
        "replenishment",
        "Daily demand and order-up-to quantiles.",
        "cloud-hub backtest replenishment --daily-sales sales.csv --holdout-days 28",
    )
    p.add_argument(
        "--daily-sales", type=Path, required=True, help="CSV store_id,sku,date,units[,price,promo]"
    )
    p.add_argument("--calendar", type=Path, help="CSV [store_id,]date,status[,name]")
    p.add_argument(
        "--protection-days",
        type=int,
        default=7,
        help="lead time + review period for the order-up-to quantile (default 7)",
    )
    p.add_argument("--holdout-days", type=int, required=True)
    p.set_defaults(func=cmd_backtest)
    p = _command(
        models,
        "labor",
        "Transactions per store-hour.",
        "cloud-hub backtest labor --transactions tx.csv --holdout-days 7",
    )
    p.add_argument(
        "--transactions",
        type=Path,
        required=True,
        help="CSV store_id,timestamp per transaction, or store_id,date,hour,transactions",
    )
    p.add_argument("--holdout-days", type=int, required=True)
    p.set_defaults(func=cmd_backtest)
    p = _command(
        models,
        "availability",
        "Off-shelf detection from sales gaps.",
        "cloud-hub backtest availability --hourly hourly.csv --holdout-days 7",
    )
    p.add_argument(
        "--hourly",
        type=Path,
        required=True,
        help="CSV store_id,sku,date,hour,units,stockout[,price,promo]",
    )
    p.add_argument("--holdout-days", type=int, required=True)
    p.set_defaults(func=cmd_backtest)
    group = sub.add_parser(
        "models", help="Model artifacts.", description="Model artifacts.",
        epilog="example:\n  cloud-hub models build-bootstrap --data ../shared/data",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    model_commands = group.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    p = _command(
        model_commands,
        "build-bootstrap",
        "Rebuild the shipped bootstrap models (ONNX + manifests) from public data.",
        "cloud-hub models build-bootstrap --data ../shared/data --out models/bootstrap",
    )
    p.add_argument("--data", type=Path, required=True, help="folder with m5_tiny/ and "
                   "freshretailnet_store0/")  # fmt: skip
    p.add_argument("--out", type=Path, default=BOOTSTRAP_DIR, help=f"default {BOOTSTRAP_DIR}")
    p.set_defaults(func=cmd_models_build_bootstrap)
    p = _command(sub, "version", "Print the hub's version.", "cloud-hub version")
    p.set_defaults(func=cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HubError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
