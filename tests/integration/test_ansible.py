"""The Ansible roles and playbooks, run for real: ``ansible-playbook`` against localhost.

Each store is a host with ``ansible_connection: local`` that installs under its own
root folder in a temp directory (``edge_agent_prefix``), without root and without
systemd (this machine has none): ``edge_agent_service_manager: process`` runs the
agent as a plain background process through the role's ``agentctl``. The release
venvs get storeedge from wheels built here from this checkout (``pip wheel
--no-deps``); their dependencies come from this venv through a .pth file
(``edge_agent_venv_site_dirs``), so nothing is downloaded while the roles run.

The tests share one fleet and run in file order: converge, converge again, check
mode, rollout to a new release, a broken release stopped at the canary and rolled
back, the rollback playbook, the maintenance window.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from nacl.signing import SigningKey

from storeedge import signing
from storeedge.natsserver import NatsServer

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    not (BIN / "ansible-playbook").exists(), reason="ansible-core is not installed in this venv"
)

RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE
)
#: A hub model-signing key, as `cloud-hub keys public` prints it.
TRUSTED_KEY = signing.trust_line(SigningKey.generate(), "test hub")
STORES = {"S001": ("canary", 19471), "S002": ("main", 19472)}


def build_wheel(out: Path, src_root: Path, version: str | None) -> subprocess.Popen:
    """Copy the package sources (no tests, venv or VCS) and start building a wheel."""
    src = src_root / f"src-{version or 'base'}"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for package in ("edge_agent", "cloud_hub", "models", "storeedge"):
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    if version:
        pyproject = src / "pyproject.toml"
        pyproject.write_text(
            re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text())
        )
        for init in (src / "edge_agent" / "__init__.py", src / "cloud_hub" / "__init__.py"):
            init.write_text(
                re.sub(r'(?m)^__version__ = ".*"$', f'__version__ = "{version}"', init.read_text())
            )
    return subprocess.Popen(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@dataclass
class Run:
    rc: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m[1]: {"ok": int(m[2]), "changed": int(m[3]), "failed": int(m[5])}
            for m in RECAP.finditer(self.output)
        }


@dataclass
class Fleet:
    root: Path
    nats_url: str
    wheels: dict[str, Path]
    runs: list[str] = field(default_factory=list)

    def prefix(self, store: str) -> Path:
        return self.root / "hosts" / store

    def base(self, store: str) -> Path:
        return self.prefix(store) / "opt/storeedge/agent"

    def release(self, store: str, link: str = "current") -> str | None:
        path = self.base(store) / link
        return Path(os.readlink(path)).name if path.is_symlink() else None

    def health(self, store: str) -> dict:
        url = f"http://127.0.0.1:{STORES[store][1]}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())

    def inventory(self) -> Path:
        site_packages = sysconfig.get_path("purelib")
        stores: dict[str, dict] = {"canary": {"hosts": {}}, "main": {"hosts": {}}}
        for store, (ring, port) in STORES.items():
            stores[ring]["hosts"][store] = {
                "edge_agent_store_id": store,
                "edge_agent_prefix": str(self.prefix(store)),
                "edge_agent_http_port": port,
            }
        doc = {
            "all": {
                "vars": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "edge_agent_manage_user": False,
                    "edge_agent_service_manager": "process",
                    "edge_agent_python": sys.executable,
                    "edge_agent_venv_site_dirs": [site_packages],
                    "edge_agent_pip_extra_args": ["--no-deps", "--no-index"],
                    "edge_agent_nats_url": self.nats_url,
                    "edge_agent_insecure": True,
                    "edge_agent_trusted_model_keys": [TRUSTED_KEY],
                    "edge_agent_store_tz": "Europe/Berlin",
                    "edge_agent_maintenance_window": {"start": "00:00", "end": "00:00"},
                    "edge_agent_health_retries": 20,
                    "edge_agent_health_delay": 1,
                    "edge_agent_version": "0.1.0",
                    "edge_agent_wheel": str(self.wheels["0.1.0"]),
                },
                "children": {"stores": {"children": stores}},
            }
        }
        path = self.root / "hosts.yml"
        path.write_text(yaml.safe_dump(doc))
        return path

    def play(
        self, playbook: str, *args: str, extra: dict | None = None, inventory: Path | None = None
    ) -> Run:
        inventory = inventory or self.inventory()
        cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), playbook, *args]
        if extra:
            extra_file = self.root / f"extra-{len(self.runs)}.json"
            extra_file.write_text(json.dumps(extra))
            cmd += ["-e", f"@{extra_file}"]
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_HOME": str(self.root / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(self.root / "ansible-tmp"),
            "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
            "ANSIBLE_PIPELINING": "1",
            "ANSIBLE_NOCOLOR": "1",
        }
        proc = subprocess.run(
            cmd, cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        output = proc.stdout + proc.stderr
        self.runs.append(f"$ {' '.join(cmd)}\n{output}")
        return Run(proc.returncode, output)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("ansible")
    builds = {
        "0.1.0": build_wheel(root / "wheels-0.1.0", root / "build", None),
        "0.2.0": build_wheel(root / "wheels-0.2.0", root / "build", "0.2.0"),
    }
    wheels = {}
    for version, proc in builds.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        (wheel,) = (root / f"wheels-{version}").glob("storeedge-*.whl")
        assert version in wheel.name
        wheels[version] = wheel
    server = NatsServer(root / "nats").start()
    fleet = Fleet(root, server.url, wheels)
    try:
        yield fleet
    finally:
        for store in STORES:
            agentctl = fleet.base(store) / "agentctl"
            if agentctl.exists():
                subprocess.run([str(agentctl), "stop"], capture_output=True, timeout=60)
        server.stop()


def explain(fleet: Fleet) -> str:
    return "\n\n".join(fleet.runs[-1:])[-6000:]


def test_edge_agent_converges_from_a_wheel_and_comes_up_healthy(fleet: Fleet) -> None:
    run = fleet.play("site.yml", "-l", "S001")
    assert run.rc == 0, explain(fleet)
    assert fleet.release("S001") == "0.1.0"
    assert fleet.release("S001", "previous") is None
    health = fleet.health("S001")
    assert health["status"] == "ok" and health["store"] == "S001"
    assert health["agent_version"] == "0.1.0"
    prefix = fleet.prefix("S001")
    assert (prefix / "var/lib/storeedge/mirror.db").is_file()
    assert oct((prefix / "var/lib/storeedge/inbox").stat().st_mode & 0o777) == "0o770"
    config = (fleet.base("S001") / "current/agent.toml").read_text()
    assert 'store_id = "S001"' in config and f'nats_url = "{fleet.nats_url}"' in config
    # The hub's model-signing key is the store's trust (the agent parsed it at start).
    trust_file = prefix / "etc/storeedge/hub-keys.pub"
    assert f"trust = [{json.dumps(str(trust_file))}]" in config
    assert trust_file.read_text().strip() == TRUSTED_KEY
    assert (prefix / "etc/logrotate.d/storeedge-agent").is_file()


def test_second_converge_changes_nothing(fleet: Fleet) -> None:
    run = fleet.play("site.yml", "-l", "S001")
    assert run.rc == 0, explain(fleet)
    assert run.recap()["S001"]["changed"] == 0, explain(fleet)
    assert fleet.health("S001")["connected"] is True


def test_check_mode_on_a_converged_host_reports_no_changes(fleet: Fleet) -> None:
    run = fleet.play("site.yml", "-l", "S001", "--check", "--diff")
    assert run.rc == 0, explain(fleet)
    assert run.recap()["S001"]["changed"] == 0, explain(fleet)


def test_rollout_upgrades_in_waves(fleet: Fleet) -> None:
    # S002 is new: the rollout installs it in the second play (the main ring)
    run = fleet.play(
        "rollout.yml",
        extra={"edge_agent_version": "0.2.0", "edge_agent_wheel": str(fleet.wheels["0.2.0"])},
    )
    assert run.rc == 0, explain(fleet)
    output = run.output
    assert output.index("Roll out to the canary ring") < output.index("Roll out to the other")
    for store in STORES:
        assert fleet.release(store) == "0.2.0"
        assert fleet.health(store)["agent_version"] == "0.2.0"
    assert fleet.release("S001", "previous") == "0.1.0"
    assert (fleet.base("S001") / "releases/0.1.0/venv/bin/edge-agent").exists()


def test_broken_release_is_stopped_at_the_canary_and_rolled_back(fleet: Fleet) -> None:
    # 0.3.0's config carries a setting the agent refuses: it never answers /healthz
    run = fleet.play(
        "rollout.yml",
        extra={
            "edge_agent_version": "0.3.0",
            "edge_agent_wheel": str(fleet.wheels["0.2.0"]),
            "edge_agent_config_extra": {"no_such_setting": 1},
            "edge_agent_health_retries": 6,
        },
    )
    assert run.rc != 0, explain(fleet)
    assert "rolled back to 0.2.0, healthy" in run.output, explain(fleet)
    assert "The rollout stops here" in run.output
    assert run.recap()["S001"]["failed"] == 1
    assert "S002" not in run.recap(), "the main ring must not be touched"
    assert fleet.release("S001") == "0.2.0"
    assert fleet.release("S001", "previous") == "0.1.0"
    assert fleet.health("S001")["agent_version"] == "0.2.0"
    assert fleet.release("S002") == "0.2.0"
    # the broken release stays on disk for inspection
    assert (fleet.base("S001") / "releases/0.3.0/agent.toml").is_file()


def test_rollback_playbook_returns_to_the_previous_release(fleet: Fleet) -> None:
    # 0.1.0 opens the mirror 0.2.0 ran on (expand-then-contract migrations)
    run = fleet.play("rollback.yml", "-l", "S001")
    assert run.rc == 0, explain(fleet)
    assert fleet.release("S001") == "0.1.0"
    assert fleet.release("S001", "previous") == "0.2.0"
    assert fleet.health("S001")["agent_version"] == "0.1.0"
    assert fleet.health("S002")["agent_version"] == "0.2.0"


def test_no_upgrade_outside_the_store_maintenance_window(fleet: Fleet) -> None:
    # S001 runs 0.1.0 after the rollback; 0.2.0 is still on disk
    tz = "Pacific/Auckland"
    local = datetime.now(UTC).astimezone(ZoneInfo(tz))
    window = {
        "start": (local + timedelta(hours=2)).strftime("%H:%M"),
        "end": (local + timedelta(hours=3)).strftime("%H:%M"),
    }
    upgrade = {
        "edge_agent_version": "0.2.0",
        "edge_agent_wheel": str(fleet.wheels["0.2.0"]),
        "edge_agent_store_tz": tz,
        "edge_agent_maintenance_window": window,
    }
    run = fleet.play("rollout.yml", "-l", "S001", extra=upgrade)
    assert run.rc == 0, explain(fleet)
    assert "outside the maintenance window" in run.output
    assert fleet.release("S001") == "0.1.0"
    # an emergency overrides the window
    run = fleet.play(
        "rollout.yml", "-l", "S001", extra={**upgrade, "edge_agent_ignore_maintenance_window": True}
    )
    assert run.rc == 0, explain(fleet)
    assert fleet.release("S001") == "0.2.0"
    assert fleet.health("S001")["agent_version"] == "0.2.0"


def test_site_installs_the_hub_and_renders_nats_with_its_authorization(fleet: Fleet) -> None:
    # no services here (no systemd): install and configure, then check what was written
    site_packages = sysconfig.get_path("purelib")
    hub_root, nats_root = fleet.root / "hosts/hub1", fleet.root / "hosts/nats1"
    routes = [f"nats-route://127.0.0.1:{port}" for port in (16222, 16223, 16224)]
    inventory = fleet.root / "hub-hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                    },
                    "children": {
                        "hub": {"hosts": {"hub1": {
                            "cloud_hub_prefix": str(hub_root),
                            "cloud_hub_manage_user": False,
                            "cloud_hub_service_manager": "none",
                            "cloud_hub_python": sys.executable,
                            "cloud_hub_venv_site_dirs": [site_packages],
                            "cloud_hub_pip_extra_args": ["--no-deps", "--no-index"],
                            "cloud_hub_wheel": str(fleet.wheels["0.1.0"]),
                            "cloud_hub_insecure": True,
                        }}},
                        "nats": {"hosts": {"nats1": {
                            "nats_prefix": str(nats_root),
                            "nats_manage_user": False,
                            "nats_service_manager": "none",
                            "nats_binary": str(BIN / "nats-server"),
                            "nats_cluster_routes": routes,
                        }}},
                    },
                }
            }
        )
    )  # fmt: skip
    run = fleet.play("site.yml", inventory=inventory)
    assert run.rc == 0, explain(fleet)
    assert run.recap()["hub1"]["failed"] == 0 and run.recap()["nats1"]["failed"] == 0
    conf = (nats_root / "etc/nats/nats-server.conf").read_text()
    assert "jetstream {" in conf and "include ./auth.conf" in conf
    assert all(route in conf for route in routes)
    auth = (nats_root / "etc/nats/auth.conf").read_text()
    assert "authorization {" in auth and '"nkey": "U' in auth  # the hub's own identity
    hub_toml = (hub_root / "opt/storeedge/hub/current/hub.toml").read_text()
    assert f'db = "{hub_root}/var/lib/storeedge-hub/hub.db"' in hub_toml
    # the rendered config passes the server's own check (the role runs it too)
    check = subprocess.run(
        [str(BIN / "nats-server"), "-t", "-c", str(nats_root / "etc/nats/nats-server.conf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_ansible_lint_production_profile_is_clean(tmp_path: Path) -> None:
    lint = BIN / "ansible-lint"
    if not lint.exists():
        pytest.skip("ansible-lint is not installed in this venv (the dev extra has it)")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [str(lint), "--offline"], cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


def test_maintenance_window_filter() -> None:
    sys.path.insert(0, str(ANSIBLE_DIR / "roles/edge_agent/filter_plugins"))
    try:
        from storeedge_window import storeedge_window
    finally:
        sys.path.pop(0)
    night = {"start": "22:00", "end": "04:00"}
    # 21:30 UTC is 22:30 in Berlin (winter): inside a window that spans midnight
    assert storeedge_window(night, "Europe/Berlin", "2026-01-10T21:30:00+00:00")["inside"]
    assert not storeedge_window(night, "Europe/Berlin", "2026-01-10T03:30:00+00:00")["inside"]
    assert storeedge_window(night, "America/Chicago", "2026-01-10T09:59:00+00:00")["inside"]
    day = {"start": "01:00", "end": "05:00"}
    result = storeedge_window(day, "Asia/Tokyo", "2026-01-10T17:00:00+00:00")  # 02:00 JST
    assert result == {"inside": True, "local": "2026-01-11 02:00 Asia/Tokyo"}
    assert storeedge_window({"start": "00:00", "end": "00:00"}, "UTC")["inside"]
