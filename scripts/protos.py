#!/usr/bin/env python3
"""Generate, lock and check the protobuf contracts: ``storeedge.v1`` and ``storeedge.hub.v1``.

Usage (from anywhere; paths are relative to the repository root)::

    python scripts/protos.py generate   # regenerate the committed *_pb2.py(i) (+ *_pb2_grpc.py)
    python scripts/protos.py lock       # update protos/<package>.lock.binpb if compatible
    python scripts/protos.py lock --force   # update them even if the change is breaking
    python scripts/protos.py check      # fail on stale generated code or a broken lock

Each package has its own folder of .proto files, its own generated folder and its own
lock (a descriptor set). ``storeedge.v1`` is the wire contract between stores and hub
(messages only); ``storeedge.hub.v1`` is the hub's gRPC API (messages and gRPC stubs).

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
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from google.protobuf import descriptor_pb2  # noqa: E402

from storeedge.compat import breaking_changes, load_descriptor_set  # noqa: E402

PROTO_ROOT = ROOT / "protos"
# storeedge.v1 (module globals, so tests can point them at a copy).
PROTO_DIR = PROTO_ROOT / "storeedge" / "v1"
GENERATED_DIR = ROOT / "storeedge" / "v1"
LOCK_FILE = PROTO_ROOT / "storeedge_v1.lock.binpb"
GENERATED_PATTERNS = ("*_pb2.py", "*_pb2.pyi")
GRPC_PATTERNS = ("*_pb2_grpc.py",)

_VERSION_LINE = re.compile(rb"^# Protobuf Python Version: (\S+)$", re.MULTILINE)


class Package(NamedTuple):
    """One contract: its .proto folder, its generated folder, its lock. (A NamedTuple, not a
    dataclass: tests load this script with importlib, outside sys.modules.)"""

    name: str
    proto_dir: Path
    generated_dir: Path
    lock_file: Path
    #: Also generate gRPC stubs (``*_pb2_grpc.py``).
    grpc: bool = False

    @property
    def patterns(self) -> tuple[str, ...]:
        return GENERATED_PATTERNS + (GRPC_PATTERNS if self.grpc else ())


def packages() -> list[Package]:
    """The contracts, read from the module globals at call time."""
    return [
        Package("storeedge.v1", PROTO_DIR, GENERATED_DIR, LOCK_FILE),
        Package(
            "storeedge.hub.v1",
            ROOT / "protos" / "storeedge" / "hub" / "v1",
            ROOT / "storeedge" / "hub" / "v1",
            ROOT / "protos" / "storeedge_hub_v1.lock.binpb",
            grpc=True,
        ),
    ]


def _default() -> Package:
    return packages()[0]


class ProtocError(RuntimeError):
    """protoc failed (or grpc_tools is missing)."""


def proto_files(package: Package | None = None) -> list[str]:
    """A package's .proto sources, as paths relative to the protos folder, sorted."""
    package = package or _default()
    files = sorted(
        p.relative_to(ROOT / "protos").as_posix() for p in package.proto_dir.glob("*.proto")
    )
    if not files:
        raise ProtocError(f"no .proto files in {package.proto_dir}")
    return files


def run_protoc(*args: str, package: Package | None = None) -> None:
    """Run ``python -m grpc_tools.protoc -I protos <args> <proto files>`` from the repo root."""
    files = proto_files(package)
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", "protos", *args, *files]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        if "No module named grpc_tools" in result.stderr:
            raise ProtocError("grpc_tools is not installed: pip install grpcio-tools")
        raise ProtocError(f"protoc failed ({' '.join(cmd)}):\n{result.stderr.strip()}")
    if result.stderr.strip():
        print(result.stderr.strip(), file=sys.stderr)  # protoc warnings (e.g. unused imports)


def generate_into(out_dir: Path, package: Package | None = None) -> Path:
    """Write a package's generated Python code under ``out_dir``; returns its folder there
    (``storeedge/v1/*_pb2.py`` + ``.pyi``; with gRPC also ``*_pb2_grpc.py``)."""
    package = package or _default()
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [f"--python_out={out_dir}", f"--pyi_out={out_dir}"]
    if package.grpc:
        args.append(f"--grpc_python_out={out_dir}")
    run_protoc(*args, package=package)
    return out_dir / package.proto_dir.relative_to(ROOT / "protos")


