"""The Ansible roles and playbooks, run for real: ``ansible-playbook`` against localhost.

Each host (the hub, a NATS server, the stores) has ``ansible_connection: local`` and
installs under its own root folder in a temp directory (``*_prefix``), without root and
without systemd (this machine has none): ``*_service_manager: process`` runs the NATS
server, the hub and the agents as plain background processes through the control
scripts the roles render (``natsctl``, ``hubctl``, ``agentctl``). The release venvs get
storeedge from wheels built here from this checkout (``pip wheel --no-deps``); their
dependencies come from this venv through a .pth file (``*_venv_site_dirs``), so nothing
is downloaded while the roles run. Release 0.2.0 carries one more expand-only mirror
migration than 0.1.0, as a real upgrade would, so that rolling back meets a mirror the
newer release has migrated.

The tests share one fleet and run in file order: the hub and NATS come up and enrol the
two stores (whose mirrors already hold simulated history), then converge, converge
again, check mode, rollout to a new release, a broken release stopped at the canary and
rolled back, the rollback playbook, the maintenance window.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
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

from edge_agent.mirror.schema import SCHEMA_VERSION
from storeedge.natscluster import free_ports
from tests.helpers import cli, wait_for

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    not (BIN / "ansible-playbook").exists(), reason="ansible-core is not installed in this venv"
)

RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE
)
STORES = {"S001": "canary", "S002": "main"}
STORE_TZ = "Europe/Berlin"
#: The newest mirror schema of this checkout (release 0.1.0 in these tests).
BASE_SCHEMA = SCHEMA_VERSION
#: What the 0.2.0 build appends to edge_agent/mirror/schema.py: one more expand-only
#: migration (a new table and a new column), as a real release would ship.
PROBE_MIGRATION = """

def _release_probe(db):
    db.execute("CREATE TABLE release_probe (note TEXT)")
    db.execute("ALTER TABLE decisions ADD COLUMN release_note TEXT")


MIGRATIONS = (*MIGRATIONS, Migration(version=MIGRATIONS[-1].version + 1, name="release probe",
                                     min_reader_version=1, apply=_release_probe))
