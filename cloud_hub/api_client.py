"""A client of the hub's gRPC API, for `cloud-hub client ...` (operators and scripts).

It connects the way docs/API.md describes: TLS with the hub's CA (``--ca``), mutual TLS
with a client certificate (``--cert``/``--key``), or plaintext on loopback only; a
bearer token read from a file (never a flag: flags end up in shell history and ``ps``).
gRPC errors become :class:`ApiCallError` at this one boundary, with the server's
message (which names the field or id) and a hint for the status code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from cloud_hub.api import is_loopback, parse_address
from cloud_hub.errors import HubConfigError, HubError
from storeedge.hub.v1 import hub_pb2_grpc

__all__ = ["ApiCallError", "ApiTarget", "HubClient", "as_dict", "enum_name", "enum_value"]

_HINTS = {
    grpc.StatusCode.UNAUTHENTICATED: "the token is unknown, expired or revoked: get a new one "
    "(`cloud-hub api tokens create --name NAME --role ROLE --db HUBDB`)",
    grpc.StatusCode.PERMISSION_DENIED: "your token's role or its region/category scope does "
    "not allow this (`cloud-hub api tokens list --db HUBDB`)",
    grpc.StatusCode.UNAVAILABLE: "is `cloud-hub serve --grpc HOST:PORT` running there, and "
    "does --ca trust its certificate?",
    grpc.StatusCode.NOT_FOUND: "check the id (`cloud-hub client stores`, `cloud-hub client "
    "decisions`)",
    grpc.StatusCode.INVALID_ARGUMENT: "the message names the field that is wrong",
    grpc.StatusCode.FAILED_PRECONDITION: "the decision is no longer pending (approved, "
    "expired or superseded): see `cloud-hub client decision ID`",
    grpc.StatusCode.DEADLINE_EXCEEDED: "the hub did not answer in time: try again, or raise "
    "--timeout",
}


class ApiCallError(HubError):
    """A call the hub's API refused or could not answer."""


@dataclass(frozen=True)
class ApiTarget:
    """Where the API is and how to reach it."""

    address: str
    token_file: Path
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    timeout_s: float = 10.0


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise HubConfigError(f"{what} {path}: {exc.strerror or exc}",
                             hint=f"check the path given for the {what}") from None  # fmt: skip


class HubClient:
    """One channel to the hub's HubService."""

    def __init__(self, target: ApiTarget) -> None:
        host, _port = parse_address(target.address)
        token = _read(target.token_file, "token file").decode().strip()
        if not token:
            raise HubConfigError(f"token file {target.token_file} is empty",
                                 hint="write the token `cloud-hub api tokens create` printed "
                                 "into it")  # fmt: skip
        if (target.cert is None) != (target.key is None):
            raise HubConfigError("--cert and --key go together (mutual TLS)",
                                 hint="pass both, or neither")  # fmt: skip
        if target.ca is not None:
            credentials = grpc.ssl_channel_credentials(
                _read(target.ca, "CA file"),
                _read(target.key, "client key") if target.key else None,
                _read(target.cert, "client certificate") if target.cert else None,
            )
            self.channel = grpc.secure_channel(target.address, credentials)
        elif is_loopback(host):
            self.channel = grpc.insecure_channel(target.address)
        else:
            raise HubConfigError(
                f"{target.address} is not loopback: the API needs TLS there",
                hint="pass --ca with the hub's CA certificate (cloud-hub tls generate wrote it)",
            )
        self.target = target
        self.metadata = [("authorization", f"Bearer {token}")]
        self.stub = hub_pb2_grpc.HubServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, request: Message) -> Any:
        try:
            return getattr(self.stub, method)(
                request, metadata=self.metadata, timeout=self.target.timeout_s
            )
        except grpc.RpcError as exc:
            code = exc.code()
            raise ApiCallError(
                f"{method} at {self.target.address}: {code.name}: {exc.details()}",
                hint=_HINTS.get(code, "see docs/API.md, status codes"),
            ) from None

    def pages(self, method: str, request: Message, field: str, limit: int) -> Iterator[Any]:
        """Items of a paged list call, following next_page_token, at most ``limit``."""
        count = 0
        while True:
            response = self.call(method, request)
            for item in getattr(response, field):
                yield item
                count += 1
                if count >= limit:
                    return
            if not response.next_page_token:
                return
            request.page_token = response.next_page_token


def as_dict(message: Message) -> dict[str, Any]:
    """A response as JSON-ready data, with the .proto's field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def enum_value(enum: Any, prefix: str, name: str | None) -> int:
    """``pending`` -> DECISION_STATE_PENDING's number; a clear error naming the choices."""
    if not name:
        return 0
    full = prefix + name.upper().replace("-", "_")
    try:
        return enum.Value(full)
    except ValueError:
        known = ", ".join(n.removeprefix(prefix).lower() for n in enum.keys()[1:])
        raise HubConfigError(f"{name!r} is not one of {known}", hint="pick one of those") from None


def enum_name(enum: Any, prefix: str, value: int) -> str:
    return enum.Name(value).removeprefix(prefix).lower()
