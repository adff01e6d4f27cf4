"""One-line progress bars for `make demo` (no dependency beyond the standard library).

As a module: :class:`Bar` redraws ``  [#######-------]  47%  label`` in place on a
terminal; when stdout is not a terminal (a log file), it prints only the finished line,
so logs stay readable.

As a command, it turns the progress lines another command prints on stderr into a bar:

    edge-agent simulate ... --json 2>&1 >sim.json | python scripts/demo_progress.py \\
        --total 11 --label "simulate S001" --log sim.log

Every line read advances the bar by one step (out of ``--total``, an estimate: the bar
stops at 99 % until the input ends) and is kept in ``--log``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

__all__ = ["Bar"]

_WIDTH = 30


class Bar:
    """A progress bar on one line of ``stream`` (stdout by default: in order with the rest)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.started = time.perf_counter()
        self.done = 0

    def _line(self, done: int, note: str) -> str:
        share = min(done / self.total, 1.0)
        filled = round(share * _WIDTH)
        seconds = time.perf_counter() - self.started
        text = f"  [{'#' * filled}{'-' * (_WIDTH - filled)}] {100 * share:3.0f}%  {self.label}"
        return f"{text}  {note}  ({seconds:.0f} s)" if note else f"{text}  ({seconds:.0f} s)"

    def step(self, note: str = "", by: int = 1) -> None:
        self.done += by
        if self.live:
            shown = min(self.done, self.total - 1)  # 100 % only when finished
            self.stream.write("\r\033[K" + self._line(shown, note)[:160])
            self.stream.flush()

    def finish(self, note: str = "") -> None:
        line = self._line(self.total, note)
        self.stream.write(("\r\033[K" if self.live else "") + line + "\n")
        self.stream.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, required=True, help="expected lines (an estimate)")
    parser.add_argument("--label", required=True, help="what the bar shows progress of")
    parser.add_argument("--log", type=Path, help="keep the lines read in this file")
    args = parser.parse_args(argv)
    bar = Bar(args.total, args.label)
    log = args.log.open("w") if args.log else None
    last = ""
    for line in sys.stdin:
        if log:
            log.write(line)
        last = line.strip()
        bar.step(last.split(": ", 1)[-1])
    if log:
        log.close()
    bar.finish()
    if last.startswith(("error:", "hint:", "Traceback")) or "Error" in last:
        print(f"  {last}", file=sys.stderr)  # the failing command's last words
    return 0


if __name__ == "__main__":
    sys.exit(main())
