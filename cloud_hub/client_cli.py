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


_MODEL_STATUS, _ROLLOUT_STATE, _RUN_STATE = (
    "MODEL_VERSION_STATUS_", "ROLLOUT_STATE_", "TRAINING_RUN_STATE_")  # fmt: skip


def _version_line(v: Any) -> str:
    error = v.metrics.get("backtest.challenger.error")
    score = f"{error:.4f}" if error is not None else "-"
    return (f"{v.name:<30} {v.version:<22} "
            f"{enum_name(hub_pb2.ModelVersionStatus, _MODEL_STATUS, v.status):<11} "
            f"{v.parent_version or '-':<22} {v.training_rows:>9,} {score:>8} "
            f"{v.feature_spec_hash or '-':<16} {_when(v, 'create_time')}")  # fmt: skip


_VERSION_HEADER = (f"{'artifact':<30} {'version':<22} {'status':<11} {'parent':<22} "
                   f"{'rows':>9} {'error':>8} {'feature spec':<16} created")  # fmt: skip


def _models(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    request = hub_pb2.ListModelVersionsRequest(
        model=args.model or "", page_size=min(args.limit, 500),
        status=enum_value(hub_pb2.ModelVersionStatus, _MODEL_STATUS, args.status))  # fmt: skip
    found = list(client.pages("ListModelVersions", request, "model_versions", args.limit))
    return ({"model_versions": [as_dict(v) for v in found]},
            lambda: "\n".join([_VERSION_HEADER, *map(_version_line, found)]))  # fmt: skip


def _model(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    got = client.call("GetModelVersion", hub_pb2.GetModelVersionRequest(
        model=args.model, version=args.version))  # fmt: skip

    def text() -> str:
        lines = [_VERSION_HEADER]
        for a in got.artifacts:
            lines.append(_version_line(a))
            lines.append(f"  sha256 {a.sha256}; training window {a.training_window_start or '?'}"
                         f" .. {a.training_window_end or '?'}; key {a.key_id}")  # fmt: skip
            lines += [f"  {k:<40} {v:.6g}" for k, v in sorted(a.metrics.items())]
        return "\n".join(lines)

    return as_dict(got), text


def _champions(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    if args.client_command == "promote":
        got = client.call("PromoteModelVersion", hub_pb2.PromoteModelVersionRequest(
            model=args.model, version=args.version, reason=args.reason or ""))  # fmt: skip
    else:
        got = client.call("RollbackModel", hub_pb2.RollbackModelRequest(
            model=args.model, reason=args.reason or ""))  # fmt: skip
    return as_dict(got), lambda: "\n".join([f"{args.model}: champions now", _VERSION_HEADER,
                                            *map(_version_line, got.champions)])  # fmt: skip


def _rollout_line(r: Any) -> str:
    why = f" ({r.reason})" if r.reason else ""
    return (f"#{r.rollout_id:<4} {r.model:<30} {r.version:<22} "
            f"{enum_name(hub_pb2.RolloutState, _ROLLOUT_STATE, r.state):<11} ring {r.ring:<6} "
            f"by {r.actor}{' forced' if r.forced else ''}{why}")  # fmt: skip


def _rollout(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    action = args.rollout_action
    if action == "list":
        request = hub_pb2.ListRolloutsRequest(
            model=args.model or "", page_size=min(args.limit, 500),
            state=enum_value(hub_pb2.RolloutState, _ROLLOUT_STATE, args.state))  # fmt: skip
        found = list(client.pages("ListRollouts", request, "rollouts", args.limit))
        return ({"rollouts": [as_dict(r) for r in found]},
                lambda: "\n".join(map(_rollout_line, found)) or "no rollouts")  # fmt: skip
    if action == "status":
        target = args.target
        request = (hub_pb2.GetRolloutStatusRequest(rollout_id=int(target)) if target.isdigit()
                   else hub_pb2.GetRolloutStatusRequest(model=target))  # fmt: skip
        got = client.call("GetRolloutStatus", request)

        def text() -> str:
            lines = [_rollout_line(got.rollout),
                     f"  {'ring':<7} {'offered':>7} {'applied':>7} {'refused':>7} "
                     f"{'skipped':>7} {'back':>5}  gate"]  # fmt: skip
            for ring in got.rings:
                gate = f"{ring.gate_verdict}: {ring.gate_reason}" if ring.gate_verdict else "-"
                lines.append(f"  {ring.ring:<7} {ring.offered:>7} {ring.applied:>7} "
                             f"{ring.refused:>7} {ring.skipped:>7} {ring.rolled_back:>5}  "
                             f"{gate}")  # fmt: skip
            for st in got.stores:
                status = enum_name(hub_pb2.RolloutStoreStatus, "ROLLOUT_STORE_STATUS_", st.status)
                swap = enum_name(hub_pb2.SwapOutcome, "SWAP_OUTCOME_", st.swap)
                lines.append(f"  {st.store_id:<8} {st.ring:<7} {status:<12} swap {swap:<12} "
                             f"from {st.previous_version or '-'} {st.detail}")  # fmt: skip
            return "\n".join(lines)

        return as_dict(got), text
    reason = args.reason or ""
    if action == "start":
        got = client.call("StartRollout", hub_pb2.StartRolloutRequest(
            model=args.model, version=args.version, force=args.force, reason=reason))  # fmt: skip
    else:
        method = {"pause": "PauseRollout", "resume": "ResumeRollout",
                  "rollback": "RollbackRollout", "advance": "AdvanceRollout"}[action]  # fmt: skip
        request = getattr(hub_pb2, f"{method}Request")(model=args.model, reason=reason)
        got = client.call(method, request)
    return as_dict(got), lambda: _rollout_line(got.rollout)


def _run_line(run: Any) -> str:
    state = enum_name(hub_pb2.TrainingRunState, _RUN_STATE, run.state)
    result = ""
    if run.version:
        result = f" {run.version} {'promoted' if run.promoted else 'not promoted'}"
    if run.HasField("challenger_error") and run.HasField("champion_error"):
        result += f" (error {run.challenger_error:.4f} vs champion {run.champion_error:.4f})"
    return (f"#{run.run_id:<4} {run.model:<13} {state:<10} by {run.actor:<12} "
            f"{_when(run, 'create_time')}{result}")  # fmt: skip


def _wait_run(client: HubClient, run: Any, args: argparse.Namespace) -> Any:
    import time

    ended = (hub_pb2.TRAINING_RUN_STATE_SUCCEEDED, hub_pb2.TRAINING_RUN_STATE_FAILED)
    while run.state not in ended:
        time.sleep(1.0)
        run = client.call("GetTrainingRun", hub_pb2.GetTrainingRunRequest(run_id=run.run_id)).run
    args.exit_code = 0 if run.state == hub_pb2.TRAINING_RUN_STATE_SUCCEEDED else 1
    return run


def _run_text(run: Any) -> str:
    lines = [_run_line(run)]
    if run.progress:
        lines.append(f"  progress: {run.progress}")
    lines += [f"  {reason}" for reason in run.reasons]
    if run.error:
        lines.append(f"  error: {run.error}")
    return "\n".join(lines)


def _train(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    run = client.call("StartTraining", hub_pb2.StartTrainingRequest(model=args.model)).run
    if args.wait:
        run = _wait_run(client, run, args)
    return {"run": as_dict(run)}, lambda: _run_text(run)


def _training(client: HubClient, args: argparse.Namespace) -> tuple[Any, Callable[[], str]]:
    if args.run_id is not None:
        run = client.call("GetTrainingRun", hub_pb2.GetTrainingRunRequest(run_id=args.run_id)).run
        if args.wait:
            run = _wait_run(client, run, args)
        elif run.state == hub_pb2.TRAINING_RUN_STATE_FAILED:
            args.exit_code = 1
        return {"run": as_dict(run)}, lambda: _run_text(run)
    request = hub_pb2.ListTrainingRunsRequest(model=args.model or "",
                                              page_size=min(args.limit, 500))  # fmt: skip
    runs = list(client.pages("ListTrainingRuns", request, "runs", args.limit))
    return ({"runs": [as_dict(r) for r in runs]},
            lambda: "\n".join(map(_run_line, runs)) or "no training runs")  # fmt: skip


_ACTIONS = {"stores": _stores, "decisions": _decisions, "decision": _decision,
            "approve": _decide, "reject": _decide, "override": _decide, "audit": _audit,
            "verify": _verify, "models": _models, "model": _model, "promote": _champions,
            "model-rollback": _champions, "rollout": _rollout, "train": _train,
            "training": _training}  # fmt: skip


def cmd_client(args: argparse.Namespace) -> int:
    from cloud_hub.cli import _emit  # the CLI's one way to print (text or --json)

    with _client(args) as client:
        document, text = _ACTIONS[args.client_command](client, args)
    _emit(args, document, text)
    return getattr(args, "exit_code", 0)


def add_client_parser(sub: argparse._SubParsersAction, command: Callable[..., Any]) -> None:
    """`cloud-hub client ACTION`; ``command`` makes a subcommand with help and an example."""
    group = sub.add_parser(
        "client", help="Stores, decisions, approvals, audit, models, rollouts and training "
        "through the hub's gRPC API.",
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
    parsers += _model_parsers(actions, command, at)
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


def _model_parsers(actions: argparse._SubParsersAction, command: Callable[..., Any],
                   at: str) -> list[argparse.ArgumentParser]:  # fmt: skip
    """models, model, promote, model-rollback, rollout ACTION, train, training."""
    parsers = []
    p = command(actions, "models", "Model versions in the hub's registry, with their metrics.",
                f"cloud-hub client models --model replenishment {at}")  # fmt: skip
    p.add_argument("--model", help="a model (replenishment, labor, availability) or artifact")
    p.add_argument("--status", help="candidate, champion, retired or rolled_back")
    parsers.append(p)
    p = command(actions, "model", "One model version: every artifact, its hashes and metrics.",
                f"cloud-hub client model labor 2026.07.01-1 {at}")  # fmt: skip
    p.add_argument("model", help="a model or artifact, e.g. labor")
    p.add_argument("version", help="the version, e.g. 2026.07.01-1")
    parsers.append(p)
    p = command(actions, "promote", "Make a version its model's champion (admin; audited).",
                f'cloud-hub client promote labor 2026.07.01-1 --reason "ok" {at}')  # fmt: skip
    p.add_argument("model", help="the model, e.g. labor")
    p.add_argument("version", help="the version to make champion")
    p.add_argument("--reason", help="why (audited)")
    parsers.append(p)
    p = command(actions, "model-rollback",
                "Take back a model's champion; the previous one serves again (admin; audited).",
                f'cloud-hub client model-rollback labor --reason "bad week" {at}')  # fmt: skip
    p.add_argument("model", help="the model, e.g. labor")
    p.add_argument("--reason", help="why (audited)")
    parsers.append(p)
    group = actions.add_parser(
        "rollout", help="Model rollouts in rings (canary, early, all) through the API.",
        description="Start, watch and steer model rollouts; `cloud-hub serve` offers and gates "
        "each ring. Changes need an admin token and are audited.",
        epilog=f"example:\n  cloud-hub client rollout status labor {at}",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    steps = group.add_subparsers(dest="rollout_action", required=True, metavar="ACTION")
    p = command(steps, "start", "Start a rollout of a registry version at ring canary.",
                f"cloud-hub client rollout start labor 2026.07.01-1 {at}")  # fmt: skip
    p.add_argument("model", help="the model artifact, e.g. labor")
    p.add_argument("version", help="the version")
    p.add_argument("--force", action="store_true", help="even if never promoted (audited)")
    p.add_argument("--reason", help="why (audited)")
    parsers.append(p)
    p = command(steps, "status", "A rollout per ring and per store, with the gate's numbers.",
                f"cloud-hub client rollout status labor {at}")  # fmt: skip
    p.add_argument("target", help="a model artifact (its latest rollout) or a rollout id")
    parsers.append(p)
    p = command(steps, "list", "Rollouts, newest first.",
                f"cloud-hub client rollout list --state running {at}")  # fmt: skip
    p.add_argument("--model", help="only this model artifact")
    p.add_argument("--state", help="running, paused, completed, rolled_back or failed")
    parsers.append(p)
    for action, summary in (
        ("pause", "Pause a model's running rollout."),
        ("resume", "Resume a model's paused rollout."),
        ("rollback", "Roll back a model's active rollout: every offered store goes back."),
        ("advance", "Pass the current ring's gate now (operator override; --reason required)."),
    ):
        p = command(
            steps,
            action,
            summary + " Admin; audited.",
            f'cloud-hub client rollout {action} labor --reason "store visit" {at}',
        )
        p.add_argument("model", help="the model artifact, e.g. labor")
        p.add_argument("--reason", required=action == "advance", help="why (audited)")
        parsers.append(p)
    p = command(actions, "train", "Queue a retraining run that `cloud-hub serve` runs (admin).",
                f"cloud-hub client train replenishment --wait {at}")  # fmt: skip
    p.add_argument("model", help="replenishment, labor or availability")
    p.add_argument("--wait", action="store_true",
                   help="wait for the run to end (exit 1 if it failed)")  # fmt: skip
    parsers.append(p)
    p = command(actions, "training", "Training runs, or one run with its result.",
                f"cloud-hub client training 7 --wait {at}")  # fmt: skip
    p.add_argument("run_id", nargs="?", type=int, help="one run (else: the list)")
    p.add_argument("--model", help="only this model (list)")
    p.add_argument("--wait", action="store_true",
                   help="with RUN_ID: wait for it to end (exit 1 if it failed)")  # fmt: skip
    parsers.append(p)
    return parsers
