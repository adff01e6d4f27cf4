"""`cloud-hub`: the hub's command line, a thin layer over the library.

With ``--json`` a command prints exactly one JSON document on stdout; progress
and logs go to stderr. Exit codes: 0 ok, 2 bad usage or an error that stopped
the command (with a hint).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from cloud_hub import __version__
from cloud_hub.client_cli import add_client_parser
from cloud_hub.config import LOG_FORMAT, HubSettings, load_settings
from cloud_hub.errors import HubConfigError
from models import BOOTSTRAP_DIR
from storeedge import failpoints
from storeedge.errors import KitError
from storeedge.link import add_link_flags

__all__ = ["build_parser", "main"]


def _emit(args: argparse.Namespace, document: Any, text: Callable[[], str]) -> None:
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text() + "\n")


def _sample_note(result: dict[str, Any]) -> str:
    """Says when a backtest trained on a sample (it still scores every series)."""
    for trained, total, what in (
        ("train_series", "series", "series"),
        ("train_skus", "skus", "SKUs"),
    ):
        if result.get(trained, 0) < result.get(total, 0):
            return f" (a sample: {result[trained]:,} of {result[total]:,} {what})"
    return ""


def _table(result: dict[str, Any]) -> str:
    methods = result["methods"]
    columns = sorted({k for m in methods.values() for k in m})
    lines = [
        f"{result['kind']} backtest: holdout {result['holdout'][0]} .. {result['holdout'][1]}"
        f" ({result['holdout_days']} days), trained on {result['train_rows']:,} rows"
        f" in {result['seconds']} s" + _sample_note(result),
        "method".ljust(16) + "".join(c.rjust(24) for c in columns),
    ]
    for name, values in methods.items():
        cells = "".join(
            (f"{values[c]:.4f}" if isinstance(values.get(c), float) else str(values.get(c, "-")))
            .rjust(24) for c in columns)  # fmt: skip
        lines.append(name.ljust(16) + cells)
    return "\n".join(lines)


def _origins_table(result: dict[str, Any]) -> str:
    """Each origin's table, then the model's ratio to each baseline over the origins."""
    runs = result["origins"]
    lines = [_table(run) + "\n" for run in runs]
    lines.append(f"over {len(runs)} origins (holdouts {runs[0]['holdout'][0]} .. "
                 f"{runs[-1]['holdout'][1]}): the model's metric over the baseline's")  # fmt: skip
    lines.append("ratio".ljust(22) + "metric".ljust(14) + "".join(
        c.rjust(10) for c in ("median", "min", "max")))  # fmt: skip
    for ratio, by_metric in result["summary"]["ratios"].items():
        for metric, spread in by_metric.items():
            lines.append(ratio.ljust(22) + metric.ljust(14) + "".join(
                f"{spread[c]:.4f}".rjust(10) for c in ("median", "min", "max")))  # fmt: skip
    return "\n".join(lines)


def cmd_backtest(args: argparse.Namespace) -> int:
    from cloud_hub import backtest  # LightGBM: only when asked

    if args.model == "replenishment":
        source = args.daily_sales
        options = {"calendar": args.calendar, "protection_days": args.protection_days,
                   "reference": args.reference}  # fmt: skip
    elif args.model == "labor":
        source, options = args.transactions, {"reference": args.reference}
    else:
        source, options = args.hourly, {}
    if args.origins == 1:
        result = backtest.BACKTESTS[args.model](source, args.holdout_days, **options)
        _emit(args, result, lambda: _table(result))
    else:
        result = backtest.backtest_origins(args.model, source, args.holdout_days, args.origins,
                                           **options)  # fmt: skip
        _emit(args, result, lambda: _origins_table(result))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from cloud_hub.datasets import convert_freshretailnet, convert_m5

    args.out.mkdir(parents=True, exist_ok=True)
    daily, calendar = convert_m5(args.data, args.out, with_category=not args.no_category)
    hourly, transactions = convert_freshretailnet(args.data, args.out)
    files = {"m5_daily": daily, "m5_calendar": calendar, "frn_hourly": hourly,
             "frn_transactions": transactions}  # fmt: skip
    _emit(args, {"files": {name: str(path) for name, path in files.items()}},
          lambda: "\n".join(f"{name:<17} {path}" for name, path in files.items()))  # fmt: skip
    return 0


def cmd_models_build_bootstrap(args: argparse.Namespace) -> int:
    from cloud_hub.bootstrap import build_bootstrap  # LightGBM: only when asked

    written = build_bootstrap(args.data, args.out)
    _emit(args, {"models": written, "out": str(args.out)}, lambda: "\n".join(
        f"{m['name']:<30} {m['rows']:>9,} rows  sha256 {m['sha256'][:16]}  parity "
        f"{m['parity']:.4f}" for m in written))  # fmt: skip
    return 0


def _settings(args: argparse.Namespace) -> HubSettings:
    return load_settings(
        args.config,
        db=getattr(args, "db", None),
        nats_url=getattr(args, "nats", None),
        nats_creds=getattr(args, "creds", None),
        insecure=getattr(args, "insecure", None),
        embedded_nats_dir=getattr(args, "embedded_nats", None),
        creds_dir=getattr(args, "creds_dir", None),
        nats_auth_file=getattr(args, "nats_auth_file", None),
        nats_pid_file=getattr(args, "nats_pid_file", None),
        grpc_address=getattr(args, "grpc", None),
        api_auth=False if getattr(args, "no_api_auth", False) else None,
        api_tls_cert=getattr(args, "api_tls_cert", None),
        api_tls_key=getattr(args, "api_tls_key", None),
        api_tls_client_ca=getattr(args, "api_tls_client_ca", None),
        log_level=args.log_level,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from cloud_hub.serve import run_hub

    settings = _settings(args)
    if settings.grpc_address is not None:
        from cloud_hub.api import check_settings

        check_settings(settings)  # an unsafe API address stops here, before anything starts
    failpoints.arm(settings.failpoint)
    logging.basicConfig(level=settings.log_level, stream=sys.stderr, format=LOG_FORMAT)
    return run_hub(settings)


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    storage = _storage(settings)
    try:
        stores = storage.store_status(gap_timeout_s=settings.chain_gap_timeout_s)
    finally:
        storage.close()
    from cloud_hub.distribution import swap_reports

    for report in swap_reports(_hub_db(settings, existing=True)):  # each store's latest answer
        if report["store_id"] in stores:
            swaps = stores[report["store_id"]].setdefault("model_swaps", {})
            swaps[report.pop("model")] = report
    doc = {"stores": stores}

    def text() -> str:
        lines = [f"{len(stores)} stores"]
        for store_id, st in stores.items():
            chain = "ok" if st["chain_ok"] else f"BROKEN ({st['chain_problem']['reason']})"
            received = ", ".join(f"{k} {v}" for k, v in st["received"].items())
            lines.append(f"  {store_id}: chain {st['chain_length']} {chain}; {received}; "
                         f"last heartbeat {st['last_heartbeat'] or '-'}")  # fmt: skip
        return "\n".join(lines)

    _emit(args, doc, text)
    return 0 if all(st["chain_ok"] for st in stores.values()) else 1


def _hub_db(settings: HubSettings, *, existing: bool) -> Path:
    """The hub database path from ``--db``; ``existing``: it must be there already (reads),
    otherwise its folder is made (commands that may be the first to write it)."""
    if settings.db is None:
        raise HubConfigError("db: no hub database given", hint="pass --db HUBDB")
    if existing and not settings.db.exists():
        raise HubConfigError(f"no hub database at {settings.db}", hint="pass --db HUBDB")
    settings.db.parent.mkdir(parents=True, exist_ok=True)
    return settings.db


def _storage(settings: HubSettings):
    from cloud_hub.storage import open_storage

    return open_storage(_hub_db(settings, existing=True))


def cmd_decision_step(args: argparse.Namespace) -> int:
    from cloud_hub.downlink import send_approval

    settings = _settings(args)
    options = _hub_link(args, settings)
    storage = _storage(settings)
    try:
        request_id = _send_to_store(options, lambda client: send_approval(
            client, storage, args.id, args.decisions_command, actor=args.by,
            reason=args.reason, quantity=getattr(args, "quantity", None)))  # fmt: skip
    finally:
        storage.close()
    doc = {"request_id": request_id, "decision_id": args.id, "action": args.decisions_command,
           "status": "sent"}  # fmt: skip
    _emit(args, doc, lambda: f"{args.decisions_command} of {args.id} sent to the store as "
          f"{request_id}; `cloud-hub approvals` shows the store's answer")  # fmt: skip
    return 0


def _hub_link(args: argparse.Namespace, settings: HubSettings):
    from storeedge import link

    return link.LinkOptions.from_settings(
        settings, "cloud-hub-cli", error=HubConfigError,
        hint=f"see `cloud-hub {args.command} --help`",
    )  # fmt: skip


def _send_to_store(options: Any, send: Callable[[Any], Awaitable[str]]) -> str:
    """Connect, ``send(client)`` one message to a store, close; returns its id."""
    import asyncio

    from storeedge import link

    async def once() -> str:
        client = await link.connect(options)
        try:
            return await send(client)
        finally:
            await client.close()

    return asyncio.run(once())


def cmd_command(args: argparse.Namespace) -> int:
    from cloud_hub.downlink import send_command
    from storeedge.v1 import command_pb2

    options = _hub_link(args, _settings(args))
    command = command_pb2.StoreCommand(actor=args.by)
    if args.command_kind == "resend-audit":
        command.kind = command_pb2.COMMAND_KIND_RESEND_AUDIT
        command.from_seq = args.from_seq
    else:
        command.kind = command_pb2.COMMAND_KIND_RUN_CYCLE
        command.business_date = args.as_of or ""

    command_id = _send_to_store(options, lambda client: send_command(client, args.store, command))
    doc = {"command_id": command_id, "store": args.store, "kind": args.command_kind}
    _emit(args, doc, lambda: f"{args.command_kind} sent to {args.store} as {command_id}; the "
          "store audits it when executed")  # fmt: skip
    return 0


def cmd_approvals(args: argparse.Namespace) -> int:
    storage = _storage(_settings(args))
    try:
        rows = storage.approvals(limit=args.limit)
    finally:
        storage.close()

    def text() -> str:
        lines = [f"{len(rows)} approvals taken at the hub (newest first)"]
        for r in rows:
            answer = r["status"] + (f": {r['result_reason']}" if r["result_reason"] else "")
            lines.append(f"  {r['request_id']:<18} {r['action']:<8} {r['decision_id']:<20} "
                         f"by {r['actor']:<10} {answer}")  # fmt: skip
        return "\n".join(lines)

    _emit(args, {"approvals": rows}, text)
    return 0


def _joined_outcomes(args: argparse.Namespace):
    """The hub database with the outcome join caught up (what `serve` has not joined yet)."""
    from cloud_hub import hubdb, outcomes

    storage = _storage(_settings(args))
    with hubdb.immediate(storage.conn):
        outcomes.backfill(storage.conn)
    while outcomes.update(storage.conn).more:
        pass
    return storage


def cmd_outcomes(args: argparse.Namespace) -> int:
    from cloud_hub import outcomes

    storage = _joined_outcomes(args)
    try:
        if args.outcomes_command == "show":
            doc = outcomes.decision_outcome(storage.conn, args.id)
            if doc is None:
                from cloud_hub.errors import HubStorageError

                raise HubStorageError(f"no decision {args.id} has reached the hub",
                                      hint="check the id (S001:decision:17); a store that is "
                                      "offline has not synced it yet")  # fmt: skip
            _emit(args, doc, lambda: "\n".join(_outcome_lines(doc)))
            return 0
        weeks = (args.week, args.week) if args.week else (args.week_from, args.week_to)
        rows = outcomes.metrics(storage.conn, store_id=args.store or "", category=args.category,
                                model_version=args.model_version or "", week_from=weeks[0] or "",
                                week_to=weeks[1] or "", limit=args.limit)  # fmt: skip
    finally:
        storage.close()
    _emit(args, {"metrics": rows}, lambda: "\n".join(_metric_lines(rows)))
    return 0


def cmd_outcomes_shadow(args: argparse.Namespace) -> int:
    from cloud_hub.lift import shadow_did

    storage = _joined_outcomes(args)
    try:
        doc = shadow_did(storage.conn, window_days=args.window_days)
    finally:
        storage.close()
    if args.out:
        args.out.write_text(json.dumps(doc, indent=2) + "\n")

    def text() -> str:
        src = doc["source"]
        lines = [f"shadow difference-in-differences: {len(src['executing_stores'])} executing "
                 f"vs {len(src['shadow_stores'])} shadow stores, {args.window_days} days either "
                 "side of going live (kit minus shadow, 95 % interval)"]  # fmt: skip
        for name, metric in doc["metrics"].items():
            lift = metric["lift"]
            lines.append(f"  {name:<22} {lift['mean']:+.4f}  [{lift['ci95'][0]:+.4f}, "
                         f"{lift['ci95'][1]:+.4f}] {metric['unit']} per store-day")  # fmt: skip
        if args.out:
            lines.append(f"written to {args.out} (for `cloud-hub roi` / `report --lift`)")
        return "\n".join(lines)

    _emit(args, doc, text)
    return 0


def _roi_inputs(args: argparse.Namespace):
    from cloud_hub import roi

    costs = roi.load_costs(args.costs) if args.costs else None
    lift = roi.load_lift(args.lift) if args.lift else None
    return costs, lift


def cmd_roi(args: argparse.Namespace) -> int:
    from cloud_hub import roi

    costs, lift = _roi_inputs(args)
    storage = _joined_outcomes(args)
    try:
        doc = roi.roi_statement(storage.conn, costs, costs_path=args.costs, lift=lift,
                                lift_path=args.lift)  # fmt: skip
    finally:
        storage.close()
    _emit(args, doc, lambda: "\n".join(roi.statement_lines(doc)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from cloud_hub import report

    costs, lift = _roi_inputs(args)
    storage = _joined_outcomes(args)
    try:
        doc = report.build_report(storage.conn, db=_settings(args).db, skus=args.sku,
                                  lift=lift, lift_path=args.lift, costs=costs,
                                  costs_path=args.costs)  # fmt: skip
    finally:
        storage.close()
    page, data = report.write_report(doc, args.out)
    result = {"html": str(page), "json": str(data), "url": page.resolve().as_uri(),
              "lift": args.lift is not None, "roi": costs is not None}  # fmt: skip
    _emit(args, result, lambda: f"report written: {page} (numbers in {data})\n"
          f"open it: {result['url']}")  # fmt: skip
    return 0


def _outcome_lines(doc: dict[str, Any]) -> list[str]:
    lines = [f"{doc['decision_id']} {doc['kind']} {doc['sku']} ({doc['category'] or '-'}), "
             f"model {doc['model_version'] or '-'}, {doc['business_date']}: {doc['status']} "
             f"({doc['days_synced']}/{doc['days_expected']} days synced, window "
             f"{doc['window_start']} .. {doc['window_end']}); {doc['review']}"]  # fmt: skip
    for key in ("order", "staffing", "shelf_check"):
        for name, value in (doc.get(key) or {}).items():
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            lines.append(f"  {name:<28} {shown}")
    return lines


def _metric_lines(rows: list[dict[str, Any]]) -> list[str]:
    def num(value: Any, fmt: str = ".3f") -> str:
        return "-" if value is None else format(value, fmt)

    lines = [f"{len(rows)} metric rows (week, store, category, model version)",
             f"{'week':<9} {'store':<6} {'category':<12} {'model':<10} {'dec':>5} {'done':>5} "
             f"{'wape':>6} {'bias':>6} {'p90cov':>6} {'stockout':>8} {'lost':>8} {'turns':>7} "
             f"{'over_h':>6} {'under_h':>7} {'hit_rk':>6} {'hit_rnd':>7} {'auto':>5} "
             f"{'review_s':>8}"]  # fmt: skip
    for r in rows:
        lines.append(
            f"{r['week']:<9} {r['store_id']:<6} {r['category'] or '-':<12} "
            f"{r['model_version'] or '-':<10} {r['decisions']:>5} {r['joins_complete']:>5} "
            f"{num(r['wape']):>6} {num(r['bias']):>6} {num(r['p90_coverage']):>6} "
            f"{num(r['stockout_rate']):>8} {num(r['lost_units'], '.1f'):>8} "
            f"{num(r['inventory_turns'], '.1f'):>7} {num(r['over_hours'], '.0f'):>6} "
            f"{num(r['under_hours'], '.0f'):>7} {num(r['hit_rate_ranked']):>6} "
            f"{num(r['hit_rate_random']):>7} {num(r['share_auto'], '.2f'):>5} "
            f"{num(r['review_seconds_mean'], '.0f'):>8}")  # fmt: skip
    return lines


def _registry(settings: HubSettings):
    from cloud_hub.registry import Registry

    return Registry(_hub_db(settings, existing=False))


def _store_line(entry: Any) -> str:
    return (f"{entry.store_id:<8} {entry.status:<8} ring {entry.ring:<8} tz {entry.tz:<16} "
            f"epoch {entry.chain_epoch}  key {entry.public_key or '-'}"
            + (f"  ({entry.note})" if entry.note else ""))  # fmt: skip


def cmd_stores(args: argparse.Namespace) -> int:
    from cloud_hub.identity import render_authorization, write_authorization, write_seed
    from cloud_hub.registry import apply_authorization, ensure_hub_key

    settings = _settings(args)
    action = args.stores_command
    with _registry(settings) as registry:
        if action == "list":
            entries = registry.stores(ring=args.ring)
            _emit(args, {"stores": [e.as_dict() for e in entries]},
                  lambda: "\n".join([f"{len(entries)} stores in the registry"]
                                    + ["  " + _store_line(e) for e in entries]))  # fmt: skip
            return 0
        if action == "authorization":
            ensure_hub_key(registry, settings.hub_seed_file())
            text = render_authorization(registry.users(), source=str(registry.db))
            if args.out:
                write_authorization(args.out, text)
            _emit(args, {"written": str(args.out) if args.out else None, "text": text},
                  lambda: f"wrote {args.out}" if args.out else text.rstrip())  # fmt: skip
            return 0
        seed = None
        actor = args.by or getpass.getuser()
        if action == "add":
            entry, seed = registry.add_store(args.store, ring=args.ring, region=args.region,
                                             tz=args.tz, actor=actor)  # fmt: skip
        elif action == "replace":
            entry, seed = registry.replace_store(args.store, reason=args.reason, actor=actor)
        else:
            entry = registry.revoke_store(args.store, reason=args.reason, actor=actor)
        doc: dict[str, Any] = {"store": entry.as_dict()}
        if seed is not None:
            creds = settings.store_creds_dir() / f"{entry.store_id}.nk"
            write_seed(creds, seed)
            doc["creds"] = str(creds)
        doc["nats"] = apply_authorization(settings, registry)

    def text() -> str:
        lines = [f"{action}: " + _store_line(entry)]
        if "creds" in doc:
            lines.append(f"  credentials: {doc['creds']} (mode 0600): copy it to the store "
                         "box as its nats_creds, then delete it here")  # fmt: skip
        if action == "replace":
            lines.append(
                f"  the new box starts its mirror with: edge-agent init --store "
                f"{entry.store_id} --tz {entry.tz} --chain-epoch {entry.chain_epoch} "
                f"--chain-anchor {entry.epoch_anchor_seq}:{entry.epoch_anchor_hash} --db ..."
            )
        nats = doc["nats"]
        if nats["written"]:
            lines.append(
                f"  NATS authorization: {nats['written']} ({nats['users']} identities)"
                + (f", server {nats['reloaded']} reloaded" if nats["reloaded"] else "")
            )
        if nats.get("note"):
            lines.append(f"  note: {nats['note']}")
        return "\n".join(lines)

    _emit(args, doc, text)
    return 0


def cmd_tls_generate(args: argparse.Namespace) -> int:
    from cloud_hub.tls import generate_tls, server_tls_block

    try:
        files = generate_tls(args.out, args.host, clients=args.client or (), days=args.days)
    except ValueError as exc:
        raise HubConfigError(f"--host: {exc}", hint="e.g. --host nats.example.com") from exc
    block = server_tls_block(files, verify_clients=bool(args.client))
    doc = {"ca": str(files.ca), "server_cert": str(files.server_cert),
           "server_key": str(files.server_key), "server_config": block,
           "clients": {k: [str(c), str(key)] for k, (c, key) in files.clients.items()}}  # fmt: skip
    _emit(args, doc, lambda: f"wrote {args.out}: ca.pem (stores: nats_tls_ca), server.pem, "
          f"server.key\nnats-server config:\n{block.rstrip()}")  # fmt: skip
    return 0


def cmd_hub_audit(args: argparse.Namespace) -> int:
    from cloud_hub import hub_audit

    with _registry(_settings(args)) as registry:  # opens (and creates) the hub's tables
        if args.hub_audit_command == "verify":
            result = hub_audit.verify(registry.conn)
            doc = {"length": result.length, "ok": result.ok, "problem": result.problem}
            _emit(args, doc, lambda: f"hub audit log: {result.length} records, "
                  + ("verified" if result.ok else f"BROKEN: {result.problem}"))  # fmt: skip
            return 0 if result.ok else 1
        rows = hub_audit.records(registry.conn, subject=args.subject, limit=args.limit)

    def text() -> str:
        lines = [f"{len(rows)} hub audit records (newest first)"]
        lines += [f"  {r['seq']:>6} {r['recorded_at'][:19]} {r['actor']:<12} {r['action']:<22} "
                  f"{r['subject']:<8} {json.dumps(r['detail'], sort_keys=True)}"
                  for r in rows]  # fmt: skip
        return "\n".join(lines)

    _emit(args, {"records": rows}, text)
    return 0


def _signing_keys(settings: HubSettings):
    from cloud_hub.keys import SigningKeys

    return SigningKeys(_hub_db(settings, existing=False), settings.signing_folder())


def cmd_keys(args: argparse.Namespace) -> int:
    settings = _settings(args)
    action = args.keys_command
    actor = getattr(args, "by", None) or getpass.getuser()
    with _signing_keys(settings) as keys:
        if action == "public":
            text = keys.trust_text()
            if not text:
                raise HubConfigError(
                    "no signing key yet", hint="`cloud-hub keys generate` (or `cloud-hub serve`)"
                )
            if args.out:
                keys.write_trust(args.out)
            _emit(args, {"trust": text, "keys": keys.states()},
                  lambda: f"wrote {args.out}" if args.out else text.rstrip())  # fmt: skip
            return 0
        if action == "generate":
            existing = keys.active_id()
            key_id = keys.ensure_active(actor=actor)
            note = "already had an active key" if existing else "generated"
        elif action == "rotate":
            key_id, old = keys.rotate(actor=actor)
            note = f"rotated: {old} stays published as previous until retired"
        else:
            keys.retire(args.key_id, actor=actor)
            key_id, note = args.key_id, "retired: no longer published"
        doc = {"key_id": key_id, "note": note, "keys": keys.states()}
    listing = [f"  {k['key_id']} {k['state']:<8} created {k['created_at']}" for k in doc["keys"]]
    _emit(args, doc, lambda: "\n".join([f"{key_id}: {note}", *listing]))
    return 0


def cmd_models_sign(args: argparse.Namespace) -> int:
    with _signing_keys(_settings(args)) as keys:
        names = keys.sign_folder(args.folder)
        key_id = keys.active_id()
    _emit(args, {"signed": names, "key_id": key_id, "folder": str(args.folder)},
          lambda: f"signed {len(names)} models in {args.folder} with key {key_id}: "
          + ", ".join(names))  # fmt: skip
    return 0


def _model_registry(settings: HubSettings):
    from cloud_hub.model_registry import ModelRegistry

    registry = ModelRegistry(_hub_db(settings, existing=False), settings.signing_folder())
    registry.ensure_bootstrap()  # the shipped models are the first champions
    return registry


def _version_line(v: Any) -> str:
    error = v.manifest.get("metrics", {}).get("backtest.challenger.error")
    score = f"  backtest error {error:.4f}" if error is not None else ""
    return (f"  {v.name:<30} {v.version:<22} {v.status:<11} parent {v.parent_version or '-':<22}"
            f" key {v.key_id}{score}")  # fmt: skip


def cmd_models_registry(args: argparse.Namespace) -> int:
    action = args.models_command
    actor = getattr(args, "by", None) or getpass.getuser()
    with _model_registry(_settings(args)) as registry:
        if action == "list":
            versions = registry.list(args.model)
            _emit(args, {"versions": [v.as_dict() for v in versions]},
                  lambda: "\n".join([f"{len(versions)} model versions",
                                     *map(_version_line, versions)]))  # fmt: skip
            return 0
        if action == "show":
            version = registry.version(args.name, args.version)
            _emit(args, version.as_dict(), lambda: _version_line(version) + "\n"
                  + json.dumps(version.manifest, indent=2, sort_keys=True))  # fmt: skip
            return 0
        if action == "export":
            names = registry.export(args.model, args.version, args.out)
            _emit(args, {"exported": names, "version": args.version, "out": str(args.out)},
                  lambda: f"wrote {len(names)} signed artifacts of {args.model} "
                  f"{args.version} to {args.out}: " + ", ".join(names))  # fmt: skip
            return 0
        if action == "promote":
            changed = registry.promote(args.model, args.version, actor=actor, reason=args.reason)
        else:
            changed = registry.rollback(args.model, actor=actor, reason=args.reason)
    doc = {"champions": [v.as_dict() for v in changed]}
    lines = [f"{action}: champions now", *map(_version_line, changed)]
    _emit(args, doc, lambda: "\n".join(lines))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from cloud_hub.training import TrainOptions, retrain  # LightGBM: only when asked

    settings = load_settings(
        args.config, db=args.db, train_margin=args.margin, train_ring_tolerance=args.tolerance,
        train_holdout_days=args.holdout_days, train_sample_skus=args.sample_skus,
        train_origins=args.origins, train_horizon_stride=args.horizon_stride,
        train_season_weeks=args.season_weeks, train_rows=args.train_rows,
        train_threads=args.threads, log_level=args.log_level,
    )  # fmt: skip
    options = TrainOptions(
        margin=settings.train_margin, tolerance=settings.train_ring_tolerance,
        holdout_days=settings.train_holdout_days, sample_skus=settings.train_sample_skus,
        origins=settings.train_origins, horizon_stride=settings.train_horizon_stride,
        season_weeks=settings.train_season_weeks, train_rows=settings.train_rows,
        threads=settings.train_threads, actor=args.by or getpass.getuser(),
    )  # fmt: skip

    def progress(line: str) -> None:
        print(f"train {args.model}: {line}", file=sys.stderr, flush=True)

    result = retrain(_hub_db(settings, existing=True), settings.signing_folder(), args.model,
                     options, progress=None if args.quiet else progress)  # fmt: skip
    _emit(args, result, lambda: f"{args.model} {result['version']}: "
          + ("promoted" if result["promoted"] else "not promoted") + "\n  "
          + "\n  ".join(result["reasons"]))  # fmt: skip
    return 0


def cmd_models_publish(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile

    from cloud_hub import distribution
    from storeedge import link, signing

    settings = _settings(args)
    db = _hub_db(settings, existing=True)
    options = _hub_link(args, settings)
    with _signing_keys(settings) as keys, tempfile.TemporaryDirectory() as scratch:
        published = Path(scratch) / "hub-keys.pub"  # what stores trust (active, previous)
        published.write_text(keys.trust_text())
        trusted = signing.load_trust([published])
    artifacts = distribution.read_signed_folder(args.folder, trusted)
    targets = distribution.target_stores(db, ring=args.ring, store_ids=args.store or ())
    actor = args.by or getpass.getuser()

    async def publish() -> list[dict[str, Any]]:
        client = await link.connect(options)
        try:
            js = client.jetstream()
            results = []
            for blob, signed, manifest in artifacts:
                await distribution.publish(js, manifest.name, manifest.version, blob, signed)
                offered = await distribution.offer(js, db, targets, manifest, actor=actor)
                results.append(offered.as_dict())
            return results
        finally:
            await client.close()

    results = asyncio.run(publish())

    def text() -> str:
        lines = []
        for r in results:
            lines.append(f"{r['model']} {r['version']}: offered to {len(r['offered'])} stores")
            lines.extend(f"  skipped {store}: {why}" for store, why in r["skipped"].items())
        return "\n".join(lines)

    _emit(args, {"published": results, "stores": targets}, text)
    return 0


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


def _rollout_line(r: dict[str, Any]) -> str:
    why = f" ({r['reason']})" if r["reason"] else ""
    forced = " forced" if r["forced"] else ""
    return f"  {r['model']} {r['version']}: {r['state']} at ring {r['ring']}{forced}{why}"


def cmd_rollout(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile
    import time

    from cloud_hub import rollouts
    from storeedge import link, signing

    settings = _settings(args)
    db = _hub_db(settings, existing=True)
    action = args.rollout_command
    if action == "status":
        doc = rollouts.rollout_status(db)
        doc["rollouts"] = [{k: v for k, v in r.items() if k != "stores"} | {"stores": r["stores"]}
                           for r in doc["rollouts"]]  # fmt: skip

        def text() -> str:
            lines = [f"{len(doc['rollouts'])} rollouts"] + [_rollout_line(r) for r in
                                                            doc["rollouts"]]  # fmt: skip
            for store_id, st in doc["stores"].items():
                models = ", ".join(f"{m} {v}" for m, v in st["models"].items()) or "-"
                lines.append(f"  {store_id:<8} ring {st['ring']:<7} {models}")
            if doc["revoked"]:
                lines.append(f"  revoked (in no ring): {', '.join(doc['revoked'])}")
            return "\n".join(lines)

        _emit(args, doc, text)
        return 0
    options = _hub_link(args, settings)
    actor = args.by or getpass.getuser()

    async def act() -> dict[str, Any]:
        client = await link.connect(options)
        try:
            js = client.jetstream()
            if action != "start":
                return await rollouts.set_state(js, db, args.model, action, actor=actor)
            with _signing_keys(settings) as keys, tempfile.TemporaryDirectory() as scratch:
                published = Path(scratch) / "hub-keys.pub"
                published.write_text(keys.trust_text())
                trusted = signing.load_trust([published])
            folders = rollouts.SignedFolders(args.source or (), trusted)
            with _model_registry(settings) as registry:
                source = rollouts.RegistrySource(registry, folders)
                return await rollouts.start(js, db, source, args.model, args.version,
                                            actor=actor, force=args.force)  # fmt: skip
        finally:
            await client.close()

    rollout = asyncio.run(act())
    timed_out = False
    if action == "start" and (args.wait or args.timeout is not None):
        until = time.monotonic() + args.timeout if args.timeout is not None else None
        while rollout["state"] in ("running", "paused"):
            if until is not None and time.monotonic() >= until:
                timed_out = True
                break
            time.sleep(min(settings.rollout_tick_s, 1.0))
            rollout = next(r for r in rollouts.rollout_status(db)["rollouts"]
                           if r["id"] == rollout["id"])  # fmt: skip
    rollout.pop("stores", None)
    _emit(args, {"rollout": rollout, **({"timed_out": True} if timed_out else {})},
          lambda: _rollout_line(rollout).strip())  # fmt: skip
    if timed_out:
        print(f"error: waited {args.timeout:g} s: the rollout of {rollout['model']} "
              f"{rollout['version']} is still {rollout['state']} at ring {rollout['ring']}; it "
              "keeps going in `cloud-hub serve`", file=sys.stderr)  # fmt: skip
        print("hint: follow it with `cloud-hub rollout status`", file=sys.stderr)
        return 3
    return 0 if rollout["state"] in ("running", "paused", "completed") else 1


def cmd_api_tokens(args: argparse.Namespace) -> int:
    from cloud_hub.apiauth import TokenStore, parse_duration

    action = args.tokens_command
    with TokenStore(_hub_db(_settings(args), existing=False)) as store:
        if action == "create":
            token, row = store.create(args.name, args.role, parse_duration(args.expires),
                                      regions=args.region or (),
                                      categories=args.category or ())  # fmt: skip
            doc = {"token": token, **row}
            _emit(args, doc, lambda: "\n".join([
                f"token {row['name']} ({_scope(row)}), expires {row['expires_at']}:",
                f"  {token}",
                "Shown once: the hub keeps only its hash. Clients send it as metadata "
                "'authorization: Bearer <token>'."]))  # fmt: skip
            return 0
        if action == "revoke":
            row = store.revoke(args.name)
            _emit(args, row, lambda: f"revoked {row['name']} at {row['revoked_at']}")
            return 0
        rows = store.list(include_revoked=args.all)

    def text() -> str:
        lines = [f"{len(rows)} API tokens"]
        for r in rows:
            status = "revoked" if r["revoked_at"] else "EXPIRED" if r["expired"] else "live"
            used = (r["last_used_at"] or "-")[:19]
            lines.append(f"  {r['name']:<16} {_scope(r):<36} {status:<8} expires "
                         f"{r['expires_at'][:19]}  last used {used}")  # fmt: skip
        return "\n".join(lines)

    _emit(args, {"tokens": rows}, text)
    return 0


def _scope(row: dict[str, Any]) -> str:
    if row["role"] != "approver":
        return row["role"]
    scope = f"approver, regions {','.join(row['regions'])}"
    return scope + (f", categories {','.join(row['categories'])}" if row["categories"] else "")


def cmd_api_calls(args: argparse.Namespace) -> int:
    from cloud_hub.apiauth import TokenStore

    with TokenStore(_hub_db(_settings(args), existing=True)) as store:
        rows = store.calls(limit=args.limit)
    _emit(args, {"calls": rows}, lambda: "\n".join(
        [f"{len(rows)} mutating API calls (newest first)"]
        + [f"  {r['at'][:19]} {r['caller']:<14} {r['method']:<17} {r['target']:<22} "
           f"{r['outcome']:<18} {r['detail'][:60]}" for r in rows]))  # fmt: skip
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


def _origins_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--origins", type=int, default=1, metavar="K",
        help="score K successive holdouts, each trained on everything before it (default 1: "
        "the file's last days); prints each and the model's ratio to each baseline over them",
    )  # fmt: skip


def _reference_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reference", action="store_true",
        help="also train a plain global LightGBM with lag and calendar features on the same "
        "split (method lgbm_lags): the yardstick the kit's model is held against",
    )  # fmt: skip


def _link_flags(parser: argparse.ArgumentParser) -> None:
    """The hub database and the link to NATS, as flags (the rest in the config file)."""
    parser.add_argument("--db", type=Path, help="the hub database (SQLite)")
    add_link_flags(parser, whose="hub")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloud-hub", description="storeedge hub: ingest from the stores, chain "
        "verification, backtests and models.",
        epilog="example:\n  cloud-hub status --db hub.db --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--config", type=Path, help="TOML settings file (env: STOREEDGE_HUB_*)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    backtests = sub.add_parser(
        "backtest", help="Backtest a model on your own history against baselines.",
        description="Train on everything before the last N days, score the last N from one "
        "forecast origin, beside baselines (--origins K: K successive holdouts).",
        epilog="examples:\n  cloud-hub backtest labor --transactions tx.csv --holdout-days 7\n"
        "  cloud-hub backtest labor --transactions tx.csv --holdout-days 7 --origins 4",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    models = backtests.add_subparsers(dest="model", required=True, metavar="MODEL")
    p = _command(
        models,
        "replenishment",
        "Daily demand and order-up-to quantiles.",
        "cloud-hub backtest replenishment --daily-sales sales.csv --holdout-days 28\n"
        "  cloud-hub backtest replenishment --daily-sales sales.csv --holdout-days 28 "
        "--origins 12\n"
        "  cloud-hub backtest replenishment --daily-sales sales.csv --holdout-days 28 "
        "--reference",
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
    _reference_flag(p)
    p.add_argument("--holdout-days", type=int, required=True)
    _origins_flag(p)
    p.set_defaults(func=cmd_backtest)
    p = _command(
        models,
        "labor",
        "Transactions per store-hour.",
        "cloud-hub backtest labor --transactions tx.csv --holdout-days 7\n"
        "  cloud-hub backtest labor --transactions tx.csv --holdout-days 7 --reference",
    )
    p.add_argument(
        "--transactions",
        type=Path,
        required=True,
        help="CSV store_id,timestamp per transaction, or store_id,date,hour,transactions",
    )
    _reference_flag(p)
    p.add_argument("--holdout-days", type=int, required=True)
    _origins_flag(p)
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
    _origins_flag(p)
    p.set_defaults(func=cmd_backtest)
    p = _command(
        sub,
        "datasets",
        "Convert the public retail data sets (M5, FreshRetailNet) to the backtest files "
        "BENCHMARKS.md measures on: m5_daily.csv, m5_calendar.csv, frn_hourly.csv, "
        "frn_transactions.csv.",
        "cloud-hub datasets --data ../shared/data --out data",
    )
    p.add_argument("--data", type=Path, required=True, help="folder with m5_tiny/ and "
                   "freshretailnet_store0/")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="folder for the files (created)")
    p.add_argument("--no-category", action="store_true",
                   help="leave M5's departments out, as the bootstrap build does")  # fmt: skip
    p.set_defaults(func=cmd_datasets)
    group = sub.add_parser(
        "models", help="Model artifacts and the model registry.",
        description="Model artifacts and the model registry (versions, champions).",
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
    p = _command(model_commands, "sign",
                 "Sign every model manifest in a folder with the hub's active key "
                 "(<name>.signed.binpb beside each).",
                 "cloud-hub models sign models/bootstrap --db hub.db")  # fmt: skip
    p.add_argument("folder", type=Path, help="folder of <name>.onnx + <name>.manifest.json")
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.set_defaults(func=cmd_models_sign)
    p = _command(model_commands, "list",
                 "Every registered model version: status, parent, signing key, backtest error.",
                 "cloud-hub models list replenishment --db hub.db --json")  # fmt: skip
    p.add_argument("model", nargs="?", help="a model (replenishment, labor, availability) or "
                   "an artifact name; default all")  # fmt: skip
    p_show = _command(model_commands, "show", "One model version's manifest and status.",
                      "cloud-hub models show labor 2026.11.27-1 --db hub.db")  # fmt: skip
    p_show.add_argument("name", help="artifact name, e.g. labor or replenishment_daily")
    p_show.add_argument("version")
    p_promote = _command(model_commands, "promote",
                         "Make a version the champion (every artifact of the model); audited.",
                         "cloud-hub models promote replenishment 2026.11.27-1 --db hub.db "
                         "--by ana --reason 'reviewed'")  # fmt: skip
    p_promote.add_argument("model", help="replenishment, labor, availability or an artifact")
    p_promote.add_argument("version")
    p_back = _command(model_commands, "rollback",
                      "Take back the champion: its parent (else the last former champion) "
                      "serves again; audited.",
                      "cloud-hub models rollback labor --db hub.db --by ana "
                      "--reason 'bad week'")  # fmt: skip
    p_back.add_argument("model", help="replenishment, labor, availability or an artifact")
    p_export = _command(model_commands, "export",
                        "Write a registered version's signed artifacts into a folder (the "
                        "layout `models publish` sends to stores).",
                        "cloud-hub models export replenishment 2026.11.27-1 --out models/v2 "
                        "--db hub.db")  # fmt: skip
    p_export.add_argument("model", help="replenishment, labor, availability or an artifact")
    p_export.add_argument("version")
    p_export.add_argument("--out", type=Path, required=True, help="the folder to write")
    for q in (p, p_show, p_promote, p_back, p_export):
        q.add_argument("--db", type=Path, help="the hub database (SQLite)")
        q.set_defaults(func=cmd_models_registry)
    for q in (p_promote, p_back):
        q.add_argument("--by", help="who makes the change (default: the OS user)")
        q.add_argument("--reason", default="", help="why (kept in the hub audit log)")
    p = _command(
        sub, "train",
        "Train a challenger on what the stores synced, backtest it against the champion on "
        "the same held-out days per store, register it signed, promote it if it wins.",
        "cloud-hub train replenishment --db hub.db --json",
    )  # fmt: skip
    p.add_argument("model", choices=["replenishment", "labor", "availability"])
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.add_argument("--holdout-days", type=int, help="recent days held out per store (default 28)")
    p.add_argument("--margin", type=float, help="required improvement, share (default 0.02)")
    p.add_argument("--tolerance", type=float,
                   help="allowed worsening on any ring's stores, share (default 0.05)")  # fmt: skip
    p.add_argument("--sample-skus", type=int,
                   help="SKUs per store, by category; 0 = all (default 500)")  # fmt: skip
    p.add_argument("--origins", type=int, help="weekly training origins per store (default 16)")
    p.add_argument(
        "--season-weeks",
        type=int,
        help="also older origins within N weeks of the season; 0 = off (default 10)",
    )
    p.add_argument("--train-rows", type=int,
                   help="daily rows replenishment trains on at most (default 1500000)")  # fmt: skip
    p.add_argument("--threads", type=int, help="LightGBM threads (default 1)")
    p.add_argument("--horizon-stride", type=int,
                   help="rows for every k-th horizon per origin (default 4)")  # fmt: skip
    p.add_argument("--by", help="who runs it, for the audit log (default: the OS user)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_train)
    p = _command(model_commands, "publish",
                 "Publish a signed model folder to the stores over NATS (object store) and "
                 "offer it to every compatible store (a store whose agent or features cannot "
                 "run it is skipped and listed).",
                 "cloud-hub models publish models/v2 --ring canary --db hub.db --nats "
                 "nats://127.0.0.1:4222 --creds hub.nk")  # fmt: skip
    p.add_argument("folder", type=Path, help="folder signed by `cloud-hub models sign`")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--ring", help="offer to the active stores of this ring (default: all)")
    target.add_argument("--store", action="append", metavar="ID",
                        help="offer to this store (repeatable)")  # fmt: skip
    p.add_argument("--by", help="who publishes (default: the OS user)")
    _link_flags(p)
    p.set_defaults(func=cmd_models_publish)
    group = sub.add_parser(
        "rollout", help="Roll a model version out ring by ring (canary, early, all).",
        description="Roll a model version out ring by ring (canary, early, all), each ring "
        "behind a health gate that `cloud-hub serve` evaluates; a failing gate rolls the ring "
        "back and stops the rollout. `cloud-hub rollout MODEL VERSION` is short for "
        "`cloud-hub rollout start MODEL VERSION`.",
        epilog="example:\n  cloud-hub rollout labor 2026.07.01-1 --from models/v2 --db hub.db "
        "--nats nats://127.0.0.1:4222 --creds hub.nk --wait",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    rollout_actions = group.add_subparsers(dest="rollout_command", required=True,
                                           metavar="ACTION")  # fmt: skip
    p = _command(rollout_actions, "start",
                 "Start rolling MODEL VERSION out (a version not promoted needs --force, "
                 "which is audited); `cloud-hub serve` advances it.",
                 "cloud-hub rollout start labor 2026.07.01-1 --from models/v2 --force --wait "
                 "--timeout 3600 --db hub.db --nats nats://127.0.0.1:4222 "
                 "--creds hub.nk")  # fmt: skip
    p.add_argument("model", help="model name, e.g. labor")
    p.add_argument("version", help="the version to roll out")
    p.add_argument("--from", dest="source", action="append", type=Path, metavar="DIR",
                   help="folder signed by `cloud-hub models sign` holding the version (and "
                   "the versions stores serve now, for rollback); repeatable")  # fmt: skip
    p.add_argument("--force", action="store_true", help="roll out a version never promoted")
    p.add_argument("--wait", action="store_true", help="block until it completes or rolls "
                   "back (`cloud-hub serve` advances it); exit 1 if it rolled back")  # fmt: skip
    p.add_argument("--timeout", type=_positive_seconds, metavar="SECONDS",
                   help="wait (as --wait) at most SECONDS, then exit 3 saying where it is "
                   "(the rollout keeps going in `cloud-hub serve`)")  # fmt: skip
    p.add_argument("--by", help="who starts it (default: the OS user)")
    _link_flags(p)
    p.set_defaults(func=cmd_rollout)
    p = _command(rollout_actions, "status",
                 "Every rollout (state, ring) and what each store serves, by ring.",
                 "cloud-hub rollout status --db hub.db --json")  # fmt: skip
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.set_defaults(func=cmd_rollout)
    for action, summary in (("pause", "Pause the running rollout of MODEL (no ring advances)."),
                            ("resume", "Resume the paused rollout of MODEL."),
                            ("rollback", "Roll every ring of MODEL's rollout back to what each "
                             "store served before, and stop it.")):  # fmt: skip
        p = _command(rollout_actions, action, summary,
                     f"cloud-hub rollout {action} labor --db hub.db --nats "
                     "nats://127.0.0.1:4222 --creds hub.nk")  # fmt: skip
        p.add_argument("model", help="model name, e.g. labor")
        p.add_argument("--by", help="who does it (default: the OS user)")
        _link_flags(p)
        p.set_defaults(func=cmd_rollout)
    group = sub.add_parser(
        "keys", help="The hub's model-signing keys (ed25519).",
        description="The hub's model-signing keys: stores run only models signed by a key "
        "in their trust files. Rotation keeps the old key published until it is retired.",
        epilog="example:\n  cloud-hub keys public --db hub.db > hub-keys.pub",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    key_actions = group.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p_gen = _command(key_actions, "generate", "Create the first signing key (if none).",
                     "cloud-hub keys generate --db hub.db")  # fmt: skip
    p_rot = _command(key_actions, "rotate",
                     "A new active key; the old one stays published until retired.",
                     "cloud-hub keys rotate --db hub.db --by ana")  # fmt: skip
    p_ret = _command(key_actions, "retire", "Stop publishing a rotated-out key.",
                     "cloud-hub keys retire 9f2c51d0a4be7781 --db hub.db --by ana")  # fmt: skip
    p_ret.add_argument("key_id", help="the previous key's id")
    p_pub = _command(key_actions, "public",
                     "Print the trust file stores need (active and previous keys).",
                     "cloud-hub keys public --db hub.db --out hub-keys.pub")  # fmt: skip
    p_pub.add_argument("--out", type=Path, help="write the trust file here (atomically)")
    for q in (p_gen, p_rot, p_ret, p_pub):
        q.add_argument("--db", type=Path, help="the hub database (SQLite)")
        q.set_defaults(func=cmd_keys)
    for q in (p_gen, p_rot, p_ret):
        q.add_argument("--by", help="who makes the change (default: the OS user)")
    p = _command(
        sub,
        "serve",
        "Ingest what the stores sync (JetStream -> hub database), acknowledge chain heads.",
        "cloud-hub serve --db hub.db --nats nats://127.0.0.1:4222 --insecure",
    )
    _link_flags(p)
    p.add_argument("--embedded-nats", type=Path, metavar="DIR",
                   help="start an embedded nats-server with JetStream in DIR")  # fmt: skip
    p.add_argument("--grpc", metavar="HOST:PORT", help="also serve the gRPC API here (TLS "
                   "required unless HOST is loopback; port 0: any free port)")  # fmt: skip
    p.add_argument("--api-tls-cert", type=Path, help="the API's TLS certificate (PEM)")
    p.add_argument("--api-tls-key", type=Path, help="the API's TLS private key (PEM)")
    p.add_argument("--api-tls-client-ca", type=Path,
                   help="require client certificates signed by this CA (mutual TLS)")  # fmt: skip
    p.add_argument("--no-api-auth", action="store_true", help="DEVELOPMENT ONLY: serve the "
                   "API without tokens (logged as a warning)")  # fmt: skip
    p.set_defaults(func=cmd_serve)
    p = _command(
        sub,
        "status",
        "Per store: records received, verified audit chain, last heartbeat (exit 1 if a "
        "chain is broken).",
        "cloud-hub status --db hub.db --json",
    )
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.set_defaults(func=cmd_status)
    group = sub.add_parser(
        "decisions", help="Approve, reject or override a store's pending decision from the hub.",
        description="Approve, reject or override a store's pending decision from the hub: the "
        "store applies it (audited) or refuses it with the reason.",
        epilog="example:\n  cloud-hub decisions approve S001:decision:17 --by ana --reason "
        '"promo week" --db hub.db --nats nats://127.0.0.1:4222 --insecure',
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    steps = group.add_subparsers(dest="decisions_command", required=True, metavar="ACTION")
    for action, summary in (
        ("approve", "Approve a store's pending decision."),
        ("reject", "Reject a store's pending decision."),
        ("override", "Approve a store's pending decision with another quantity."),
    ):
        extra = " --quantity 12" if action == "override" else ""
        p = _command(steps, action, summary,
                     f"cloud-hub decisions {action} S001:decision:17{extra} --by ana --reason "
                     f'"checked" --db hub.db --nats nats://127.0.0.1:4222 --insecure')  # fmt: skip
        p.add_argument("id", help="the store decision, e.g. S001:decision:17")
        p.add_argument("--by", required=True, help="who decides")
        p.add_argument("--reason", required=True, help="why")
        if action == "override":
            p.add_argument("--quantity", type=float, required=True, help="the quantity to use")
        _link_flags(p)
        p.set_defaults(func=cmd_decision_step)
    group = sub.add_parser(
        "command", help="Send a store an operational command (executed once, audited).",
        description="Send a store an operational command: it is executed once and audited "
        "by the store, and the audit record comes back with the chain.",
        epilog="example:\n  cloud-hub command resend-audit S001 --from-seq 1 --by ana --nats "
        "nats://127.0.0.1:4222 --insecure",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    kinds = group.add_subparsers(dest="command_kind", required=True, metavar="KIND")
    p = _command(kinds, "resend-audit",
                 "Have the store send its audit chain again from a seq (after a hub restore).",
                 "cloud-hub command resend-audit S001 --from-seq 1 --by ana --nats "
                 "nats://127.0.0.1:4222 --insecure")  # fmt: skip
    p.add_argument("--from-seq", type=int, default=1, help="first audit seq to send again")
    p2 = _command(kinds, "run-cycle", "Have the store run its decision cycle now.",
                  "cloud-hub command run-cycle S001 --as-of 2026-11-27 --by ana --nats "
                  "nats://127.0.0.1:4222 --insecure")  # fmt: skip
    p2.add_argument("--as-of", help="the store-local business day (default: its today)")
    for kind_parser in (p, p2):
        kind_parser.add_argument("store", help="the store id, e.g. S001")
        kind_parser.add_argument("--by", required=True, help="who sends it")
        _link_flags(kind_parser)
        kind_parser.set_defaults(func=cmd_command)
    p = _command(
        sub,
        "approvals",
        "Approvals taken at the hub and each store's answer (applied, or refused and why).",
        "cloud-hub approvals --db hub.db --json",
    )
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.add_argument("--limit", type=int, default=100, help="newest first (default 100)")
    p.set_defaults(func=cmd_approvals)
    group = sub.add_parser(
        "outcomes", help="What followed each decision, and the metrics computed from it.",
        description="What followed each decision (sales, stock and stock-outs over an order's "
        "window, traffic vs staffing, shelf-check results), joined from the stores' synced "
        "outcomes, and metrics per store, category, model version and ISO week (formulas: "
        "docs/OUTCOMES.md). Records `serve` has not joined yet are joined first.",
        epilog="example:\n  cloud-hub outcomes metrics --store S001 --week 2026-W27 --db hub.db",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    outcome_actions = group.add_subparsers(dest="outcomes_command", required=True,
                                           metavar="ACTION")  # fmt: skip
    p = _command(outcome_actions, "show", "What followed one decision, and whether its whole "
                 "window has been synced (complete) or not yet (partial).",
                 "cloud-hub outcomes show S001:decision:17 --db hub.db --json")  # fmt: skip
    p.add_argument("id", help="the store decision, e.g. S001:decision:17")
    p_metrics = _command(outcome_actions, "metrics", "Metrics per ISO week, store, category "
                         "and model version, each with the counts it came from.",
                         "cloud-hub outcomes metrics --store S001 --category dairy "
                         "--week 2026-W27 --db hub.db --json")  # fmt: skip
    p_metrics.add_argument("--store", help="only this store, e.g. S001")
    p_metrics.add_argument("--category", help="only this category ('' for store-level rows)")
    p_metrics.add_argument("--model-version", help="only decisions of this model version")
    p_metrics.add_argument("--week", help="only this ISO week, e.g. 2026-W27")
    p_metrics.add_argument("--week-from", help="from this ISO week on")
    p_metrics.add_argument("--week-to", help="up to this ISO week")
    p_metrics.add_argument("--limit", type=int, default=1000, help="at most this many rows")
    for q in (p, p_metrics):
        q.add_argument("--db", type=Path, help="the hub database (SQLite)")
        q.set_defaults(func=cmd_outcomes)
    p = _command(outcome_actions, "shadow", "Stores in policy mode shadow (decisions recorded, "
                 "old process kept) against stores executing the kit's decisions: the "
                 "difference-in-differences of stock-out rate and inventory before vs after "
                 "going live, as a lift file (docs/OUTCOMES.md, Lift).",
                 "cloud-hub outcomes shadow --db hub.db --out shadow-lift.json")  # fmt: skip
    p.add_argument("--window-days", type=int, default=28,
                   help="days either side of going live (default 28, at least 7)")  # fmt: skip
    p.add_argument("--out", type=Path, help="also write the lift JSON to this file")
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.set_defaults(func=cmd_outcomes_shadow)
    p = _command(sub, "roi", "The ROI statement: direct impact (from a lift file) apart from "
                 "enabling impact (from the hub's decisions), net of the costs in a TOML file, "
                 "with payback and a low/central/high range (docs/OUTCOMES.md).",
                 "cloud-hub roi --db hub.db --costs docs/roi-costs.example.toml "
                 "--lift lift.json")  # fmt: skip
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.add_argument("--costs", type=Path, required=True,
                   help="costs file (TOML; example: docs/roi-costs.example.toml)")  # fmt: skip
    p.add_argument("--lift", type=Path, help="lift file (JSON); without it direct impact "
                   "is 'not measured'")  # fmt: skip
    p.set_defaults(func=cmd_roi)
    p = _command(sub, "report", "Write one self-contained HTML page with charts (forecast vs "
                 "actual, accuracy by model version, stock-outs and turns, the approval "
                 "funnel, lift, ROI) and report.json with the same numbers.",
                 "cloud-hub report --db hub.db --out report --costs "
                 "docs/roi-costs.example.toml --lift lift.json")  # fmt: skip
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.add_argument("--out", type=Path, required=True, help="folder for index.html and report.json")
    p.add_argument("--costs", type=Path, help="costs file (TOML) for the ROI table")
    p.add_argument("--lift", type=Path, help="lift file (JSON) for the lift charts and ROI")
    p.add_argument("--sku", action="append", help="chart forecast vs actual for this SKU "
                   "(repeatable; default: the 3 SKUs with the most orders)")  # fmt: skip
    p.set_defaults(func=cmd_report)
    group = sub.add_parser(
        "stores", help="The store registry: identities, rings, time zones, revocation.",
        description="The store registry: one NATS identity per store with permissions to its "
        "own subjects only, its rollout ring, region and time zone. Changes rewrite the NATS "
        "server's authorization and reload it; other stores stay connected.",
        epilog="example:\n  cloud-hub stores add S001 --ring canary --tz Europe/Berlin --db "
        "hub.db", formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    actions = group.add_subparsers(dest="stores_command", required=True, metavar="ACTION")
    p = _command(actions, "add", "Register a store and issue its NATS identity (an nkey seed).",
                 "cloud-hub stores add S001 --ring canary --region north --tz Europe/Berlin "
                 "--db hub.db")  # fmt: skip
    p.add_argument("store", help="the store id, e.g. S001")
    p.add_argument("--ring", default="main", help="rollout ring (default main), e.g. canary")
    p.add_argument("--region", default="", help="free text, e.g. north")
    p.add_argument("--tz", default="UTC", help="the store's IANA time zone (default UTC)")
    p.set_defaults(func=cmd_stores)
    p_list = _command(actions, "list", "List the registered stores.",
                      "cloud-hub stores list --db hub.db --json")  # fmt: skip
    p_list.add_argument("--ring", help="only this ring")
    p_list.set_defaults(func=cmd_stores)
    p_revoke = _command(actions, "revoke",
                        "Revoke a store's identity (a stolen or retired box): the server closes "
                        "its connection and refuses it; its records stay.",
                        'cloud-hub stores revoke S001 --reason "box stolen" '
                        "--db hub.db")  # fmt: skip
    p_replace = _command(actions, "replace",
                         "New hardware for a store: revoke the old identity, issue a new one, "
                         "and open the next audit-chain epoch.",
                         'cloud-hub stores replace S001 --reason "disk failed" '
                         "--db hub.db")  # fmt: skip
    for q in (p_revoke, p_replace):
        q.add_argument("store", help="the store id, e.g. S001")
        q.add_argument("--reason", required=True, help="why (kept in the registry)")
        q.set_defaults(func=cmd_stores)
    p_auth = _command(actions, "authorization",
                      "Print (or write) the NATS server authorization for the registry, for a "
                      "server the hub does not manage itself.",
                      "cloud-hub stores authorization --db hub.db "
                      "--out /etc/nats/auth.conf")  # fmt: skip
    p_auth.add_argument("--out", type=Path, help="write it here (atomically) instead of stdout")
    p_auth.set_defaults(func=cmd_stores)
    for q in (p, p_revoke, p_replace):
        q.add_argument("--by", help="who makes the change, for the hub's audit log "
                       "(default: the OS user)")  # fmt: skip
    for q in (p, p_list, p_revoke, p_replace, p_auth):
        q.add_argument("--db", type=Path, help="the hub database (SQLite)")
        q.add_argument("--creds-dir", type=Path, help="where store seeds go (default creds/ "
                       "beside the database)")  # fmt: skip
        q.add_argument("--nats-auth-file", type=Path, help="the NATS server's authorization "
                       "include to rewrite")  # fmt: skip
        q.add_argument("--nats-pid-file", type=Path, help="that server's pid file (reloaded)")
        q.add_argument(
            "--embedded-nats",
            type=Path,
            metavar="DIR",
            help="the embedded server of `cloud-hub serve --embedded-nats DIR`",
        )
    group = sub.add_parser(
        "hub-audit", help="The hub's own hash-chained audit log (registry changes, ...).",
        description="The hub's own audit log: who added, revoked or replaced which store (and "
        "later approvals and rollouts), hash-chained like a store's.",
        epilog="example:\n  cloud-hub hub-audit verify --db hub.db",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    audit_actions = group.add_subparsers(dest="hub_audit_command", required=True,
                                         metavar="ACTION")  # fmt: skip
    p = _command(audit_actions, "show", "Show the newest records.",
                 "cloud-hub hub-audit show --db hub.db --subject S001")  # fmt: skip
    p.add_argument("--subject", help="only records about this store (or other subject)")
    p.add_argument("--limit", type=int, default=100, help="newest first (default 100)")
    p_verify = _command(audit_actions, "verify",
                        "Verify the whole chain; exit 1 naming the first bad record.",
                        "cloud-hub hub-audit verify --db hub.db")  # fmt: skip
    for q in (p, p_verify):
        q.add_argument("--db", type=Path, help="the hub database (SQLite)")
        q.set_defaults(func=cmd_hub_audit)
    group = sub.add_parser(
        "api", help="The gRPC API's tokens and its record of mutating calls.",
        description="Who may call the hub's gRPC API (`cloud-hub serve --grpc`): tokens with "
        "a role (viewer, approver, admin), a scope (regions, categories) and an expiry; and "
        "the record of every mutating call.",
        epilog="example:\n  cloud-hub api tokens create --name ana --role approver --region "
        "north --expires 30d --db hub.db",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    api_actions = group.add_subparsers(dest="api_command", required=True, metavar="ACTION")
    tokens = api_actions.add_parser(
        "tokens", help="Create, list and revoke API tokens.",
        description="Create, list and revoke API tokens. The hub keeps only a token's hash.",
        epilog="example:\n  cloud-hub api tokens list --db hub.db",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    token_actions = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    p = _command(token_actions, "create",
                 "Create a token (printed once): viewer reads; approver also approves, rejects "
                 "and overrides in its regions (and categories); admin does everything.",
                 "cloud-hub api tokens create --name ana --role approver --region north "
                 "--expires 30d --db hub.db")  # fmt: skip
    p.add_argument("--name", required=True, help="who holds it; recorded as the actor of "
                   "every approval it sends")  # fmt: skip
    p.add_argument("--role", required=True, choices=["viewer", "approver", "admin"])
    p.add_argument("--region", action="append", help="approver: a registry region it may "
                   "approve in (repeatable; '*' for every region)")  # fmt: skip
    p.add_argument("--category", action="append", help="approver: only decisions of this "
                   "category (repeatable; default every category)")  # fmt: skip
    p.add_argument("--expires", default="30d", help="lifetime: 90m, 12h, 30d, 2w (default "
                   "30d, at most 366d)")  # fmt: skip
    p_list = _command(token_actions, "list", "List the tokens (never the secrets).",
                      "cloud-hub api tokens list --db hub.db --json")  # fmt: skip
    p_list.add_argument("--all", action="store_true", help="include revoked tokens")
    p_revoke = _command(token_actions, "revoke",
                        "Revoke a token: every call with it is refused from now on.",
                        "cloud-hub api tokens revoke ana --db hub.db")  # fmt: skip
    p_revoke.add_argument("name", help="the token's name")
    for q in (p, p_list, p_revoke):
        q.add_argument("--db", type=Path, help="the hub database (SQLite)")
        q.set_defaults(func=cmd_api_tokens)
    p = _command(api_actions, "calls",
                 "Mutating API calls, newest first: who (token name), what, and how it ended "
                 "(refused ones too).", "cloud-hub api calls --db hub.db --json")  # fmt: skip
    p.add_argument("--db", type=Path, help="the hub database (SQLite)")
    p.add_argument("--limit", type=int, default=100, help="newest first (default 100)")
    p.set_defaults(func=cmd_api_calls)
    group = sub.add_parser(
        "tls", help="TLS certificates for NATS (trials and tests).",
        description="TLS certificates for NATS: a private CA and a server certificate (and "
        "client certificates for mutual TLS).",
        epilog="example:\n  cloud-hub tls generate --out tls --host nats.example.com",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    tls_actions = group.add_subparsers(dest="tls_command", required=True, metavar="ACTION")
    p = _command(tls_actions, "generate",
                 "Write ca.pem, server.pem and server.key (EC P-256) for the given host names.",
                 "cloud-hub tls generate --out tls --host nats.example.com "
                 "--host 10.0.0.5")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="folder for the files")
    p.add_argument("--host", action="append", default=[],
                   help="DNS name or IP stores connect to (repeatable)")  # fmt: skip
    p.add_argument(
        "--client",
        action="append",
        help="also issue a client certificate NAME.pem (mutual TLS; repeatable)",
    )
    p.add_argument("--days", type=int, default=825, help="validity (default 825)")
    p.set_defaults(func=cmd_tls_generate)
    add_client_parser(sub, _command)
    p = _command(sub, "version", "Print the hub's version.", "cloud-hub version")
    p.set_defaults(func=cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if (
        argv[:1] == ["rollout"]
        and len(argv) > 1
        and not argv[1].startswith("-")
        and (argv[1] not in ("start", "status", "pause", "resume", "rollback"))
    ):
        argv.insert(1, "start")  # `cloud-hub rollout MODEL VERSION`, as the issue writes it
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KitError as exc:  # HubError and the shared kit's errors
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
