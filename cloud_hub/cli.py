"""`cloud-hub`: the hub's command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cloud_hub import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloud-hub",
        description="storeedge hub.",
        epilog="example:\n  cloud-hub version --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    version = sub.add_parser(
        "version",
        help="Print the hub's version.",
        description="Print the hub's version.",
        epilog="example:\n  cloud-hub version",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    version.add_argument("--json", action="store_true", help="print one JSON document")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.json:
        json.dump({"version": __version__}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"cloud-hub {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
