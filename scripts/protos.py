#!/usr/bin/env python3
"""Generate, lock and check the ``storeedge.v1`` protobuf contract.

Usage (from anywhere; paths are relative to the repository root)::

    python scripts/protos.py generate   # regenerate storeedge/v1/*_pb2.py(i) from protos/
    python scripts/protos.py lock       # update protos/storeedge_v1.lock.binpb if compatible
    python scripts/protos.py lock --force   # update it even if the change is breaking
    python scripts/protos.py check      # fail on stale generated code or a broken lock

Always uses ``python -m grpc_tools.protoc`` from the running interpreter (never a system
protoc), so the output depends on the installed grpcio-tools version.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from google.protobuf import descriptor_pb2  # noqa: E402

from storeedge.compat import breaking_changes, load_descriptor_set  # noqa: E402

PROTO_ROOT = ROOT / "protos"
PROTO_DIR = PROTO_ROOT / "storeedge" / "v1"
GENERATED_DIR = ROOT / "storeedge" / "v1"
GENERATED_PATTERNS = ("*_pb2.py", "*_pb2.pyi")
LOCK_FILE = PROTO_ROOT / "storeedge_v1.lock.binpb"

_VERSION_LINE = re.compile(rb"^# Protobuf Python Version: (\S+)$", re.MULTILINE)


class ProtocError(RuntimeError):
    """protoc failed (or grpc_tools is missing)."""


def proto_files() -> list[str]:
    """The .proto sources, as paths relative to the repository root, sorted."""
    files = sorted(p.relative_to(ROOT).as_posix() for p in PROTO_DIR.glob("*.proto"))
    if not files:
        raise ProtocError(f"no .proto files in {PROTO_DIR}")
    return files


def run_protoc(*args: str) -> None:
    """Run ``python -m grpc_tools.protoc -I protos <args> <proto files>`` from the repo root."""
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", "protos", *args, *proto_files()]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        if "No module named grpc_tools" in result.stderr:
            raise ProtocError("grpc_tools is not installed: pip install grpcio-tools")
        raise ProtocError(f"protoc failed ({' '.join(cmd)}):\n{result.stderr.strip()}")
    if result.stderr.strip():
        print(result.stderr.strip(), file=sys.stderr)  # protoc warnings (e.g. unused imports)


def generate_into(out_dir: Path) -> None:
    """Write the generated Python code (``storeedge/v1/*_pb2.py`` + ``.pyi``) under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run_protoc(f"--python_out={out_dir}", f"--pyi_out={out_dir}")


def build_descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """Compile the current protos into a FileDescriptorSet (with imports, no source info)."""
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        out = Path(tmp) / "current.binpb"
        run_protoc("--include_imports", f"--descriptor_set_out={out}")
        return load_descriptor_set(out)


def _generated_files(directory: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pattern in GENERATED_PATTERNS:
        for path in directory.glob(pattern):
            found[path.name] = path
    return found


def generated_differences(committed_dir: Path | None = None) -> list[str]:
    """Regenerate into a temp dir and list how the committed generated files differ."""
    committed_dir = GENERATED_DIR if committed_dir is None else committed_dir
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        generate_into(Path(tmp))
        fresh = _generated_files(Path(tmp) / "storeedge" / "v1")
        committed = _generated_files(committed_dir)
        for name in sorted(fresh.keys() | committed.keys()):
            rel = (committed_dir / name).relative_to(ROOT).as_posix()
            if name not in committed:
                problems.append(f"{rel}: missing (not generated/committed)")
            elif name not in fresh:
                problems.append(f"{rel}: stale (no .proto produces it any more)")
            else:
                new_bytes = fresh[name].read_bytes()
                old_bytes = committed[name].read_bytes()
                if new_bytes != old_bytes:
                    problems.append(
                        f"{rel}: differs from regenerated code{_version_hint(old_bytes, new_bytes)}"
                    )
    return problems


def _version_hint(old: bytes, new: bytes) -> str:
    old_v, new_v = _VERSION_LINE.search(old), _VERSION_LINE.search(new)
    if old_v and new_v and old_v.group(1) != new_v.group(1):
        return (
            f" (committed code was generated for protobuf {old_v.group(1).decode()}, the installed"
            f" grpcio-tools generates for {new_v.group(1).decode()}: install the grpcio-tools"
            " version the repo was generated with, or regenerate and commit)"
        )
    return ""


def lock_violations() -> tuple[list[str], bool]:
    """(breaking changes of the current protos against the lock, lock is current)."""
    if not LOCK_FILE.exists():
        return [
            f"{LOCK_FILE.relative_to(ROOT)} is missing: run `python scripts/protos.py lock`"
        ], False
    old = load_descriptor_set(LOCK_FILE)
    new = build_descriptor_set()
    return breaking_changes(old, new), old == new


# -- commands ---------------------------------------------------------------------------------


def cmd_generate(_args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        generate_into(Path(tmp))
        fresh = _generated_files(Path(tmp) / "storeedge" / "v1")
        committed = _generated_files(GENERATED_DIR)
        GENERATED_DIR.mkdir(parents=True, exist_ok=True)
        changed = 0
        for name, path in sorted(fresh.items()):
            target = GENERATED_DIR / name
            if not target.exists() or target.read_bytes() != path.read_bytes():
                shutil.copyfile(path, target)
                print(f"wrote {target.relative_to(ROOT)}")
                changed += 1
        for name in sorted(committed.keys() - fresh.keys()):
            (GENERATED_DIR / name).unlink()
            print(f"removed stale {(GENERATED_DIR / name).relative_to(ROOT)}")
            changed += 1
    if not changed:
        print("generated code is up to date")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        out = Path(tmp) / "lock.binpb"
        run_protoc("--include_imports", f"--descriptor_set_out={out}")
        new_bytes = out.read_bytes()
    new = descriptor_pb2.FileDescriptorSet.FromString(new_bytes)
    rel = LOCK_FILE.relative_to(ROOT)
    if LOCK_FILE.exists():
        violations = breaking_changes(load_descriptor_set(LOCK_FILE), new)
        if violations:
            stream = sys.stdout if args.force else sys.stderr
            print(f"{len(violations)} breaking change(s) against {rel}:", file=stream)
            for violation in violations:
                print(f"  {violation}", file=stream)
            if not args.force:
                print("lock NOT updated (use --force to override)", file=sys.stderr)
                return 1
            print("--force: updating the lock anyway")
        if LOCK_FILE.read_bytes() == new_bytes:
            print(f"{rel} is up to date")
            return 0
    LOCK_FILE.write_bytes(new_bytes)
    print(f"wrote {rel} ({len(new.file)} files)")
    return 0


def cmd_check(_args: argparse.Namespace) -> int:
    failed = False
    differences = generated_differences()
    if differences:
        failed = True
        print("generated code is out of date (run `python scripts/protos.py generate`):")
        for line in differences:
            print(f"  {line}")
    else:
        print("generated code: up to date")
    violations, current = lock_violations()
    if violations:
        failed = True
        print(f"breaking changes against {LOCK_FILE.relative_to(ROOT)}:")
        for line in violations:
            print(f"  {line}")
    elif not current:
        print(
            f"compatibility: OK (note: {LOCK_FILE.relative_to(ROOT)} predates compatible additions;"
            " run `python scripts/protos.py lock` and commit it)"
        )
    else:
        print("compatibility: OK")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="regenerate the committed Python code").set_defaults(
        func=cmd_generate
    )
    lock = sub.add_parser("lock", help="update the committed descriptor-set lock if compatible")
    lock.add_argument("--force", action="store_true", help="write the lock even if breaking")
    lock.set_defaults(func=cmd_lock)
    sub.add_parser("check", help="fail on stale generated code or breaking changes").set_defaults(
        func=cmd_check
    )
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ProtocError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
