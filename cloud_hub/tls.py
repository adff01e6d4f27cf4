"""Certificates for TLS between stores and NATS, for trials and tests.

``cloud-hub tls generate --out DIR --host nats.example.com`` writes a private CA
and a server certificate signed by it (and, with ``--client NAME``, client
certificates for mutual TLS). Stores trust ``ca.pem`` (``nats_tls_ca``); the
server uses ``server.pem`` / ``server.key``. A retailer with its own PKI uses
its own files instead: the kit only needs paths.

Keys are EC P-256, written with mode 0600; certificates last ``days`` (825 by
default, the longest most clients accept).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsFiles", "generate_tls", "server_tls_block"]


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]]  # name -> (cert, key)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _issue(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    days: int,
    *,
    ca: bool = False,
    hosts: Sequence[str] = (),
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer if not ca else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def generate_tls(
    out: Path, hosts: Sequence[str], *, clients: Sequence[str] = (), days: int = 825
) -> TlsFiles:
    """A CA, a server certificate for ``hosts`` (DNS names or IPs), and client certificates."""
    if not hosts:
        raise ValueError("at least one --host is needed: the name stores connect to")
    out.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_cert = _issue("storeedge NATS CA", ca_key, x509.Name([]), ca_key, days, ca=True)
    _write_key(out / "ca.key", ca_key)
    _write_cert(out / "ca.pem", ca_cert)
    server_key = _key()
    server = _issue(hosts[0], server_key, ca_cert.subject, ca_key, days, hosts=hosts,
                    usage=ExtendedKeyUsageOID.SERVER_AUTH)  # fmt: skip
    _write_key(out / "server.key", server_key)
    _write_cert(out / "server.pem", server)
    issued: dict[str, tuple[Path, Path]] = {}
    for name in clients:
        key = _key()
        cert = _issue(name, key, ca_cert.subject, ca_key, days,
                      usage=ExtendedKeyUsageOID.CLIENT_AUTH)  # fmt: skip
        _write_key(out / f"{name}.key", key)
        _write_cert(out / f"{name}.pem", cert)
        issued[name] = (out / f"{name}.pem", out / f"{name}.key")
    return TlsFiles(out / "ca.pem", out / "server.pem", out / "server.key", issued)


def server_tls_block(files: TlsFiles, *, verify_clients: bool = False) -> str:
    """The nats-server ``tls`` block for these files (``verify``: clients need a cert)."""
    lines = [
        "tls {",
        f'  cert_file: "{files.server_cert}"',
        f'  key_file: "{files.server_key}"',
        f'  ca_file: "{files.ca}"',
    ]
    if verify_clients:
        lines.append("  verify: true")
    return "\n".join([*lines, "  timeout: 2", "}", ""])
