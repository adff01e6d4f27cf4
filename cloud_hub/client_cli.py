"""`cloud-hub client ...`: the common operator tasks through the hub's gRPC API.

Unlike the other `cloud-hub` commands, these do not open the hub database: they go
through the API with a token, so they work from any machine the API is reachable from,
and every mutating call is checked against the token's role and scope and audited at
the hub. Tables by default, ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloud_hub.api_client import ApiTarget, HubClient, as_dict, enum_name, enum_value
from storeedge.hub.v1 import hub_pb2

__all__ = ["add_client_parser"]

_STATE, _KIND = "DECISION_STATE_", "DECISION_KIND_"


def _client(args: argparse.Namespace) -> HubClient:
    return HubClient(ApiTarget(address=args.address, token_file=args.token_file, ca=args.ca,
                               cert=args.cert, key=args.key, timeout_s=args.timeout))  # fmt: skip


def _when(message: Any, field: str) -> str:
    if not message.HasField(field):
        return "-"
    return getattr(message, field).ToDatetime().strftime("%Y-%m-%d %H:%M")


def _stores(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    stores = list(client.pages("ListStores", hub_pb2.ListStoresRequest(ring=args.ring or "",
                                                                       page_size=500),
                               "stores", args.limit))  # fmt: skip

    def text() -> str:
        lines = [f"{'store':<8} {'ring':<8} {'region':<8} {'registry':<12} {'chain':<7} "
                 f"{'length':>7} {'backlog':>7} {'last heartbeat':<16} agent"]  # fmt: skip
        for s in stores:
            lines.append(
                f"{s.store_id:<8} {s.ring or '-':<8} {s.region or '-':<8} "
                f"{enum_name(hub_pb2.RegistryStatus, 'REGISTRY_STATUS_', s.registry_status):<12} "
                f"{enum_name(hub_pb2.ChainStatus, 'CHAIN_STATUS_', s.chain_status):<7} "
                f"{s.chain_length:>7,} {sum(s.outbox_backlog.values()):>7,} "
                f"{_when(s, 'last_heartbeat_time'):<16} {s.agent_version or '-'}"
            )
        return "\n".join(lines)

    return {"stores": [as_dict(s) for s in stores]}, text


def _decision_line(d: Any) -> str:
    subject = d.sku or f"{d.hour:02d}:00"
    model = f"{d.model_name}@{d.model_version}" if d.model_name else "-"
    return (f"{d.decision_id:<20} {enum_name(hub_pb2.DecisionKind, _KIND, d.kind):<11} "
            f"{enum_name(hub_pb2.DecisionState, _STATE, d.state):<10} {d.business_date:<10} "
            f"{subject:<10} {d.quantity:>8.1f} {d.value:>9.2f} {d.confidence:>5.2f} "
            f"{model}")  # fmt: skip


def _decisions(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    request = hub_pb2.ListDecisionsRequest(
        store_id=args.store or "", page_size=min(args.limit, 500),
        state=enum_value(hub_pb2.DecisionState, _STATE, args.state),
        kind=enum_value(hub_pb2.DecisionKind, _KIND, args.kind),
    )  # fmt: skip
    found = list(client.pages("ListDecisions", request, "decisions", args.limit))

    def text() -> str:
        header = (f"{'decision':<20} {'kind':<11} {'state':<10} {'date':<10} {'sku/hour':<10} "
                  f"{'quantity':>8} {'value':>9} {'conf':>5} model")  # fmt: skip
        return "\n".join([header, *(_decision_line(d) for d in found)])

    return {"decisions": [as_dict(d) for d in found]}, text


def _decision(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    got = client.call("GetDecision", hub_pb2.GetDecisionRequest(decision_id=args.id))

    def text() -> str:
        d = got.decision
        lines = [_decision_line(d), f"  rule {d.rule or '-'}; expires {_when(d, 'expire_time')}"]
        lines += [f"  approval {a.request_id}: "
                  f"{enum_name(hub_pb2.ApprovalAction, 'APPROVAL_ACTION_', a.action)} by "
                  f"{a.actor} ({a.reason}) -> "
                  f"{enum_name(hub_pb2.ApprovalStatus, 'APPROVAL_STATUS_', a.status)}"
                  for a in got.approvals]  # fmt: skip
        lines += [f"  audit #{e.seq:<6} {e.event_type:<18} {e.actor:<16} {e.summary}"
                  + ("" if e.verified else "  (not verified yet)")
                  for e in got.audit_trail]  # fmt: skip
        return "\n".join(lines)

    return as_dict(got), text


def _decide(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    action = args.client_command
    if action == "approve":
        got = client.call("ApproveDecision", hub_pb2.ApproveDecisionRequest(
            decision_id=args.id, reason=args.reason))  # fmt: skip
    elif action == "reject":
        got = client.call("RejectDecision", hub_pb2.RejectDecisionRequest(
            decision_id=args.id, reason=args.reason))  # fmt: skip
    else:
        got = client.call("OverrideDecision", hub_pb2.OverrideDecisionRequest(
            decision_id=args.id, quantity=args.quantity, reason=args.reason))  # fmt: skip
    approval = got.approval
    return (
        as_dict(got),
        lambda: (
            f"{action} {args.id}: sent as {approval.request_id}; the store applies it when it "
            f"next hears from the hub (see `cloud-hub client decision {args.id}`)"
        ),
    )


def _audit(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    request = hub_pb2.ListAuditRecordsRequest(
        store_id=args.store, from_seq=args.from_seq, event_type=args.event_type or "",
        subject_id=args.subject or "", page_size=min(args.limit, 500),
    )  # fmt: skip
    records = list(client.pages("ListAuditRecords", request, "records", args.limit))

    def text() -> str:
        return "\n".join(f"#{r.seq:<7} {r.event_type:<20} {r.actor:<16} {r.subject_id:<22} "
                         f"{r.summary}" for r in records)  # fmt: skip

    return {"records": [as_dict(r) for r in records]}, text


def _verify(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    got = client.call("VerifyChain", hub_pb2.VerifyChainRequest(store_id=args.store))
    status = enum_name(hub_pb2.ChainStatus, "CHAIN_STATUS_", got.status)

    def text() -> str:
        line = (
            f"{got.store_id}: chain {status}, {got.chain_length:,} entries, "
            f"head {got.chain_head[:16]}"
        )
        if got.HasField("first_bad_record"):
            bad = got.first_bad_record
            line += f"\n  first bad record {bad.record_id}: {bad.reason}"
        return line

    args.exit_code = 0 if got.status in (hub_pb2.CHAIN_STATUS_OK, hub_pb2.CHAIN_STATUS_EMPTY) else 1
    return as_dict(got), text


_ACTIONS = {"stores": _stores, "decisions": _decisions, "decision": _decision,
            "approve": _decide, "reject": _decide, "override": _decide, "audit": _audit,
            "verify": _verify}  # fmt: skip


def cmd_client(args: argparse.Namespace) -> int:
    from cloud_hub.cli import _emit  # the CLI's one way to print (text or --json)

    with _client(args) as client:
        document, text = _ACTIONS[args.client_command](client, args)
    _emit(args, document, text)
    return getattr(args, "exit_code", 0)


def add_client_parser(sub: argparse._SubParsersAction, command: Callable[..., Any]) -> None:
    """`cloud-hub client ACTION`; ``command`` makes a subcommand with help and an example."""
    group = sub.add_parser(
        "client", help="Stores, decisions, approvals and audit through the hub's gRPC API.",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog="example:\n  cloud-hub client decisions --state pending --address "
        "hub.example.com:50051 --ca tls/ca.pem --token-file ~/.storeedge-token",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    actions = group.add_subparsers(dest="client_command", required=True, metavar="ACTION")
    at = "--address 127.0.0.1:50051 --token-file token"
    parsers = []
    p = command(
        actions,
        "stores",
        "Stores with their ring, chain, backlog and last heartbeat.",
        f"cloud-hub client stores --ring canary {at}",
    )
    p.add_argument("--ring", help="only this ring")
    parsers.append(p)
    p = command(
        actions,
        "decisions",
        "Decisions, newest first, filtered.",
        f"cloud-hub client decisions --store S001 --state pending {at}",
    )
    p.add_argument("--store", help="only this store, e.g. S001")
    p.add_argument("--state", help="pending, approved, rejected, submitted, ...")
    p.add_argument("--kind", help="order, staffing or shelf_check")
    parsers.append(p)
    p = command(
        actions,
        "decision",
        "One decision with its approvals and audit trail.",
        f"cloud-hub client decision S001:decision:17 {at}",
    )
    p.add_argument("id", help="the decision, e.g. S001:decision:17")
    parsers.append(p)
    decide = (("approve", "Approve a pending decision as proposed."),
              ("reject", "Reject a pending decision."),
              ("override", "Approve a pending order with another quantity."))  # fmt: skip
    for action, summary in decide:
        extra = " --quantity 24" if action == "override" else ""
        p = command(
            actions,
            action,
            summary + " The store applies it and audits it.",
            f'cloud-hub client {action} S001:decision:17{extra} --reason "promo week" {at}',
        )
        p.add_argument("id", help="the decision, e.g. S001:decision:17")
        p.add_argument("--reason", required=True, help="why (audited at the store and the hub)")
        if action == "override":
            p.add_argument("--quantity", type=float, required=True, help="the quantity to use")
        parsers.append(p)
    p = command(
        actions,
        "audit",
        "A store's audit records as the hub holds them.",
        f"cloud-hub client audit S001 --event-type APPROVAL {at}",
    )
    p.add_argument("store", help="the store id, e.g. S001")
    p.add_argument("--from-seq", type=int, default=0, help="from this chain position on")
    p.add_argument("--event-type", help="e.g. APPROVAL, DECISION_CREATED, MODEL_CHANGED")
    p.add_argument("--subject", help="only records about this, e.g. S001:decision:17")
    parsers.append(p)
    p = command(
        actions,
        "verify",
        "A store's chain as the hub verified it (exit 1 if broken).",
        f"cloud-hub client verify S001 {at}",
    )
    p.add_argument("store", help="the store id, e.g. S001")
    parsers.append(p)
    for p in parsers:
        p.add_argument("--address", required=True, help="the API, HOST:PORT")
        p.add_argument("--token-file", type=Path, required=True,
                       help="a file holding your API token")  # fmt: skip
        p.add_argument("--ca", type=Path, help="the hub's CA certificate (TLS)")
        p.add_argument("--cert", type=Path, help="client certificate (mutual TLS)")
        p.add_argument("--key", type=Path, help="client key (mutual TLS)")
        p.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
        p.add_argument("--limit", type=int, default=100, help="at most this many rows")
        p.set_defaults(func=cmd_client)
