"""Model signatures: the hub signs each model's manifest with ed25519, stores verify.

What is signed is the serialized ``ModelManifest`` (protobuf bytes), which names
the ONNX file's sha256 and the feature-spec hash: one signature covers the graph
and what it expects. It travels as a ``SignedManifest`` (``<name>.signed.binpb``
beside ``<name>.onnx``); a store verifies the signature over those very bytes
before it parses them, then checks the ONNX bytes against the sha256 inside.

Keys: a signing key is a 32-byte ed25519 seed in a file (mode 0600) at the hub.
A **trust file** holds public keys, one per line::

    ed25519 9f2c51d0a4be7781 3q2+7w8a...base64...=   # hub key, 2026-11-26

Stores trust only the keys in their trust files (``edge-agent run --trust FILE``,
repeatable). Rotation is overlapping: publish the new key beside the old one,
let every store trust both, switch signing to the new key, and only then drop
the old one from the trust files.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from storeedge.errors import KitError
from storeedge.v1 import model_pb2

__all__ = [
    "SignatureError",
    "TrustedKey",
    "generate_key",
    "key_id",
    "load_signing_key",
    "load_trust",
    "sign_manifest",
    "trust_line",
    "verify_manifest",
]


class SignatureError(KitError):
    """A manifest is unsigned, signed by a key not trusted, or its bytes were changed."""


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    verify_key: VerifyKey
    comment: str = ""


def key_id(public: bytes) -> str:
    """Short id of a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(public).hexdigest()[:16]


def generate_key(path: Path) -> SigningKey:
    """A new signing key written to ``path`` (mode 0600; never overwrites)."""
    key = SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(bytes(key)).decode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def load_signing_key(path: Path) -> SigningKey:
    try:
        return SigningKey(base64.b64decode(path.read_text().strip(), validate=True))
    except (OSError, ValueError) as exc:
        raise SignatureError(
            f"cannot read the signing key {path}: {exc}",
            hint="`cloud-hub keys generate` makes one",
        ) from exc


def trust_line(key: SigningKey | VerifyKey, comment: str = "") -> str:
    """The public half as one trust-file line."""
    public = bytes(key.verify_key if isinstance(key, SigningKey) else key)
    line = f"ed25519 {key_id(public)} {base64.b64encode(public).decode()}"
    return f"{line}   # {comment}" if comment else line


def load_trust(paths: Iterable[Path]) -> dict[str, TrustedKey]:
    """Every key in the trust files, by key id; a malformed line names file and line."""
    trusted: dict[str, TrustedKey] = {}
    for path in paths:
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise SignatureError(
                f"trust file {path}: {exc.strerror or exc}",
                hint="`cloud-hub keys public --db HUBDB > FILE` writes one",
            ) from exc
        for number, raw in enumerate(lines, 1):
            text, _, comment = raw.partition("#")
            if not text.strip():
                continue
            parts = text.split()
            try:
                if len(parts) != 3 or parts[0] != "ed25519":
                    raise ValueError("expected: ed25519 KEYID BASE64")
                public = base64.b64decode(parts[2], validate=True)
                if key_id(public) != parts[1]:
                    raise ValueError(f"key id {parts[1]} does not match the key")
                trusted[parts[1]] = TrustedKey(parts[1], VerifyKey(public), comment.strip())
            except ValueError as exc:
                raise SignatureError(
                    f"trust file {path}, line {number}: {exc}",
                    hint="copy the lines `cloud-hub keys public` prints",
                ) from None
    return trusted


def sign_manifest(manifest: model_pb2.ModelManifest, key: SigningKey) -> model_pb2.SignedManifest:
    body = manifest.SerializeToString(deterministic=True)
    return model_pb2.SignedManifest(
        manifest=body,
        signature=key.sign(body).signature,
        key_id=key_id(bytes(key.verify_key)),
    )


def verify_manifest(
    signed: model_pb2.SignedManifest | bytes, trusted: Mapping[str, TrustedKey], *, what: str
) -> model_pb2.ModelManifest:
    """The manifest, once its signature checks out against a trusted key.

    ``what`` names the artifact in errors (e.g. ``"model labor 2026.11.26-1"``).
    """
    if isinstance(signed, bytes):
        try:
            signed = model_pb2.SignedManifest.FromString(signed)
        except DecodeError:
            raise SignatureError(f"{what}: the signature file is not a SignedManifest") from None
    if not signed.signature:
        raise SignatureError(f"{what}: unsigned", hint="sign it with `cloud-hub models sign`")
    key = trusted.get(signed.key_id)
    if key is None:
        raise SignatureError(
            f"{what}: signed by key {signed.key_id or '?'}, which this store does not trust",
            hint="add the hub's key to a --trust file (`cloud-hub keys public`)",
        )
    try:
        key.verify_key.verify(signed.manifest, signed.signature)
    except BadSignatureError:
        raise SignatureError(
            f"{what}: the signature does not match the manifest (changed after signing)"
        ) from None
    return model_pb2.ModelManifest.FromString(signed.manifest)
