"""Validated ingest of POS exports into the store mirror.

One file is one SQLite transaction: its good rows, its quarantined rows, its
entry in ``ingest_files`` and its audit record commit together or not at all.
A file already ingested (same sha256) is skipped and nothing is written, so
re-importing changes nothing. Bad rows go to ``quarantine`` with file, line
number and reason; rows quarantined for an unknown SKU are re-processed when a
product file brings that SKU.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_agent import audit
from edge_agent.errors import StoreConflictError
from edge_agent.mirror import hours, retention, windows
from edge_agent.mirror.db import Mirror
from edge_agent.mirror.exports import (
    Batch,
    Export,
    RawRow,
    open_export,
    validate_batches,
    validate_in_child,
)
from edge_agent.mirror.kinds import KINDS, BadRow, Kind, LineRollup, RowContext
from storeedge.headers import normalize_header
from storeedge.v1 import audit_pb2

__all__ = ["IngestReport", "Ingestor"]

# The order in which several files given together are ingested: what others refer to first.
KIND_ORDER = ("store", "calendar", "products", "promotions")
# Files at least this large are read and validated in a child process while this one writes.
PARALLEL_MIN_BYTES = 4 << 20


@dataclass
class IngestReport:
    """What one file (or generated source) did to the mirror."""

    name: str
    kind: str
    sha256: str | None = None
    file_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_already_present: int = 0
    rows_released: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    ignored_columns: list[str] = field(default_factory=list)
    skipped: str | None = None
    audit_record: str | None = None

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "kind": self.kind,
            "sha256": self.sha256,
            "file_id": self.file_id,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_already_present": self.rows_already_present,
            "rows_quarantined": self.rows_quarantined,
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "rows_released": self.rows_released,
            "ignored_columns": self.ignored_columns,
            "skipped": self.skipped,
            "audit_record": self.audit_record,
        }


def _insert_quarantine(
    mirror: Mirror,
    report: IngestReport,
    kind: Kind,
    line_no: int,
    kept: Mapping[str, Any],
    reason: str,
    detail: str,
) -> None:
    """One quarantined row: where it came from, why, and its known columns only."""
    sku = kept.get("sku")
    mirror.conn.execute(
        "INSERT INTO quarantine(file_id, file_name, line_no, kind, reason, detail, sku, raw, "
        "quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (report.file_id, report.name, line_no, kind.name, reason, detail,
         str(sku).strip() if sku is not None else None, json.dumps(kept, default=str),
         mirror.clock.now().isoformat()),
    )  # fmt: skip
    report.quarantined[reason] += 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Ingestor:
    """Loads exports into one mirror. Not thread-safe; one per process is plenty."""

    def __init__(
        self,
        mirror: Mirror,
        *,
        skew_tolerance_s: float = 300.0,
        batch_rows: int = 20_000,
        parallel_min_bytes: int = PARALLEL_MIN_BYTES,
    ) -> None:
        self.mirror = mirror
        self.skew_tolerance_s = skew_tolerance_s
        self.batch_rows = batch_rows
        self.parallel_min_bytes = parallel_min_bytes
        self._known_skus: set[str] | None = None

    # -- public API -------------------------------------------------------------------------
    def ingest_files(self, paths: Sequence[Path], kind: str | None = None) -> list[IngestReport]:
        """Ingest several files: store, calendar and products first, then the rest.

        Every file's header is checked before anything is written.
        """
        exports = [open_export(Path(p), kind) for p in paths]
        order = {name: i for i, name in enumerate(KIND_ORDER)}
        exports.sort(key=lambda e: order.get(e.kind.name, len(order)))
        try:
            return [self._ingest_export(export) for export in exports]
        finally:
            for export in exports:
                export.close()

    def ingest_file(self, path: Path, kind: str | None = None) -> IngestReport:
        with open_export(Path(path), kind) as export:
            return self._ingest_export(export)

    def ingest_rows(
        self, kind_name: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, source: str
    ) -> IngestReport:
        """Ingest generated rows (the simulator's path) exactly like a file's rows."""
        kind = KINDS[kind_name]
        columns = [normalize_header(h) for h in header]
        numbered: Iterator[RawRow] = ((i, values, None) for i, values in enumerate(rows, start=1))
        report = IngestReport(
            name=source,
            kind=kind.name,
            ignored_columns=[c for c in columns if c not in kind.columns],
        )
        with self.mirror.transaction():
            self._begin(kind, report)
            if kind.name == "store":
                self._load_store(numbered, report, columns)
            else:
                ctx = self._context(decimal_comma=False)
                batches = validate_batches(numbered, kind, ctx, self.batch_rows, header=columns)
                self._load(kind, batches, report)
            self._finish(kind, report)
        return report

    # -- the transaction of one file ------------------------------------------------------
    def _ingest_export(self, export: Export) -> IngestReport:
        sha = _sha256(export.path)
        kind = export.kind
        report = IngestReport(
            name=str(export.path),
            kind=kind.name,
            sha256=sha,
            ignored_columns=export.ignored_columns,
        )
        previous = self.mirror.conn.execute(
            "SELECT file_id, ingested_at FROM ingest_files WHERE sha256 = ?", (sha,)
        ).fetchone()
        if previous is not None:
            report.file_id = previous[0]
            report.skipped = f"already ingested as file {previous[0]} at {previous[1]}"
            return report
        with self.mirror.transaction():
            self._begin(kind, report)
            if kind.name == "store":
                self._load_store(export.rows, report, export.header)
            else:
                ctx = self._context(export.decimal_comma)
                if export.path.stat().st_size >= self.parallel_min_bytes:
                    batches = validate_in_child(export.path, kind, ctx, self.batch_rows)
                else:
                    batches = validate_batches(
                        export.rows, kind, ctx, self.batch_rows, header=export.header
                    )
                self._load(kind, batches, report)
            self._finish(kind, report)
        return report

    def _begin(self, kind: Kind, report: IngestReport) -> None:
        report.file_id = self.mirror.conn.execute(
            "INSERT INTO ingest_files(name, sha256, kind, ingested_at) VALUES (?, ?, ?, ?)",
            (report.name, report.sha256, kind.name, self.mirror.clock.now().isoformat()),
        ).lastrowid

    def _load(
        self,
        kind: Kind,
        batches: Iterable[Batch],
        report: IngestReport,
    ) -> None:
        writer = _SalesLineWriter(self.mirror, report) if kind.name == "sales_lines" else None
        for batch in batches:
            report.rows_read += batch.rows_read
            for line_no, row, reason, detail in batch.bad:
                self._quarantine(report, kind, line_no, row, reason, detail)
            if not batch.values:
                continue
            if writer is not None:
                writer.write(batch.values, batch.lines, batch.summarize(kind))
            else:
                self._upsert(kind, batch.values, report)
        hour_sums = []
        if writer is not None:
            writer.refresh_rollups()
            hour_sums.append(writer.rollup.hours)
        if kind.name == "products":
            hour_sums += self._after_products(report)
        # The sale lines this file (or the quarantine it released) brought, per hour.
        hours.fold(self.mirror, report.file_id, hour_sums)
        # The daily rows this file wrote (triggers noted them) reach the packed windows
        # in the file's own transaction.
        windows.fold(self.mirror)

    def _finish(self, kind: Kind, report: IngestReport) -> None:
        summary = audit_pb2.IngestSummary(
            file_name=report.name,
            sha256=report.sha256 or "",
            kind=kind.name,
            rows_read=report.rows_read,
            rows_loaded=report.rows_loaded,
            rows_quarantined=report.rows_quarantined,
            rows_already_present=report.rows_already_present,
            quarantined_by_reason=dict(report.quarantined),
            rows_released=report.rows_released,
        )
        appended = audit.append(
            self.mirror,
            audit_pb2.AUDIT_EVENT_TYPE_INGEST,
            subject_id=f"file:{report.file_id}",
            summary=(
                f"ingested {kind.name} from {Path(report.name).name}: {report.rows_read} rows, "
                f"{report.rows_loaded} loaded, {report.rows_quarantined} quarantined"
            ),
            ingest=summary,
        )
        report.audit_record = appended.record_id
        self.mirror.conn.execute(
            "UPDATE ingest_files SET rows_read = ?, rows_loaded = ?, rows_quarantined = ?, "
            "rows_already_present = ?, audit_seq = ? WHERE file_id = ?",
            (
                report.rows_read,
                report.rows_loaded,
                report.rows_quarantined,
                report.rows_already_present,
                appended.seq,
                report.file_id,
            ),
        )

    # -- helpers ------------------------------------------------------------------------------
    # -- helpers ------------------------------------------------------------------------------
    def _context(self, decimal_comma: bool) -> RowContext:
        store = self.mirror.require_store()
        if self._known_skus is None:
            self._known_skus = self.mirror.known_skus()
        return RowContext(
            store_id=store.store_id,
            tz=store.tz,
            now=self.mirror.clock.now(),
            skew_tolerance_s=self.skew_tolerance_s,
            known_skus=self._known_skus,
            decimal_comma=decimal_comma,
        )

    def _upsert(self, kind: Kind, values: list[tuple], report: IngestReport) -> None:
        """Keyed facts: insert, or replace when the content differs (a correction)."""
        if kind.name == "products":
            assert self._known_skus is not None
            self._known_skus.update(v[0] for v in values)
        cursor = self.mirror.conn.executemany(kind.upsert_sql(), values)
        # rowcount counts inserted rows and rows whose content changed; the rest were identical.
        report.rows_loaded += cursor.rowcount
        report.rows_already_present += len(values) - cursor.rowcount

    def _quarantine(
        self,
        report: IngestReport,
        kind: Kind,
        line_no: int,
        row: Mapping[str, Any] | None,
        reason: str,
        detail: str,
    ) -> None:
        kept = {c: row[c] for c in kind.columns if row is not None and c in row}
        _insert_quarantine(self.mirror, report, kind, line_no, kept, reason, detail)

    def _load_store(
        self, rows: Iterable[RawRow], report: IngestReport, header: Sequence[str]
    ) -> None:
        kind = KINDS["store"]
        current = self.mirror.store()
        ctx = RowContext(
            store_id=current.store_id if current else "",
            tz=current.tz if current else _UTC_ZONE,
            now=self.mirror.clock.now(),
            skew_tolerance_s=self.skew_tolerance_s,
            known_skus=set(),
        )
        for line_no, raw, problem in rows:
            report.rows_read += 1
            row = (
                raw
                if raw is None or isinstance(raw, Mapping)
                else dict(zip(header, raw, strict=False))
            )
            if problem is not None or row is None:
                self._quarantine(report, kind, line_no, row, "malformed_row", problem or "")
                continue
            try:
                store_id, zone, name, weekday, opens, closes = kind.validate(row, ctx)
                self.mirror.set_store(store_id, zone, name)
            except BadRow as bad:
                self._quarantine(report, kind, line_no, row, bad.reason, bad.detail)
                continue
            except StoreConflictError as exc:
                reason = "wrong_store" if "belongs to store" in exc.message else "bad_value"
                self._quarantine(report, kind, line_no, row, reason, exc.message)
                continue
            if opens is not None or closes is not None:
                days = range(7) if weekday is None else (weekday,)
                self.mirror.conn.executemany(
                    "INSERT INTO store_hours(weekday, opens, closes) VALUES (?, ?, ?) "
                    "ON CONFLICT(weekday) DO UPDATE SET opens = excluded.opens, "
                    "closes = excluded.closes",
                    [(d, opens, closes) for d in days],
                )
            report.rows_loaded += 1

    def _after_products(self, report: IngestReport) -> list[dict]:
        """Re-process rows quarantined for an unknown SKU that this file brought; returns
        the hourly sums of the sales lines released."""
        assert self._known_skus is not None
        conn = self.mirror.conn
        waiting = conn.execute(
            "SELECT id, kind, raw FROM quarantine WHERE reason = 'unknown_sku' "
            "AND released_at IS NULL AND sku IN (SELECT sku FROM products) ORDER BY id"
        ).fetchall()
        if not waiting:
            return []
        ctx = self._context(decimal_comma=False)
        now = self.mirror.clock.now().isoformat()
        by_kind: dict[str, list[tuple[int, Mapping[str, Any], tuple]]] = {}
        released_hours = []
        for quarantine_id, kind_name, raw in waiting:
            kind = KINDS[kind_name]
            row = json.loads(raw)
            try:
                values = kind.validate(row, ctx)
            except BadRow as bad:  # still bad, for another reason now: say so
                conn.execute(
                    "UPDATE quarantine SET reason = ?, detail = ? WHERE id = ?",
                    (bad.reason, bad.detail, quarantine_id),
                )
                continue
            by_kind.setdefault(kind_name, []).append((quarantine_id, row, values))
        for kind_name, batch in by_kind.items():
            kind = KINDS[kind_name]
            released = _Released(report.file_id)
            if kind.name == "sales_lines":
                writer = _SalesLineWriter(self.mirror, released)
                writer.write([v for _, _, v in batch], [qid for qid, _, _ in batch])
                writer.refresh_rollups()
                released_hours.append(writer.rollup.hours)
            else:
                conn.executemany(kind.upsert_sql(), [v for _, _, v in batch])
            conn.executemany(
                "UPDATE quarantine SET released_at = ? WHERE id = ?",
                [(now, qid) for qid, _, _ in batch],
            )
            report.rows_released += len(batch)
        return released_hours


class _Released(IngestReport):
    """Counts for rows released from quarantine (reported through the product file)."""

    def __init__(self, file_id: int | None) -> None:
        super().__init__(name="quarantine", kind="released", file_id=file_id)


class _SalesLineWriter:
    """Sales lines are immutable facts keyed by line id: never overwritten.

    A line id already in the mirror with the same content is already present;
    with other content, or twice in one file, it goes to quarantine. Because
    only new lines are ever added, daily totals and hourly transactions are
    maintained by adding what each file brings (no rescans of the day).
    """

    def __init__(self, mirror: Mirror, report: IngestReport) -> None:
        self.mirror = mirror
        self.report = report
        self.rollup = LineRollup()
        # Days before this had their lines pruned (retention.py): a line for them cannot be
        # told from one already counted, so it is refused rather than counted twice.
        self.horizon = retention.lines_horizon(mirror)

    def write(
        self, batch: list[tuple], lines: list[int], summary: LineRollup | None = None
    ) -> None:
        """Write validated lines (``lines`` are their line numbers in the file)."""
        conn = self.mirror.conn
        file_id = self.report.file_id
        if self.horizon is not None and any(values[2] < self.horizon for values in batch):
            kept = [i for i, values in enumerate(batch) if values[2] >= self.horizon]
            for i in sorted(set(range(len(batch))) - set(kept)):
                self._reject(lines[i], batch[i], f"business day {batch[i][2]} is before the "
                             f"retention horizon {self.horizon}: its lines were rolled up and "
                             "pruned; correct it with a daily_sales export",
                             reason="beyond_retention")  # fmt: skip
            batch, lines, summary = [batch[i] for i in kept], [lines[i] for i in kept], None
        ids = [values[0] for values in batch]
        if summary is not None and len(set(ids)) == len(ids):
            # The common case, every line new: insert straight away; a line id already in
            # the mirror makes the insert fail, and the batch is sifted line by line instead.
            conn.execute("SAVEPOINT new_lines")
            try:
                conn.executemany(_INSERT_LINE, [(*values, file_id) for values in batch])
            except sqlite3.IntegrityError:
                conn.execute("ROLLBACK TO new_lines")
                conn.execute("RELEASE new_lines")
            else:
                conn.execute("RELEASE new_lines")
                self.rollup.merge(summary)
                self.report.rows_loaded += len(batch)
                return
        existing = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT line_id, ts_utc, sku, qty, unit_price, basket_id, line_type, file_id "
                "FROM sales_lines WHERE line_id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            )
        }
        fresh = self._sift(batch, lines, existing)
        conn.executemany(_INSERT_LINE, fresh)
        self.report.rows_loaded += len(fresh)

    def _sift(
        self, batch: list[tuple], lines: list[int], existing: dict[str, tuple]
    ) -> list[tuple]:
        """Keep new lines; count identical ones as present; quarantine conflicting ids."""
        fresh: list[tuple] = []
        seen: set[str] = set()
        file_id = self.report.file_id
        for line_no, values in zip(lines, batch, strict=True):
            line_id = values[0]
            old = existing.get(line_id)
            if line_id in seen or (old is not None and old[-1] == file_id):
                self._reject(line_no, values, f"line_id {line_id!r} appears twice in this file")
                continue
            seen.add(line_id)
            if old is not None:
                if old[:-1] == (values[1], values[4], values[5], values[6], values[7], values[8]):
                    self.report.rows_already_present += 1
                else:
                    self._reject(
                        line_no,
                        values,
                        f"line_id {line_id!r} is already in the mirror with other content",
                    )
                continue
            fresh.append((*values, file_id))
            self.rollup.add(values)
        return fresh

    def _reject(
        self, line_no: int, values: tuple, detail: str, reason: str = "duplicate_line_id"
    ) -> None:
        kept = dict(zip(_LINE_COLUMNS, values, strict=True))  # as validated (normalized)
        _insert_quarantine(self.mirror, self.report, KINDS["sales_lines"], line_no, kept,
                           reason, detail)  # fmt: skip

    def refresh_rollups(self) -> None:
        """Add this file's lines to daily totals and hourly transactions."""
        conn = self.mirror.conn
        # Rows from a daily export (source 'export') are the POS's own totals: left alone.
        conn.executemany(
            "INSERT INTO daily_sales(sku, date, units, returns, sales_value, priced_units, price, "
            "source) VALUES (?, ?, ?, ?, ?, ?, ? / NULLIF(?, 0), 'lines') "
            "ON CONFLICT(sku, date) DO UPDATE SET units = units + excluded.units, "
            "returns = COALESCE(returns, 0) + excluded.returns, "
            "sales_value = COALESCE(sales_value, 0) + excluded.sales_value, "
            "priced_units = COALESCE(priced_units, 0) + excluded.priced_units, "
            "price = (COALESCE(sales_value, 0) + excluded.sales_value) "
            "  / NULLIF(COALESCE(priced_units, 0) + excluded.priced_units, 0) "
            "WHERE daily_sales.source = 'lines'",
            [
                (sku, day, t[0], t[1], t[2], t[3], t[2], t[3])
                for (sku, day), t in self.rollup.daily.items()
            ],
        )
        if not self.rollup.baskets:
            return
        # A basket counts once per hour. Hours that already held lines before this file may
        # share baskets with it, so those few are recounted from the lines themselves.
        touched = json.dumps([[day, hour] for day, hour in self.rollup.baskets])
        recount = set(
            conn.execute(
                "SELECT date, hour FROM store_hourly WHERE source = 'lines' AND (date, hour) IN "
                "(SELECT value ->> 0, value ->> 1 FROM json_each(?))",
                (touched,),
            ).fetchall()
        )
        rows = []
        for (day, hour), members in self.rollup.baskets.items():
            if (day, hour) in recount:
                count = conn.execute(
                    "SELECT COUNT(DISTINCT COALESCE(basket_id, line_id)) FROM sales_lines "
                    "WHERE business_date = ? AND local_hour = ? AND line_type = 'sale'",
                    (day, hour),
                ).fetchone()[0]
            else:
                count = len(members)
            rows.append((day, hour, count))
        conn.executemany(
            "INSERT INTO store_hourly(date, hour, transactions, source) VALUES (?, ?, ?, 'lines') "
            "ON CONFLICT(date, hour) DO UPDATE SET transactions = excluded.transactions "
            "WHERE store_hourly.source = 'lines'",
            rows,
        )


_INSERT_LINE = (
    "INSERT INTO sales_lines(line_id, ts_utc, business_date, local_hour, sku, qty, unit_price, "
    "basket_id, line_type, file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_LINE_COLUMNS = (
    "line_id",
    "ts_utc",
    "business_date",
    "local_hour",
    "sku",
    "qty",
    "unit_price",
    "basket_id",
    "line_type",
)
_UTC_ZONE = __import__("zoneinfo").ZoneInfo("UTC")
