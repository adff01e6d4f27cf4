"""Reading POS exports and validating their rows: pure, no database.

CSV (delimiter ``,`` ``;`` tab or ``|``; decimal commas with ``;`` or tab) and
JSONL, optionally gzipped. Columns are read by header name. Validation turns
rows into batches of good tuples and bad rows with reasons; the mirror side
(:mod:`edge_agent.mirror.ingest`) writes them. Large files are read and
validated in a child process while the parent writes (:func:`validate_in_child`).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import pickle
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, count, islice, repeat
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import Any

from edge_agent.errors import IngestError, UnknownFileKindError
from edge_agent.mirror.kinds import KINDS, BadRow, Kind, RowContext
from storeedge.headers import normalize_header

__all__ = [
    "Batch",
    "Export",
    "RawRow",
    "detect_kind",
    "open_export",
    "validate_batches",
    "validate_in_child",
]

#: (line number, the row, why it is malformed or None). The row is a mapping by column
#: name, or a sequence in header order (CSV, generated rows), or None if unparseable.
RawRow = tuple[int, Mapping[str, Any] | Sequence[Any] | None, str | None]
#: (line number, the row's read columns, reason code, detail)
Bad = tuple[int, Mapping[str, Any] | None, str, str]

_DELIMITERS = (",", ";", "\t", "|")


@dataclass
class Export:
    """A POS export opened for reading. Close it (or use ``with``) when done."""

    path: Path
    kind: Kind
    header: list[str]
    decimal_comma: bool
    rows: Iterator[RawRow]
    ignored_columns: list[str]
    handle: io.TextIOBase

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> Export:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_text(path: Path) -> io.TextIOBase:
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror}", hint="check the path") from None


def _is_jsonl(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return ".jsonl" in suffixes or ".ndjson" in suffixes or ".json" in suffixes


def detect_kind(header: Sequence[str], *, path: Path | str = "<rows>") -> Kind:
    """The kind whose required columns the header has; the most specific match wins."""
    columns = set(header)
    candidates = [k for k in KINDS.values() if set(k.required) <= columns]
    if not candidates:
        raise UnknownFileKindError(
            f"{path}: header ({', '.join(header) or 'empty'}) matches no known export kind",
            hint="see `edge-agent formats` for the columns of each kind, or pass --kind",
        )

    def score(kind: Kind) -> tuple[int, int]:
        return len(kind.required), len(columns & set(kind.columns))

    candidates.sort(key=score, reverse=True)
    if len(candidates) > 1 and score(candidates[0]) == score(candidates[1]):
        first, second = candidates[0].name, candidates[1].name
        raise UnknownFileKindError(
            f"{path}: header fits both {first} and {second}",
            hint=f"pass --kind {first} or --kind {second}",
        )
    return candidates[0]


def _csv_rows(handle: io.TextIOBase, delimiter: str, header: list[str]) -> Iterator[RawRow]:
    return chain.from_iterable(_csv_chunks(handle, delimiter, header))


def _csv_chunks(
    handle: io.TextIOBase, delimiter: str, header: list[str]
) -> Iterator[Iterable[RawRow]]:
    """Rows in chunks of lines. A chunk without quotes, blank lines or ragged rows has one
    record per line, so its line numbers are counted in C; any other chunk is walked
    record by record. A quoted field never splits across chunks (quotes are balanced)."""
    width = len(header)
    first_line = 2  # the header is line 1
    while lines := list(islice(handle, _CHUNK_LINES)):
        quotes = sum(map(_COUNT_QUOTES, lines))
        while quotes % 2:  # a quoted field runs on: take lines until it closes
            more = handle.readline()
            if not more:
                break
            lines.append(more)
            quotes += more.count('"')
        rows = list(csv.reader(lines, delimiter=delimiter))
        if not quotes and len(rows) == len(lines) and set(map(len, rows)) == {width}:
            yield zip(count(first_line), rows, repeat(None))
        else:
            yield list(_records(lines, delimiter, header, first_line))
        first_line += len(lines)


def _records(
    lines: list[str], delimiter: str, header: list[str], first_line: int
) -> Iterator[RawRow]:
    width = len(header)
    reader = csv.reader(lines, delimiter=delimiter)
    start = 0
    for values in reader:
        line_no, start = first_line + start, reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        if len(values) != width:
            problem = f"{len(values)} fields where the header has {width}"
            yield line_no, dict(zip(header, values, strict=False)), problem
            continue
        yield line_no, values, None


_CHUNK_LINES = 8_192
_COUNT_QUOTES = methodcaller("count", '"')


def _jsonl_rows(lines: Iterable[tuple[int, str]], first: tuple[int, Any]) -> Iterator[RawRow]:
    def parsed(line_no: int, obj: Any) -> RawRow:
        if not isinstance(obj, dict):
            return line_no, None, "line is not a JSON object"
        return line_no, {normalize_header(k): v for k, v in obj.items()}, None

    yield parsed(*first)
    for line_no, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, None, f"invalid JSON: {exc.msg} at column {exc.colno}"
            continue
        yield parsed(line_no, obj)


def _first_json_object(path: Path, numbered: Iterator[tuple[int, str]]) -> tuple[int, Any]:
    for line_no, line in numbered:
        if line.strip():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestError(
                    f"{path}:{line_no}: first record is not JSON: {exc.msg}",
                    hint="JSONL exports hold one JSON object per line",
                ) from None
            if isinstance(obj, dict):
                return line_no, obj
            break
    raise UnknownFileKindError(
        f"{path}: no JSON object found to detect the kind",
        hint="pass --kind, or check the file is not empty",
    )


def _kind_for(path: Path, header: list[str], kind_name: str | None) -> Kind:
    if kind_name is None:
        return detect_kind(header, path=path)
    if kind_name not in KINDS:
        raise UnknownFileKindError(
            f"unknown kind {kind_name!r}", hint=f"choose one of {', '.join(KINDS)}"
        )
    kind = KINDS[kind_name]
    missing = [c for c in kind.required if c not in header]
    if missing:
        raise IngestError(
            f"{path}: a {kind.name} export needs column(s) {', '.join(missing)}",
            hint="see `edge-agent formats`",
        )
    return kind


def open_export(path: Path, kind_name: str | None = None) -> Export:
    """Open an export, read its header and find its kind (or check the one given)."""
    handle = _open_text(path)
    try:
        if _is_jsonl(path):
            numbered = enumerate(handle, start=1)
            first = _first_json_object(path, numbered)
            header = [normalize_header(k) for k in first[1]]
            rows: Iterator[RawRow] = _jsonl_rows(numbered, first)
            decimal_comma = False
        else:
            first_line = handle.readline()
            if not first_line.strip():
                raise UnknownFileKindError(
                    f"{path}: the file is empty, no header to detect the kind",
                    hint="exports need a header row",
                )
            delimiter = max(_DELIMITERS, key=first_line.count)
            header_cells = next(csv.reader([first_line], delimiter=delimiter))
            header = [normalize_header(h) for h in header_cells]
            rows = _csv_rows(handle, delimiter, header)
            decimal_comma = delimiter != ","
        kind = _kind_for(path, header, kind_name)
    except BaseException:
        handle.close()
        raise
    ignored = [h for h in header if h not in kind.columns]
    return Export(path, kind, header, decimal_comma, rows, ignored, handle)


@dataclass
class Batch:
    """Validated rows: the good rows' tuples and line numbers, the bad rows with reasons,
    how many rows were read, and the kind's summary of the good tuples (sales lines:
    what they add to daily totals and hourly transactions)."""

    values: list[tuple]
    lines: list[int]
    bad: list[Bad]
    rows_read: int
    summary: Any = None

    def summarize(self, kind: Kind) -> Any:
        if self.summary is None and kind.summarize is not None:
            self.summary = kind.summarize(self.values)
        return self.summary


def validate_batches(
    rows: Iterable[RawRow],
    kind: Kind,
    ctx: RowContext,
    batch_rows: int,
    *,
    header: Sequence[str] | None = None,
    summarize: bool = True,
) -> Iterator[Batch]:
    """Validate rows into batches of at most ``batch_rows`` rows.

    Rows given as sequences are in ``header`` order; mappings need no header. With
    ``summarize=False`` the kind's summary is left for the consumer to compute.
    """
    rows = iter(rows)
    # A small first batch gets the writer going sooner when validation runs in a child.
    size = min(batch_rows, 2_000)
    while chunk := list(islice(rows, size)):
        yield _validate_chunk(chunk, kind, ctx, header, summarize)
        size = batch_rows


def _validate_chunk(
    chunk: list[RawRow],
    kind: Kind,
    ctx: RowContext,
    header: Sequence[str] | None,
    summarize: bool,
) -> Batch:
    def mapping(row: Any) -> Mapping[str, Any]:
        if header is None or isinstance(row, Mapping):
            return row
        return dict(zip(header, row, strict=False))

    # Whole-chunk steps run as C-level maps; per-row Python only for rows that need it.
    lines = list(map(_FIRST, chunk))
    rows = list(map(_SECOND, chunk))
    bad: list[Bad] = []
    if list(map(_THIRD, chunk)).count(None) != len(chunk) or None in rows:
        bad = [
            (n, None if row is None else mapping(row), "malformed_row", problem or "")
            for n, row, problem in chunk
            if problem is not None or row is None
        ]
        lines = [n for n, row, problem in chunk if problem is None and row is not None]
        rows = [row for _, row, problem in chunk if problem is None and row is not None]
    quick: list[tuple | None] = [None] * len(rows)
    if kind.validate_many is not None and rows:
        if header is not None:  # sequences: transposing is one C call
            transposed = list(zip(*rows, strict=True))
            columns = {c: transposed[i] for i, c in enumerate(header) if c in kind.columns}
        else:
            columns = {c: [row.get(c) for row in rows] for c in kind.columns}
        quick = kind.validate_many(columns, ctx)
    if None not in quick:
        values: list[tuple] = quick  # type: ignore[assignment]
    else:
        values, good_lines = [], []
        validate = kind.validate
        for line_no, row, quick_values in zip(lines, rows, quick, strict=True):
            if quick_values is None:
                try:
                    quick_values = validate(mapping(row), ctx)
                except BadRow as exc:
                    bad.append((line_no, mapping(row), exc.reason, exc.detail))
                    continue
            values.append(quick_values)
            good_lines.append(line_no)
        lines = good_lines
    bad.sort(key=_FIRST)
    batch = Batch(values, lines, bad, len(chunk))
    if summarize:
        batch.summarize(kind)
    return batch


_FIRST, _SECOND, _THIRD = itemgetter(0), itemgetter(1), itemgetter(2)


# -- validation in a child process ----------------------------------------------------------
# The child is a plain `python -m edge_agent.mirror.validate_child` process talking pickles over its
# stdin/stdout: unlike multiprocessing's spawn it never re-imports the caller's main module,
# and unlike fork it is safe in a process that runs threads.


def child_main() -> None:
    """The child's side: read (path, kind, context, batch size), send batches back."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    # Anything printed by accident must not corrupt the pickle stream.
    sys.stdout = sys.stderr
    try:
        path, kind_name, ctx, batch_rows = pickle.load(source)
        with open_export(Path(path), kind_name) as export:
            ctx.decimal_comma = export.decimal_comma
            # The parent summarizes: it has spare time while this process parses.
            for batch in validate_batches(
                export.rows, export.kind, ctx, batch_rows, header=export.header, summarize=False
            ):
                batch.bad = [(n, _kept(export.kind, row), r, d) for n, row, r, d in batch.bad]
                pickle.dump(("batch", batch), sink, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(("done", None), sink)
    except BaseException as exc:  # reported to the parent, which rolls back
        pickle.dump(("error", f"{type(exc).__name__}: {exc}"), sink)
    sink.flush()


def _kept(kind: Kind, row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Only the kind's own columns cross to the parent: nothing sensitive leaves the child."""
    if row is None:
        return None
    return {c: row[c] for c in kind.columns if c in row}


def validate_in_child(path: Path, kind: Kind, ctx: RowContext, batch_rows: int) -> Iterator[Batch]:
    """Like :func:`validate_batches` over a file, with reading and validation in a child
    process while the caller writes the batches it yields."""
    child = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.mirror.validate_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        pickle.dump((str(path), kind.name, ctx, batch_rows), child.stdin)
        child.stdin.close()
        while True:
            try:
                tag, payload = pickle.load(child.stdout)
            except (EOFError, pickle.UnpicklingError):
                raise IngestError(
                    f"{path}: the validating child process died (exit code {child.wait()})",
                    hint="check memory and the file; nothing was written",
                ) from None
            if tag == "done":
                return
            if tag == "error":
                raise IngestError(f"{path}: {payload}", hint="nothing was written")
            yield payload
    finally:
        child.stdout.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