def build_descriptor_set(package: Package | None = None) -> descriptor_pb2.FileDescriptorSet:
    """Compile a package's protos into a FileDescriptorSet (with imports, no source info)."""
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        out = Path(tmp) / "current.binpb"
        run_protoc("--include_imports", f"--descriptor_set_out={out}", package=package)
        return load_descriptor_set(out)


def _generated_files(directory: Path, package: Package | None = None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pattern in (package or _default()).patterns:
        for path in directory.glob(pattern):
            found[path.name] = path
    return found


def generated_differences(committed_dir: Path | None = None) -> list[str]:
    """Regenerate into a temp dir and list how the committed generated files differ
    (every package; with ``committed_dir``, storeedge.v1 against that folder)."""
    if committed_dir is not None:
        return _package_differences(_default(), committed_dir)
    return [line for package in packages() for line in _package_differences(package)]


def _package_differences(package: Package, committed_dir: Path | None = None) -> list[str]:
    committed_dir = package.generated_dir if committed_dir is None else committed_dir
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        fresh = _generated_files(generate_into(Path(tmp), package), package)
        committed = _generated_files(committed_dir, package)
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
    """(breaking changes of the current protos against their locks, every lock is current)."""
    violations: list[str] = []
    current = True
    for package in packages():
        if not package.lock_file.exists():
            violations.append(
                f"{package.lock_file.relative_to(ROOT)} is missing: run "
                "`python scripts/protos.py lock`"
            )
            current = False
            continue
        old = load_descriptor_set(package.lock_file)
        new = build_descriptor_set(package)
        violations += breaking_changes(old, new)
        current = current and old == new
    return violations, current


# -- commands ---------------------------------------------------------------------------------


def cmd_generate(_args: argparse.Namespace) -> int:
    changed = 0
    for package in packages():
        changed += _generate_package(package)
    if not changed:
        print("generated code is up to date")
    return 0


def _generate_package(package: Package) -> int:
    target_dir = package.generated_dir
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        fresh = _generated_files(generate_into(Path(tmp), package), package)
        committed = _generated_files(target_dir, package)
        target_dir.mkdir(parents=True, exist_ok=True)
        changed = 0
        for name, path in sorted(fresh.items()):
            target = target_dir / name
            if not target.exists() or target.read_bytes() != path.read_bytes():
                shutil.copyfile(path, target)
                print(f"wrote {target.relative_to(ROOT)}")
                changed += 1
        for name in sorted(committed.keys() - fresh.keys()):
            (target_dir / name).unlink()
            print(f"removed stale {(target_dir / name).relative_to(ROOT)}")
            changed += 1
    return changed


def cmd_lock(args: argparse.Namespace) -> int:
    worst = 0
    for package in packages():
        worst = max(worst, _lock_package(package, force=args.force))
    return worst


def _lock_package(package: Package, *, force: bool) -> int:
    lock_file = package.lock_file
    with tempfile.TemporaryDirectory(prefix="storeedge-protos-") as tmp:
        out = Path(tmp) / "lock.binpb"
        run_protoc("--include_imports", f"--descriptor_set_out={out}", package=package)
        new_bytes = out.read_bytes()
    new = descriptor_pb2.FileDescriptorSet.FromString(new_bytes)
    rel = lock_file.relative_to(ROOT)
    if lock_file.exists():
        violations = breaking_changes(load_descriptor_set(lock_file), new)
        if violations:
            stream = sys.stdout if force else sys.stderr
            print(f"{len(violations)} breaking change(s) against {rel}:", file=stream)
            for violation in violations:
                print(f"  {violation}", file=stream)
            if not force:
                print("lock NOT updated (use --force to override)", file=sys.stderr)
                return 1
            print("--force: updating the lock anyway")
        if lock_file.read_bytes() == new_bytes:
            print(f"{rel} is up to date")
            return 0
    lock_file.write_bytes(new_bytes)
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
    locks = ", ".join(p.lock_file.relative_to(ROOT).as_posix() for p in packages())
    if violations:
        failed = True
        print(f"breaking changes against {locks}:")
        for line in violations:
            print(f"  {line}")
    elif not current:
        print(
            f"compatibility: OK (note: a lock of {locks} predates compatible additions;"
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