SCHEMA_VERSION = MIGRATIONS[-1].version
"""


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
        with (src / "edge_agent" / "mirror" / "schema.py").open("a") as schema:
            schema.write(PROBE_MIGRATION)
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
    wheels: dict[str, Path]
    nats_port: int
    http_ports: dict[str, int]
    seeds: dict[str, str] = field(default_factory=dict)
    #: The installed hub's model-signing trust lines (`cloud-hub keys public`).
    trust: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    def prefix(self, host: str) -> Path:
        return self.root / "hosts" / host

    def base(self, store: str) -> Path:
        return self.prefix(store) / "opt/storeedge/agent"

    def mirror(self, store: str) -> Path:
        return self.prefix(store) / "var/lib/storeedge/mirror.db"

    def release(self, store: str, link: str = "current") -> str | None:
        path = self.base(store) / link
        return Path(os.readlink(path)).name if path.is_symlink() else None

    def health(self, store: str) -> dict:
        url = f"http://127.0.0.1:{self.http_ports[store]}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())

    def hub(self, *args: str) -> dict:
        """The installed hub's CLI, on the config the role wrote; its --json output."""
        base = self.prefix("hub1") / "opt/storeedge/hub/current"
        cmd = [str(base / "venv/bin/cloud-hub"), "--config", str(base / "hub.toml"), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    def schema_version(self, store: str) -> int:
        conn = sqlite3.connect(self.mirror(store), timeout=30)
        try:
            return conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        finally:
            conn.close()

    def inventory(self) -> Path:
        site_packages = sysconfig.get_path("purelib")
        stores: dict[str, dict] = {"canary": {"hosts": {}}, "main": {"hosts": {}}}
        for store, ring in STORES.items():
            stores[ring]["hosts"][store] = {
                "edge_agent_store_id": store,
                "edge_agent_prefix": str(self.prefix(store)),
                "edge_agent_http_port": self.http_ports[store],
                "edge_agent_nats_seed": self.seeds.get(store, ""),
            }
        nats_root = self.prefix("nats1")
        hub = {
            "cloud_hub_prefix": str(self.prefix("hub1")),
            "cloud_hub_manage_user": False,
            "cloud_hub_service_manager": "process",
            "cloud_hub_python": sys.executable,
            "cloud_hub_venv_site_dirs": [site_packages],
            "cloud_hub_pip_extra_args": ["--no-deps", "--no-index"],
            "cloud_hub_wheel": str(self.wheels["0.1.0"]),
            "cloud_hub_nats_url": self.nats_url,
            # NATS runs beside the hub: registry changes rewrite its authorization
            # and reload it at once
            "cloud_hub_nats_auth_file": str(nats_root / "etc/nats/auth.conf"),
            "cloud_hub_nats_pid_file": str(nats_root / "var/lib/nats/nats-server.pid"),
        }
        nats = {
            "nats_prefix": str(nats_root),
            "nats_manage_user": False,
            "nats_service_manager": "process",
            "nats_binary": str(BIN / "nats-server"),
            "nats_listen_host": "127.0.0.1",
            "nats_port": self.nats_port,
            "nats_monitor_port": 0,
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
                    "edge_agent_trusted_model_keys": self.trust,
                    "edge_agent_store_tz": STORE_TZ,
                    # a slot that has always passed: an agent decides as soon as it starts
                    "edge_agent_cycle_times": ["00:00"],
                    "edge_agent_maintenance_window": {"start": "00:00", "end": "00:00"},
                    "edge_agent_health_retries": 20,
                    "edge_agent_health_delay": 1,
                    "edge_agent_version": "0.1.0",
                    "edge_agent_wheel": str(self.wheels["0.1.0"]),
                },
                "children": {
                    "hub": {"hosts": {"hub1": hub}},
                    "nats": {"hosts": {"nats1": nats}},
                    "stores": {"children": stores},
                },
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

    def stop_all(self) -> None:
        scripts = [self.base(store) / "agentctl" for store in STORES] + [
            self.prefix("hub1") / "opt/storeedge/hub/hubctl",
            self.prefix("nats1") / "opt/nats/natsctl",
        ]
        for script in scripts:
            if script.exists():
                subprocess.run([str(script), "stop"], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """The hub and NATS installed and running, both stores enrolled; the stores' boxes
    already hold their POS history (simulated) when the agent is installed."""
    root = tmp_path_factory.mktemp("ansible")
    builds = {
        "0.1.0": build_wheel(root / "wheels-0.1.0", root / "build", None),
        "0.2.0": build_wheel(root / "wheels-0.2.0", root / "build", "0.2.0"),
    }
    nats_port, *http = free_ports("127.0.0.1", 1 + len(STORES))
    fleet = Fleet(root, {}, nats_port, dict(zip(STORES, http, strict=True)))
    for index, store in enumerate(STORES):
        fleet.mirror(store).parent.mkdir(parents=True)
        done = cli("edge-agent", "simulate", "--db", str(fleet.mirror(store)),
                   "--store", store, "--skus", "120", "--days", "90", "--seed", str(index),
                   "--tz", STORE_TZ)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    for version, proc in builds.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        (wheel,) = (root / f"wheels-{version}").glob("storeedge-*.whl")
        assert version in wheel.name
        fleet.wheels[version] = wheel
    try:
        run = fleet.play("site.yml", "-l", "hub,nats")
        assert run.rc == 0, explain(fleet)
        for store, ring in STORES.items():
            added = fleet.hub("stores", "add", store, "--ring", ring, "--tz", STORE_TZ,
                              "--by", "ansible-test", "--json")  # fmt: skip
            assert added["nats"]["reloaded"], added  # the running server took the new identity
            fleet.seeds[store] = Path(added["creds"]).read_text().strip()
        # the key the hub role created: what the stores must trust
        fleet.trust = fleet.hub("keys", "public", "--json")["trust"].strip().splitlines()
        assert len(fleet.trust) == 1 and fleet.trust[0].startswith("ed25519 ")
        yield fleet
    finally:
        fleet.stop_all()


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
    assert trust_file.read_text().strip() == "\n".join(fleet.trust)
    assert (prefix / "etc/logrotate.d/storeedge-agent").is_file()
    # connected with its own identity to the NATS server the nats role runs, deciding
    # on the history its box already held, and the installed hub has its decisions
    health = wait_for(lambda: (h := fleet.health("S001"))["connected"] and h["last_cycle"] and h,
                      timeout_s=120, what="S001 connected and past its first cycle")  # fmt: skip
    assert health["last_cycle"]["decisions"] > 0, health

    def at_hub() -> dict | None:
        return fleet.hub("status", "--json")["stores"].get("S001")

    decided = health["last_cycle"]["decisions"]
    hub = wait_for(lambda: (h := at_hub()) and h["received"]["decisions"] == decided and h,
                   timeout_s=120, what=f"S001's {decided} decisions at the hub")  # fmt: skip
    assert hub["chain_ok"] and hub["agent_version"] == "0.1.0", hub


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
    # S002, installed by this rollout, is connected with its own identity and deciding,
    # and the hub holds its decisions
    health = wait_for(lambda: (h := fleet.health("S002"))["connected"] and h["last_cycle"] and h,
                      timeout_s=120, what="S002 connected and past its first cycle")  # fmt: skip
    assert health["last_cycle"]["decisions"] > 0, health
    wait_for(lambda: (fleet.hub("status", "--json")["stores"].get("S002") or {})
             .get("received", {}).get("decisions"), timeout_s=120,
             what="S002's decisions at the hub")  # fmt: skip
    assert fleet.release("S001", "previous") == "0.1.0"
    assert (fleet.base("S001") / "releases/0.1.0/venv/bin/edge-agent").exists()
    # 0.2.0 migrated each mirror one step further (expand only)
    assert fleet.schema_version("S001") == fleet.schema_version("S002")
    assert fleet.schema_version("S001") == BASE_SCHEMA + 1


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
    # 0.1.0 opens the mirror 0.2.0 migrated (expand-then-contract migrations)
    run = fleet.play("rollback.yml", "-l", "S001")
    assert run.rc == 0, explain(fleet)
    assert fleet.release("S001") == "0.1.0"
    assert fleet.release("S001", "previous") == "0.2.0"
    assert fleet.health("S001")["agent_version"] == "0.1.0"
    assert fleet.health("S002")["agent_version"] == "0.2.0"
    assert fleet.schema_version("S001") == BASE_SCHEMA + 1
    # ... and decides and writes on it: a cycle the hub asks for over NATS
    before = fleet.health("S001")["last_cycle"]
    fleet.hub("command", "run-cycle", "S001", "--by", "ansible-test", "--json")
    after = wait_for(lambda: (c := fleet.health("S001")["last_cycle"]) != before and c,
                     timeout_s=120, what="the cycle the hub asked S001 for")  # fmt: skip
    assert after["decisions"] > 0, after


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
    # an emergency overrides the window; keeping two releases prunes the broken 0.3.0
    emergency = {**upgrade, "edge_agent_ignore_maintenance_window": True,
                 "edge_agent_keep_releases": 2}  # fmt: skip
    run = fleet.play("rollout.yml", "-l", "S001", extra=emergency)
    assert run.rc == 0, explain(fleet)
    assert fleet.release("S001") == "0.2.0"
    assert fleet.health("S001")["agent_version"] == "0.2.0"
    releases = sorted(p.name for p in (fleet.base("S001") / "releases").iterdir())
    assert releases == ["0.1.0", "0.2.0"], releases


def test_hub_and_nats_run_with_the_registry_authorization(fleet: Fleet) -> None:
    hub_root, nats_root = fleet.prefix("hub1"), fleet.prefix("nats1")
    hub_toml = (hub_root / "opt/storeedge/hub/current/hub.toml").read_text()
    assert f'db = "{hub_root}/var/lib/storeedge-hub/hub.db"' in hub_toml
    conf = (nats_root / "etc/nats/nats-server.conf").read_text()
    assert "jetstream {" in conf and "include ./auth.conf" in conf
    # the include holds the hub's identity and each enrolled store's, and nothing else
    auth = (nats_root / "etc/nats/auth.conf").read_text()
    assert "authorization {" in auth and auth.count('"nkey": "U') == 1 + len(STORES)
    stores = {s["store_id"]: s["ring"] for s in fleet.hub("stores", "list", "--json")["stores"]}
    assert stores == STORES
    # the role created the model-signing key once, in its folder, private to the hub
    signing_dir = hub_root / "var/lib/storeedge-hub/signing"
    assert oct(signing_dir.stat().st_mode & 0o777) == "0o700"
    assert f'signing_dir = "{signing_dir}"' in hub_toml
    assert [k["state"] for k in fleet.hub("keys", "public", "--json")["keys"]] == ["active"]
    # a second run of the hub and NATS plays changes nothing and keeps both running
    run = fleet.play("site.yml", "-l", "hub,nats")
    assert run.rc == 0, explain(fleet)
    assert run.recap()["hub1"]["changed"] == 0 and run.recap()["nats1"]["changed"] == 0, explain(
        fleet
    )
    for script in (hub_root / "opt/storeedge/hub/hubctl", nats_root / "opt/nats/natsctl"):
        status = subprocess.run([str(script), "status"], capture_output=True, text=True)
        assert status.returncode == 0 and "running" in status.stdout, status.stdout


def test_nats_cluster_config_passes_the_server_check(fleet: Fleet) -> None:
    # a three-node cluster's config, written only (no servers: routes lead nowhere here)
    root = fleet.prefix("nats2")
    routes = [f"nats-route://127.0.0.1:{port}" for port in free_ports("127.0.0.1", 3)]
    inventory = fleet.root / "nats2-hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                    },
                    "children": {"nats": {"hosts": {"nats2": {
                        "nats_prefix": str(root),
                        "nats_manage_user": False,
                        "nats_service_manager": "none",
                        "nats_binary": str(BIN / "nats-server"),
                        "nats_cluster_routes": routes,
                    }}}},
                }
            }
        )
    )  # fmt: skip
    run = fleet.play("site.yml", inventory=inventory)
    assert run.rc == 0, explain(fleet)
    conf = (root / "etc/nats/nats-server.conf").read_text()
    assert "cluster {" in conf and all(route in conf for route in routes)
    # the rendered config passes the server's own check (the role runs it too)
    check = subprocess.run(
        [str(BIN / "nats-server"), "-t", "-c", str(root / "etc/nats/nats-server.conf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_systemd_units_pass_systemd_analyze_verify(fleet: Fleet, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (Debian: the systemd package)")
    # the units as the roles render them for production (systemd), with the installed
    # hosts' paths so that every ExecStart names a real executable
    units = {
        "storeedge-agent.service": ("edge_agent", "agent.service.j2"),
        "storeedge-agent-health.service": ("edge_agent", "agent-health.service.j2"),
        "storeedge-agent-health.timer": ("edge_agent", "agent-health.timer.j2"),
        "storeedge-hub.service": ("cloud_hub", "cloud-hub.service.j2"),
        "nats-server.service": ("nats", "nats-server.service.j2"),
    }
    host_vars = {
        "ansible_python_interpreter": sys.executable,
        "edge_agent_prefix": str(fleet.prefix("S001")),
        "edge_agent_store_id": "S001",
        "cloud_hub_prefix": str(fleet.prefix("hub1")),
        "nats_prefix": str(fleet.prefix("nats1")),
        "_nats_binary": str(BIN / "nats-server"),
    }
    for name, (role, template) in units.items():
        defaults = ANSIBLE_DIR / "roles" / role / "defaults/main.yml"
        args = f"src={ANSIBLE_DIR / 'roles' / role / 'templates' / template} dest={tmp_path / name}"
        done = subprocess.run(
            [str(BIN / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
             "-m", "ansible.builtin.template", "-a", args,
             "-e", f"@{defaults}", "-e", json.dumps(host_vars)],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
                 "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1"},
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    verify = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in units)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    ours = [line for line in (verify.stdout + verify.stderr).splitlines()
            if any(name in line for name in units)]  # fmt: skip
    assert verify.returncode == 0 and not ours, verify.stdout + verify.stderr


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
