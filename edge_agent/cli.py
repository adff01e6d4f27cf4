"""`edge-agent`: the store agent's command line, a thin layer over the library.

Every command prints a readable report, or with ``--json`` exactly one JSON
document on stdout; progress and logs go to stderr. Exit codes: 0 ok, 1 the
command ran and found a problem (e.g. a broken audit chain), 2 bad usage or an
error that stopped the command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from edge_agent import __version__, audit
from edge_agent.config import EdgeSettings, load_settings
from edge_agent.errors import ConfigError, EdgeAgentError
from edge_agent.mirror import Ingestor, Mirror, open_mirror
from edge_agent.mirror.kinds import KINDS, QUARANTINE_REASONS
from edge_agent.mirror.status import mirror_status
from storeedge import failpoints
from storeedge.errors import KitError
from storeedge.link import add_link_flags
from storeedge.v1 import audit_pb2

__all__ = ["build_parser", "main"]

log = logging.getLogger("edge_agent")


def _emit(args: argparse.Namespace, document: Any, text: Callable[[], str]) -> None:
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text() + "\n")


def _open(args: argparse.Namespace, settings: EdgeSettings, *, create: bool = False) -> Mirror:
    if settings.db is None:
        raise EdgeAgentError("no mirror given", hint="pass --db PATH (or set db in the config)")
    return open_mirror(settings.db, create=create)


# -- commands ----------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace, settings: EdgeSettings) -> int:
    anchor = None
    if (args.chain_epoch is None) != (args.chain_anchor is None):
        raise ConfigError("--chain-epoch and --chain-anchor go together",
                          hint="copy both from `cloud-hub stores replace`")  # fmt: skip
    if args.chain_anchor is not None:
        try:
            anchor = audit.Anchor.parse(args.chain_epoch, args.chain_anchor)
        except ValueError as exc:
            raise ConfigError(f"--chain-anchor: {exc}",
                              hint="copy it from `cloud-hub stores replace`") from None  # fmt: skip
    with _open(args, settings, create=True) as mirror, mirror.transaction():
        if anchor is not None:
            try:
                audit.start_epoch(mirror, anchor)
            except ValueError as exc:
                raise ConfigError(f"--chain-anchor: {exc}", hint="init a new --db") from None
        changed = mirror.set_store(args.store, args.tz, args.name)
        if anchor is not None:
            audit.append(
                mirror,
                audit_pb2.AUDIT_EVENT_TYPE_CHAIN_EPOCH_STARTED,
                subject_id=args.store,
                summary=f"new hardware: chain epoch {anchor.epoch} continues the chain the hub "
                f"verified up to seq {anchor.seq}",
                attributes={"epoch": str(anchor.epoch), "anchor_seq": str(anchor.seq),
                            "anchor_hash": anchor.hash.hex()},
            )  # fmt: skip
        if changed:
            audit.append(
                mirror,
                audit_pb2.AUDIT_EVENT_TYPE_STORE_CONFIGURED,
                subject_id=args.store,
                summary=f"store {args.store} configured in time zone {args.tz}",
                attributes={"time_zone": args.tz, "name": args.name or ""},
            )
        store = mirror.require_store()
    doc = {
        "store": store.store_id,
        "time_zone": store.time_zone,
        "db": str(settings.db),
        "changed": changed,
    }
    _emit(
        args,
        doc,
        lambda: (
            f"mirror {settings.db}: store {store.store_id} ({store.time_zone})"
            + ("" if changed else ", unchanged")
        ),
    )
    return 0


def cmd_ingest(args: argparse.Namespace, settings: EdgeSettings) -> int:
    with _open(args, settings) as mirror:
        ingestor = Ingestor(
            mirror,
            skew_tolerance_s=settings.clock_skew_tolerance_s,
            batch_rows=settings.ingest_batch_rows,
        )
        reports = ingestor.ingest_files([Path(p) for p in args.files], kind=args.kind)
    docs = [r.as_dict() for r in reports]

    def text() -> str:
        lines = []
        for r in reports:
            if r.skipped:
                lines.append(f"{r.name} ({r.kind}): skipped, {r.skipped}")
                continue
            lines.append(
                f"{r.name} ({r.kind}): {r.rows_read} rows read, {r.rows_loaded} loaded, "
                f"{r.rows_already_present} already present, "
                f"{r.rows_quarantined} quarantined"
            )
            for reason, count in sorted(r.quarantined.items()):
                lines.append(f"    quarantined {reason:<20} {count:>8}")
            if r.rows_released:
                lines.append(f"    released from quarantine   {r.rows_released:>8}")
            if r.ignored_columns:
                lines.append(f"    ignored columns (never stored): {', '.join(r.ignored_columns)}")
        return "\n".join(lines)

    _emit(args, {"files": docs}, text)
    return 0


def cmd_formats(args: argparse.Namespace, settings: EdgeSettings) -> int:
    doc = {
        name: {
            "required": list(k.required),
            "optional": list(k.columns[len(k.required) :]),
            "description": k.description,
            "example": k.example,
        }
        for name, k in KINDS.items()
    }

    def text() -> str:
        out = []
        for name, k in KINDS.items():
            out.append(f"{name}: {k.description}")
            out.append(f"    required: {', '.join(k.required)}")
            optional = k.columns[len(k.required) :]
            if optional:
                out.append(f"    optional: {', '.join(optional)}")
            out.extend("    | " + line for line in k.example.splitlines())
        out.append("\nquarantine reasons:")
        out.extend(f"    {code:<18} {meaning}" for code, meaning in QUARANTINE_REASONS.items())
        return "\n".join(out)

    _emit(args, {"kinds": doc, "quarantine_reasons": QUARANTINE_REASONS}, text)
    return 0


def cmd_quarantine(args: argparse.Namespace, settings: EdgeSettings) -> int:
    sql = (
        "SELECT id, file_name, line_no, kind, reason, detail, raw, released_at FROM quarantine "
        "WHERE (? IS NULL OR reason = ?) AND (? OR released_at IS NULL) "
        "ORDER BY file_id, line_no LIMIT ?"
    )
    with _open(args, settings) as mirror:
        rows = mirror.conn.execute(sql, (args.reason, args.reason, args.all, args.limit)).fetchall()
    items = [
        {
            "id": r[0],
            "file": r[1],
            "line": r[2],
            "kind": r[3],
            "reason": r[4],
            "detail": r[5],
            "row": json.loads(r[6]),
            "released_at": r[7],
        }
        for r in rows
    ]
    _emit(
        args,
        {"rows": items},
        lambda: (
            "\n".join(
                f"{i['file']}:{i['line']}  {i['kind']:<12} {i['reason']:<18} {i['detail']}"
                + (f"  (released {i['released_at']})" if i["released_at"] else "")
                for i in items
            )
            or "no quarantined rows"
        ),
    )
    return 0


def cmd_simulate(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent.simulation import run_simulation  # numpy-heavy; only when asked

    end = date.fromisoformat(args.end) if args.end else None
    with _open(args, settings, create=True) as mirror:
        result = run_simulation(
            mirror,
            store_id=args.store,
            skus=args.skus,
            days=args.days,
            seed=args.seed,
            end_date=end,
            time_zone=args.tz,
            skew_tolerance_s=settings.clock_skew_tolerance_s,
            pos_export=Path(args.pos_export) if args.pos_export else None,
            bad_rows=args.bad_rows,
            progress=True,  # progress goes to stderr, so --json output stays one document
        )
    _emit(args, result, lambda: "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent import sync

    with _open(args, settings) as mirror:
        hub_ack = sync.hub_chain_ack(mirror)
        acknowledged = None if hub_ack is None else (hub_ack["seq"], bytes.fromhex(hub_ack["hash"]))
        report = audit.verify(mirror, acknowledged)
    problem = report.problem
    doc = {
        "ok": report.ok,
        "length": report.length,
        "head": report.head.hex(),
        "hub_verified": hub_ack,
        "first_bad": None
        if problem is None
        else {"seq": problem.seq, "record_id": problem.record_id, "reason": problem.reason},
    }
    if problem is None:
        text = f"audit chain OK: {report.length} records, head {report.head.hex()}"
    else:
        text = (
            f"audit chain BROKEN at record {problem.record_id} (seq {problem.seq}): "
            f"{problem.reason}\n{report.length} records before it verify"
        )
    _emit(args, doc, lambda: text)
    if problem is not None and not args.json:
        print(f"error: first bad record {problem.record_id}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_audit_show(args: argparse.Namespace, settings: EdgeSettings) -> int:
    with _open(args, settings) as mirror:
        length, _ = audit.chain_head(mirror)
        since = max(0, length - args.last)
        records = list(audit.iter_records(mirror, since_seq=since))
    items = [
        {
            "seq": seq,
            "id": f"{r.id.store_id}:audit:{r.id.sequence}",
            "event": audit.event_name(r.event_type),
            "recorded_at": r.recorded_at.ToJsonString(),
            "actor": r.actor,
            "summary": r.summary,
        }
        for seq, r in records
    ]
    _emit(
        args,
        {"records": items},
        lambda: (
            "\n".join(
                f"{i['seq']:>6}  {i['recorded_at']}  {i['event']:<16} {i['summary']}" for i in items
            )
            or "audit log is empty"
        ),
    )
    return 0


def cmd_status(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent import sync
    from edge_agent.model_updates import serving_versions

    with _open(args, settings) as mirror:
        doc = mirror_status(mirror)
        doc["sync"] = sync.sync_status(mirror)
        doc["hub_chain_ack"] = sync.hub_chain_ack(mirror)
        doc["models"] = serving_versions(mirror, settings)
        doc["outbox"]["bytes"] = sync.outbox_bytes(mirror)
        alarm = sync.budget_alarm(doc["outbox"]["bytes"], settings.outbox_budget_mb)
        doc["alarms"] = {"outbox_budget": alarm} if alarm else {}

    def text() -> str:
        lines = [
            f"store      {doc['store']} ({doc['time_zone']})",
            f"mirror     {settings.db} (schema v{doc['schema_version']})",
            f"chain      {doc['chain_length']} records, head {doc['chain_head']}",
            "coverage",
        ]
        for table, cov in doc["coverage"].items():
            span = f"{cov['first']} .. {cov['last']}" if cov["first"] else "-"
            lines.append(f"    {table:<20} {cov['rows']:>10} rows  {span}")
        q = doc["quarantine"]
        lines.append(f"quarantine {q['open']} open, {q['released']} released")
        lines.append("models     " + ", ".join(f"{n} {v}" for n, v in doc["models"].items()))
        for alarm in doc["alarms"].values():
            lines.append(f"ALARM      {alarm}")
        lines.append("sync       committed / acked by the hub's stream / pending")
        for key, counts in doc["sync"].items():
            lines.append(f"    {key:<20} {counts['committed']:>10} {counts['acked']:>10} "
                         f"{counts['pending']:>10}")  # fmt: skip
        lines.extend(f"    {reason:<20} {n:>8}" for reason, n in q["open_by_reason"].items())
        if doc["last_cycle"]:
            last = doc["last_cycle"]
            lines.append(f"last cycle {last['as_of']}: {last['decisions']} decisions")
        for kind, states in doc["decisions"].items():
            counts = ", ".join(f"{state} {n}" for state, n in states.items())
            lines.append(f"decisions  {kind}: {counts}")
        lines.append(f"outbox     {doc['outbox']['pending']} waiting, {doc['outbox']['rows']} rows")
        return "\n".join(lines)

    _emit(args, doc, text)
    return 0


def cmd_run(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent.daemon import run_agent

    return run_agent(settings)


def cmd_sync(args: argparse.Namespace, settings: EdgeSettings) -> int:
    import asyncio

    from edge_agent import outcomes, sync
    from storeedge import link, subjects

    async def drain_once() -> sync.DrainReport:
        with _open(args, settings) as mirror:
            store_id = mirror.require_store().store_id
            options = link.LinkOptions.from_settings(
                settings, f"edge-agent-sync {store_id}", error=ConfigError,
                hint="see `edge-agent sync --help`",
                inbox_prefix=subjects.store_inbox_prefix(store_id),
            )  # fmt: skip
            refusals: list[str] = []

            def note(kind: str, detail: str) -> None:
                if kind == "error" and link.refusal(detail):
                    refusals.append(detail)

            client = await link.connect(options, on_event=note)
            try:
                while outcomes.emit_due(mirror).days:
                    pass  # finished days first, so they go out with this drain
                return await sync.drain(
                    mirror,
                    client.jetstream(),
                    batch_size=settings.sync_batch,
                    ack_timeout_s=settings.ack_timeout_s,
                )
            except EdgeAgentError as exc:
                if refusals:  # say why no ack came: the server refused the publishes
                    raise link.refused_error(refusals[-1]) from exc
                raise
            finally:
                await client.close()

    report = asyncio.run(drain_once())
    doc = report.as_dict()
    _emit(args, doc, lambda: f"sent {doc['acked']} records ({doc['duplicates']} already there): "
          + ", ".join(f"{k} {v}" for k, v in doc["by_type"].items()))  # fmt: skip
    return 0


def cmd_cycle(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent.cycle import load_models, run_cycle
    from edge_agent.policy import load_policy
    from models import BOOTSTRAP_DIR

    policy = load_policy(settings.policy_file)
    models = load_models(settings.models_dir or BOOTSTRAP_DIR, settings.trusted_keys())
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    with _open(args, settings) as mirror:
        result = run_cycle(mirror, models, policy, as_of)
    doc = result.as_dict()

    def text() -> str:
        if result.closed:
            return f"{doc['as_of']}: the store is closed, no decisions"
        counts: dict[tuple[str, str], int] = {}
        for d in doc["decisions"]:
            counts[(d["kind"], d["state"])] = counts.get((d["kind"], d["state"]), 0) + 1
        lines = [f"cycle {doc['as_of']}: {len(doc['decisions'])} decisions in {doc['seconds']} s"
                 f" ({doc['expired']} expired)"]  # fmt: skip
        lines += [
            f"    {kind:<11} {state:<9} {n:>6}" for (kind, state), n in sorted(counts.items())
        ]
        if "fallback" in doc["shelf_checks"]:  # say why the model did not choose the checks
            lines.append(f"    shelf checks by the rule {doc['shelf_checks']['model']}: "
                         f"{doc['shelf_checks']['fallback']}")  # fmt: skip
        return "\n".join(lines)

    _emit(args, doc, text)
    return 0


def cmd_decisions(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent import decisions

    with _open(args, settings) as mirror:
        rows = decisions.list_decisions(mirror, state=args.state, kind=args.kind,
                                        limit=args.limit)  # fmt: skip
    items = [r.as_dict() for r in rows]
    _emit(args, {"decisions": items}, lambda: "\n".join(
        f"{r.decision_id:<22} {r.kind:<11} {r.state:<10} {r.sku or r.hour or '':<12} "
        f"qty {r.quantity:>8g}  value {r.value:>9.2f}  conf {r.confidence:.2f}  {r.rule}"
        for r in rows) or "no decisions")  # fmt: skip
    return 0


def cmd_decision_step(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent import decisions

    to_state = {"approve": "approved", "reject": "rejected", "override": "overridden"}[
        args.decisions_command
    ]
    with _open(args, settings) as mirror:
        row = decisions.transition(mirror, args.id, to_state, actor=args.by, reason=args.reason,
                                   quantity=getattr(args, "quantity", None))  # fmt: skip
    _emit(args, row.as_dict(), lambda: f"{row.decision_id}: {row.state} by {row.actor}")
    return 0


def cmd_submit(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent.executor import submit

    with _open(args, settings) as mirror:
        result = submit(mirror, settings)
    doc = {"executor": settings.executor, "file": str(result.path) if result.path else None,
           "submitted": result.submitted}  # fmt: skip
    target = result.path or " ".join(settings.executor_command or [])
    _emit(args, doc, lambda: f"submitted {len(result.submitted)} decisions to {target}"
          if result.submitted else "nothing to submit")  # fmt: skip
    return 0


def cmd_ack(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent.executor import acknowledge

    with _open(args, settings) as mirror:
        counts = acknowledge(mirror, args.file)
    _emit(args, counts, lambda: ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_task_complete(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent.executor import complete_shelf_check

    with _open(args, settings) as mirror:
        result_id = complete_shelf_check(mirror, args.id, found=args.found, by=args.by,
                                         counted=args.counted)  # fmt: skip
    _emit(
        args,
        {"decision_id": args.id, "result_id": result_id, "found": args.found},
        lambda: f"{args.id}: {'found' if args.found else 'missing'}, recorded as {result_id}",
    )
    return 0


def cmd_lift(args: argparse.Namespace, settings: EdgeSettings) -> int:
    from edge_agent.cycle import load_models
    from edge_agent.lift import METRICS, load_scenario, simulated_lift
    from edge_agent.policy import load_policy
    from models import BOOTSTRAP_DIR

    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise EdgeAgentError(f"--seeds {args.seeds!r}: not a comma-separated list of integers",
                             hint="e.g. --seeds 1,2,3,4,5") from None  # fmt: skip
    models_dir = settings.models_dir or BOOTSTRAP_DIR
    doc = simulated_lift(
        stores=args.stores, skus=args.skus, days=args.days, seeds=seeds,
        history_days=args.history_days, scenario=load_scenario(args.scenario),
        models=load_models(models_dir, settings.trusted_keys()), models_dir=str(models_dir),
        policy=load_policy(settings.policy_file),
        end_date=date.fromisoformat(args.end) if args.end else date(2025, 9, 30),
        tune=not args.no_tune,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(doc, indent=2) + "\n")

    def text() -> str:
        def cell(entry: dict | None) -> str:
            if entry is None:
                return f"{'-':>28}"
            lo, hi = entry["ci95"]
            return f"{entry['mean']:>10.3f} [{lo:>7.3f}, {hi:>7.3f}]"

        lines = [f"lift over {len(seeds)} seeds, per store and day "
                 f"({doc['source']['seconds']} s):",
                 f"{'metric':<20} {'kit - baseline':>28} {'kit - tuned baseline':>28}"]  # fmt: skip
        for name in METRICS:
            m = doc["metrics"][name]
            lines.append(f"{name:<20} {cell(m['lift'])} {cell(m['lift_vs_tuned'])}")
        return "\n".join(lines)

    _emit(args, doc, text)
    return 0


def cmd_version(args: argparse.Namespace, settings: EdgeSettings) -> int:
    _emit(args, {"version": __version__}, lambda: f"edge-agent {__version__}")
    return 0


# -- parser -------------------------------------------------------------------------------------
def _command(
    sub: argparse._SubParsersAction, name: str, func: Callable, summary: str, example: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=func)
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    return parser


def _group(sub: argparse._SubParsersAction, name: str, summary: str,
           example: str) -> argparse._SubParsersAction:  # fmt: skip
    """A command made of actions (``edge-agent audit verify``)."""
    parser = sub.add_parser(name, help=summary, description=summary,
                            epilog=f"example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="path of the store's SQLite mirror")


def _link_flags(parser: argparse.ArgumentParser) -> None:
    """The essentials of `run` and `sync` as flags (the rest in the config file)."""
    _db(parser)
    parser.add_argument("--store", dest="store_id", help="the store this agent serves")
    add_link_flags(parser, whose="store")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-agent",
        description="storeedge store agent: POS mirror, audit log, simulator.",
        epilog="example:\n  edge-agent simulate --store S001 --skus 2000 --days 400 --seed 7 "
        "--db s1.db",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="TOML settings file (env: STOREEDGE_EDGE_*)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(
        sub,
        "init",
        cmd_init,
        "Create a mirror for a store (or check it).",
        "edge-agent init --db s1.db --store S001 --tz America/Chicago",
    )
    _db(p)
    p.add_argument("--store", required=True, help="store id, e.g. S001")
    p.add_argument("--tz", required=True, help="IANA time zone of the store")
    p.add_argument("--name", help="display name of the store")
    p.add_argument("--chain-epoch", type=int, help="a replaced box: the epoch `cloud-hub "
                   "stores replace` opened (with --chain-anchor)")  # fmt: skip
    p.add_argument(
        "--chain-anchor",
        metavar="SEQ:HASH",
        help="a replaced box: where its audit "
        "chain continues the one the hub verified (from `cloud-hub stores replace`)",
    )

    p = _command(
        sub,
        "ingest",
        cmd_ingest,
        "Load POS exports (CSV or JSONL, optionally .gz).",
        "edge-agent ingest --db s1.db products.csv sales_2026-03-02.csv",
    )
    _db(p)
    p.add_argument("--kind", choices=sorted(KINDS), help="export kind (default: from the header)")
    p.add_argument("files", nargs="+", help="export files")

    _command(
        sub,
        "formats",
        cmd_formats,
        "List the export kinds, their columns and examples.",
        "edge-agent formats --json",
    )

    p = _command(
        sub,
        "quarantine",
        cmd_quarantine,
        "List quarantined rows with their reasons.",
        "edge-agent quarantine --db s1.db --reason unknown_sku",
    )
    _db(p)
    p.add_argument("--reason", choices=sorted(QUARANTINE_REASONS), help="only this reason")
    p.add_argument("--all", action="store_true", help="include rows released since")
    p.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")

    p = _command(
        sub,
        "simulate",
        cmd_simulate,
        "Write a realistic simulated store into a mirror through the ingest path.",
        "edge-agent simulate --store S001 --skus 2000 --days 400 --seed 7 --db s1.db",
    )
    _db(p)
    p.add_argument("--store", required=True, help="store id")
    p.add_argument("--skus", type=int, required=True, help="number of SKUs")
    p.add_argument("--days", type=int, required=True, help="days of history")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same store)")
    p.add_argument("--end", help="last simulated business day, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--tz", default="America/Chicago", help="store time zone")
    p.add_argument("--pos-export", help="also write today's POS sales-line export to this file")
    p.add_argument(
        "--bad-rows",
        type=int,
        default=0,
        help="deliberately bad rows in the POS export (for demos)",
    )

    audit_sub = _group(sub, "audit", "Verify or show the hash-chained audit log.",
                       "edge-agent audit verify --db s1.db")  # fmt: skip
    p = _command(
        audit_sub,
        "verify",
        cmd_audit_verify,
        "Check the whole chain; exit 1 naming the first bad record.",
        "edge-agent audit verify --db s1.db",
    )
    _db(p)
    p = _command(
        audit_sub,
        "show",
        cmd_audit_show,
        "Print the last records of the audit log.",
        "edge-agent audit show --db s1.db --last 20",
    )
    _db(p)
    p.add_argument("--last", type=int, default=20, help="how many records (default 20)")

    p = _command(
        sub,
        "cycle",
        cmd_cycle,
        "Score every SKU and store-hour; decide orders, staffing and shelf checks by policy.",
        "edge-agent cycle --db s1.db --json",
    )
    _db(p)
    p.add_argument("--as-of", help="business day YYYY-MM-DD (default: after the last sales day)")
    p.add_argument("--policy", type=Path, help="TOML decision policy (docs/POLICY.md)")
    p.add_argument("--models", type=Path, help="folder of serving models (default: shipped)")
    _trust_flag(p)

    decisions_parser = _command(
        sub,
        "decisions",
        cmd_decisions,
        "List decisions; approve, reject or override a pending one (works offline).",
        "edge-agent decisions --db s1.db --state pending",
    )
    _db(decisions_parser)
    decisions_parser.add_argument("--state", help="only this state (pending, auto, ...)")
    decisions_parser.add_argument("--kind", choices=["order", "staffing", "shelf_check"])
    decisions_parser.add_argument("--limit", type=int, default=100, help="newest first")
    steps = decisions_parser.add_subparsers(dest="decisions_command", metavar="ACTION")
    for action, summary, example in (
        ("approve", "Approve a pending decision.",
         'edge-agent decisions approve S001:decision:17 --by ana --reason "promo week" --db s1.db'),
        ("reject", "Reject a pending decision.",
         'edge-agent decisions reject S001:decision:17 --by ana --reason "delisted" --db s1.db'),
        ("override", "Approve a pending decision with another quantity.",
         'edge-agent decisions override S001:decision:17 --quantity 12 --by ana '
         '--reason "small shelf" --db s1.db'),
    ):  # fmt: skip
        p = _command(steps, action, cmd_decision_step, summary, example)
        _db(p)
        p.add_argument("id", help="decision id, e.g. S001:decision:17")
        p.add_argument("--by", required=True, help="who decides")
        p.add_argument("--reason", required=True, help="why")
        if action == "override":
            p.add_argument("--quantity", type=float, required=True, help="the quantity to use")

    p = _command(
        sub,
        "submit",
        cmd_submit,
        "Hand executable decisions to the executor chosen by config: an atomic JSONL drop "
        "file (default) or a command.",
        "edge-agent submit --db s1.db --drop /var/spool/storeedge/outbox",
    )
    _db(p)
    p.add_argument("--drop", type=Path, help="folder the ERP or task app reads (or drop_dir)")
    p = _command(
        sub,
        "ack",
        cmd_ack,
        "Apply an executor acknowledgement file (confirmed / failed per decision).",
        "edge-agent ack --db s1.db acks-2026-11-27.jsonl",
    )
    _db(p)
    p.add_argument("file", type=Path, help='JSONL: {"decision_id", "status", "reason"}')
    task_actions = _group(
        sub,
        "tasks",
        "Shelf-check tasks.",
        "edge-agent tasks complete S001:decision:9 --missing --by ana --db s1.db",
    )
    p = _command(
        task_actions,
        "complete",
        cmd_task_complete,
        "Record a shelf check's result: the item was found or missing.",
        "edge-agent tasks complete S001:decision:9 --missing --by ana --db s1.db",
    )
    _db(p)
    p.add_argument("id", help="the shelf-check decision id")
    found = p.add_mutually_exclusive_group(required=True)
    found.add_argument("--found", dest="found", action="store_true", help="on the shelf")
    found.add_argument("--missing", dest="found", action="store_false", help="not on the shelf")
    p.add_argument("--by", required=True, help="who checked")
    p.add_argument("--counted", type=float, help="units counted on the shelf")

    p = _command(
        sub,
        "run",
        cmd_run,
        "Run the store daemon: cycles, POS inbox, sync to the hub, heartbeat, /healthz.",
        "edge-agent run --config /etc/storeedge/agent.toml",
    )
    _link_flags(p)
    p.add_argument("--inbox", type=Path, help="watched folder for POS exports")
    p.add_argument("--http-port", type=int, help="port on 127.0.0.1 for /healthz and /metrics")
    p.add_argument("--models", type=Path, help="folder of serving models (default: shipped)")
    _trust_flag(p)
    p = _command(
        sub,
        "sync",
        cmd_sync,
        "Send everything queued to the hub once (the daemon does this continuously).",
        "edge-agent sync --db s1.db --nats nats://127.0.0.1:4222 --insecure",
    )
    _link_flags(p)

    p = _command(
        sub,
        "lift",
        cmd_lift,
        "Simulated lift: the kit's orders vs the store's previous min/max process on the same "
        "demand, paired over seeds, with 95% intervals (docs/OUTCOMES.md, Lift).",
        "edge-agent lift --stores 2 --skus 300 --days 84 --seeds 1,2,3,4,5 --json",
    )
    p.add_argument("--stores", type=int, default=1, help="stores per seed (default 1)")
    p.add_argument("--skus", type=int, default=200, help="SKUs per store (default 200)")
    p.add_argument("--days", type=int, default=84, help="days evaluated after go-live (84)")
    p.add_argument("--history-days", type=int, default=400,
                   help="days of the old process before go-live (default 400)")  # fmt: skip
    p.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds (default 1..5)")
    p.add_argument("--end", help="last evaluated day YYYY-MM-DD (default 2025-09-30)")
    p.add_argument("--scenario", type=Path,
                   help="TOML: [baseline] min_scale, max_scale, order_weekdays, promo_stockup; "
                   "holding_rate")  # fmt: skip
    p.add_argument("--policy", type=Path, help="TOML decision policy (docs/POLICY.md)")
    p.add_argument("--models", type=Path, help="folder of serving models (default: shipped)")
    _trust_flag(p)
    p.add_argument("--no-tune", action="store_true", help="skip the inventory-matched baseline")
    p.add_argument("--out", type=Path, help="also write the JSON document to this file")

    p = _command(
        sub,
        "status",
        cmd_status,
        "Store, data coverage, quarantine counts, audit chain head and length.",
        "edge-agent status --db s1.db --json",
    )
    _db(p)
    _command(sub, "version", cmd_version, "Print the agent's version.", "edge-agent version")
    return parser


def _trust_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", type=Path, action="append", metavar="FILE",
                        help="trusted hub keys (`cloud-hub keys public`); repeatable. With it, "
                        "--models must be signed by one of them")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(
            args.config,
            db=getattr(args, "db", None),
            log_level=args.log_level,
            policy_file=getattr(args, "policy", None),
            models_dir=getattr(args, "models", None),
            drop_dir=getattr(args, "drop", None),
            store_id=getattr(args, "store_id", None),
            nats_url=getattr(args, "nats", None),
            nats_creds=getattr(args, "creds", None),
            insecure=getattr(args, "insecure", None),
            inbox_dir=getattr(args, "inbox", None),
            http_port=getattr(args, "http_port", None),
            trust=getattr(args, "trust", None),
        )
        failpoints.arm(settings.failpoint)
        logging.basicConfig(
            level=settings.log_level,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return int(args.func(args, settings))
    except KitError as exc:  # EdgeAgentError and the shared kit's errors
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
