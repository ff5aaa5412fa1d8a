"""Discovery and scan across real network namespaces (issue 3, point 4).

The test builds its own network: a switch namespace with a bridge (multicast snooping off),
a scanner namespace and four device-host namespaces, joined by veth pairs. Each lab device
gets its own macvlan interface on its host, with the device's identity MAC and an address in
198.18.<n>.0/24 (RFC 2544 benchmark range) configured only inside those namespaces; no
namespace has a default route, so nothing can leave. ``python -m provscan.lab --place …``
serves the devices inside each host namespace; ``provscan discover`` and ``provscan scan``
run inside the scanner namespace. Everything is deleted in a finalizer.

Skips with the reason when namespaces cannot be made (not root, no ``ip``, denied).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provscan.discovery.runner import PROTOCOLS
from provscan.lab.server import load_devices
from provscan.lab.spec import DeviceSpec

HOSTS = 4
#: Devices per host namespace; the discovery-only devices are always among them.
DEVICES = 24
SUBNET_OCTET = 100 + os.getpid() % 100
SCANNER_ADDRESS = f"198.18.{SUBNET_OCTET}.1"
#: The scope interlock (set to loopback by conftest) widened to this test's own namespace
#: subnet, which exists only inside namespaces with no route out.
NAMESPACE_ENV = {
    **os.environ,
    "PROVSCAN_ALLOWED_TARGETS": f"127.0.0.0/8,::1/128,198.18.{SUBNET_OCTET}.0/24",
}
#: A /16 holding the test segment's /24: more targets than unicast discovery goes to
#: (MAX_UNICAST_TARGETS). Its other addresses exist nowhere: the namespaces have no route
#: out, so the scan's connections to them fail at once inside the scanner namespace.
WIDE_TARGETS = "198.18.0.0/16"
WIDE_ENV = {**NAMESPACE_ENV, "PROVSCAN_ALLOWED_TARGETS": f"127.0.0.0/8,::1/128,{WIDE_TARGETS}"}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=check)


def _choose_devices() -> list[DeviceSpec]:
    devices = [d for d in load_devices() if not d.expect.hostile]
    with_discovery = [d for d in devices if d.discovery]
    macs = {d.identity.mac for d in with_discovery}
    others = []
    for device in devices:
        mac = device.identity.mac
        if device.discovery or not mac or mac in macs or int(mac[:2], 16) & 1:
            continue
        macs.add(mac)
        others.append(device)
    return [*with_discovery, *others][:DEVICES]


@dataclass
class NamespaceNetwork:
    namespaces: list[str]
    scanner: str
    placements: dict[str, DeviceSpec]  # address -> device

    def run(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run provscan inside the scanner namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.scanner, sys.executable, "-m", "provscan", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=NAMESPACE_ENV if env is None else env,
        )


def _skip_reason() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    probe = f"psprobe{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


@pytest.fixture(scope="module")
def network() -> Iterator[NamespaceNetwork]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    switch, scanner = f"ps{tag}sw", f"ps{tag}scan"
    hosts = [f"ps{tag}h{i}" for i in range(HOSTS)]
    namespaces = [switch, scanner, *hosts]
    processes: list[subprocess.Popen[bytes]] = []
    state = Path(tempfile.mkdtemp(prefix="provscan-netns-"))
    try:
        for namespace in namespaces:
            _ip("netns", "add", namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _ip("-n", switch, "link", "set", "br0", "up")
        for index, namespace in enumerate([scanner, *hosts]):
            port = f"p{index}"
            _ip(
                "-n",
                namespace,
                "link",
                "add",
                "eth0",
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                switch,
            )
            _ip("-n", switch, "link", "set", port, "master", "br0", "up")
            _ip("-n", namespace, "link", "set", "eth0", "up")
        _ip("-n", scanner, "addr", "add", f"{SCANNER_ADDRESS}/24", "dev", "eth0")
        # Multicast leaves through the test segment only; there is no default route at all.
        _ip("-n", scanner, "route", "add", "224.0.0.0/4", "dev", "eth0")

        placements: dict[str, DeviceSpec] = {}
        per_host: dict[str, list[str]] = {h: [] for h in hosts}
        for index, device in enumerate(_choose_devices()):
            host = hosts[index % HOSTS]
            address = f"198.18.{SUBNET_OCTET}.{10 + index}"
            link = f"d{index}"
            _ip(
                "-n",
                host,
                "link",
                "add",
                "link",
                "eth0",
                "name",
                link,
                "type",
                "macvlan",
                "mode",
                "bridge",
            )
            if device.identity.mac:
                _ip("-n", host, "link", "set", link, "address", device.identity.mac)
            _ip("-n", host, "addr", "add", f"{address}/24", "dev", link)
            _ip("-n", host, "link", "set", link, "up")
            placements[address] = device
            per_host[host].append(f"{device.id}={address}")
        for host in hosts:
            # Each macvlan answers ARP for its own address only (one MAC per device).
            for setting in ("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"):
                _ip("netns", "exec", host, "sysctl", "-qw", setting)
            command = ["ip", "netns", "exec", host, sys.executable, "-m", "provscan.lab"]
            for placement in per_host[host]:
                command += ["--place", placement]
            command += ["--state-dir", str(state / host)]
            log = open(state / f"{host}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append(
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=NAMESPACE_ENV,
                )
            )
            log.close()
        deadline = time.monotonic() + 30
        for host, process in zip(hosts, processes, strict=True):
            while not (state / host / "lab.json").exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    log_text = (state / f"{host}.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"lab in {host} did not start:\n{log_text}")
                time.sleep(0.05)
        yield NamespaceNetwork(namespaces, scanner, placements)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for namespace in namespaces:
            _ip("netns", "del", namespace, check=False)
        shutil.rmtree(state, ignore_errors=True)


def _check_identity(device: dict[str, object], spec: DeviceSpec, *, mac: bool = True) -> None:
    context = f"{spec.id}: {json.dumps(device)[:600]}"
    expect = spec.expect
    if expect.manufacturer is not None:
        assert device["manufacturer"] == expect.manufacturer, context
    if expect.brand is not None:
        assert (device["brand"] or device["manufacturer"]) == expect.brand, context
    if expect.model is not None:
        assert device["model"] == expect.model, context
    if expect.restricted is not None:
        assert device["restricted"] is expect.restricted, context
    if mac and spec.identity.mac:
        assert device["mac"] == spec.identity.mac, context


def test_discover_finds_and_attributes_every_device(network: NamespaceNetwork) -> None:
    # When provscan discover multicasts, broadcasts and ARP-sweeps the scanner's segment
    completed = network.run(
        "discover", "--iface", "eth0", "--timeout", "1.5", "-f", "json", "--no-db"
    )
    assert completed.returncode == 0, completed.stderr
    found = {d["ip"]: d for d in json.loads(completed.stdout)["devices"]}
    # Then every device is there with its wire MAC, and the ones that answer a discovery
    # protocol (incl. SADP-only and WS-Discovery-only) are attributed from those replies
    assert set(network.placements) <= set(found), sorted(set(network.placements) - set(found))
    for address, spec in network.placements.items():
        device = found[address]
        if spec.identity.mac:
            assert device["mac"] == spec.identity.mac, spec.id
        if any(service.protocol in PROTOCOLS for service in spec.discovery):
            _check_identity(device, spec)
    assert {"hik-nvr-sadp-only", "dahua-ipc-wsd-only"} <= {
        s.id for s in network.placements.values() if s.discovery
    }


def test_broadcast_alone_finds_sadp_and_dhdiscover_devices(network: NamespaceNetwork) -> None:
    code = (
        "import asyncio, json\n"
        "from provscan.discovery.runner import DiscoverySettings, discover_segments, segments_for\n"
        "s = DiscoverySettings(interface='eth0', timeout_s=1.0, multicast=False, arp=False,"
        " protocols=('sadp', 'dhdiscover'))\n"
        "r = asyncio.run(discover_segments(segments_for(s), s))\n"
        "print(json.dumps({h.address: list(h.protocols) for h in r.hosts}))\n"
    )
    completed = subprocess.run(
        ["ip", "netns", "exec", network.scanner, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=NAMESPACE_ENV,
    )
    assert completed.returncode == 0, completed.stderr
    found = json.loads(completed.stdout)
    for address, spec in network.placements.items():
        for service in spec.discovery:
            if service.protocol in ("sadp", "dhdiscover"):
                assert service.protocol in found.get(address, []), spec.id


def test_scan_with_discovery_finds_and_attributes_every_device(network: NamespaceNetwork) -> None:
    addresses = sorted(network.placements, key=lambda a: int(a.rsplit(".", 1)[1]))
    ports = sorted({s.port for d in network.placements.values() for s in d.services} | {80})
    target = f"{addresses[0]}-{addresses[-1].rsplit('.', 1)[1]}"
    completed = network.run(
        "scan",
        target,
        "--ports",
        ",".join(map(str, ports)),
        "-f",
        "json",
        "--no-db",
        "--timeout",
        "2",
        "--host-timeout",
        "15",
        "--iface",
        "eth0",
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    found = {d["ip"]: d for d in json.loads(completed.stdout)["devices"]}
    problems = []
    for address, spec in network.placements.items():
        try:
            assert address in found, f"{spec.id} not found"
            _check_identity(found[address], spec)
        except AssertionError as exc:
            attempts = [
                (a["probe"], a["port"], a["status"], a["error"][:80])
                for a in found.get(address, {}).get("attempts", [])
            ]
            problems.append(f"{str(exc).splitlines()[0][:300]}\n   attempts: {attempts}")
    assert not problems, "\n".join(problems)


def test_scan_of_a_wide_range_discovers_on_its_attached_segment(network: NamespaceNetwork) -> None:
    # Given targets far more numerous than unicast discovery goes to (a /16: a normal
    # corporate range) that hold the scanner's own segment, and a port nobody listens on
    # (so that only discovery can find a device)
    completed = network.run(
        "scan",
        WIDE_TARGETS,
        "--ports",
        "9",
        "-f",
        "json",
        "--no-db",
        "--timeout",
        "1",
        "--iface",
        "eth0",
        timeout=300,
        env=WIDE_ENV,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    notes = document["scan"]["notes"]
    found = {d["ip"]: d for d in document["devices"]}
    # Then multicast/broadcast discovery still ran on that segment: every device that answers
    # a discovery protocol (the SADP-only NVR, the WS-Discovery-only camera among them) is
    # found and attributed, with the MAC ARP resolved (the segment holds 256 targets)
    answering = {
        address: spec
        for address, spec in network.placements.items()
        if any(service.protocol in PROTOCOLS for service in spec.discovery)
    }
    assert {"hik-nvr-sadp-only", "dahua-ipc-wsd-only"} <= {s.id for s in answering.values()}
    assert set(answering) <= set(found), (sorted(set(answering) - set(found)), notes)
    for address, spec in answering.items():
        _check_identity(found[address], spec)
    # and the targets off the segment are counted without being listed, nothing was skipped
    assert set(found) <= set(network.placements), sorted(set(found) - set(network.placements))
    assert (
        "discovery: 65280 targets are not on an attached segment; only the TCP scan reaches them"
        in notes
    ), notes
    assert not [n for n in notes if "skipped" in n], notes
    assert "warning" not in completed.stderr, completed.stderr
