"""SNMP as a host-level UDP stage of the scheduler (issue 11, decision 0010).

Real scans over loopback UDP against the lab's SNMP agent. The telecom personalities that
answer SNMP are served on their own 127.N.62.x (N = 120-159 per test process) with their TCP
services removed, so that SNMP is the only way to find them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator, Sequence

import pytest

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.model import AttemptStatus, Device, Observation, ScanResult
from provscan.probes.snmp import ENVIRONMENT_VARIABLE
from provscan.transport.limits import ScanLimits

OCTET = 120 + os.getpid() % 40
BASE = f"127.{OCTET}.62"
PORTS = (22, 80)
LIMITS = ScanLimits(connect_timeout_s=0.5, read_timeout_s=0.5, per_connection_deadline_s=2.0)

_TELECOM = {d.id: d for d in load_devices(["telecom"])}
#: The Huawei VRP switch answering SNMP only (no SSH, no telnet).
SNMP_ONLY = _TELECOM["huawei-vrp-switch"].model_copy(
    update={"id": "snmp-only-huawei", "address": f"{BASE}.1", "services": []}
)
#: The same agent on another address, excluded from the scans that name it.
EXCLUDED = SNMP_ONLY.model_copy(update={"id": "snmp-only-excluded", "address": f"{BASE}.2"})
#: A device with a TCP service and an SNMP agent.
WITH_HTTP = _TELECOM["zte-olt-ssh"].model_copy(
    update={
        "id": "zte-with-http",
        "address": f"{BASE}.3",
        "services": [
            ServiceSpec(
                port=80,
                protocol="http",
                options={"default": {"status": 200, "headers": [["Server", "lighttpd"]]}},
            )
        ],
    }
)
DEVICES: list[DeviceSpec] = [SNMP_ONLY, EXCLUDED, WITH_HTTP]
#: Nothing listens here but the test's own UDP socket.
LISTENER = f"{BASE}.200"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(DEVICES) as running:
        yield running


def _scan(
    monkeypatch: pytest.MonkeyPatch,
    community: str | None,
    addresses: Sequence[str],
    excludes: Sequence[str] = (),
    sweep: bool = True,
) -> ScanResult:
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    if community is None:
        monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, community)
    targets = build_targets(addresses, excludes)
    return asyncio.run(
        run_scan(
            targets,
            list(addresses),
            PORTS,
            limits=LIMITS,
            discovery=None,
            posture=False,
            sweep_engine="builtin" if sweep else None,
        )
    )


def _by_address(result: ScanResult) -> dict[str, Device]:
    return {device.ip: device for device in result.devices}


def _snmp_requests(lab: Lab) -> list[str]:
    return [r.address for r in lab.record if r.protocol == "snmp"]


@pytest.mark.parametrize("sweep", [True, False], ids=["sweep", "own-connects"])
def test_a_device_answering_only_snmp_is_found_and_identified(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, sweep: bool
) -> None:
    # Given a Huawei switch with no TCP service at all, when scanned with a community
    lab.clear_record()
    devices = _by_address(_scan(monkeypatch, "public", [SNMP_ONLY.address], sweep=sweep))
    # Then it is a device, identified from SNMP alone, with one snmp attempt on 161
    device = devices[SNMP_ONLY.address]
    assert device.open_ports == ()
    assert (device.manufacturer, device.restricted) == ("Huawei", True)
    assert "answered SNMP (UDP 161)" in device.notes
    assert [(a.probe, a.port, a.status) for a in device.attempts] == [
        ("snmp", 161, AttemptStatus.OK)
    ]
    assert {e.rule_id for e in device.evidence} >= {"huawei.snmp.enterprise_2011"}
    assert _snmp_requests(lab) == [SNMP_ONLY.address]  # one request, one host


def test_snmp_is_asked_once_per_host_and_never_on_tcp_ports(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.clear_record()
    devices = _by_address(_scan(monkeypatch, "public", [WITH_HTTP.address]))
    device = devices[WITH_HTTP.address]
    assert device.open_ports == (80,)
    snmp = [a for a in device.attempts if a.probe == "snmp"]
    assert [(a.port, a.status) for a in snmp] == [(161, AttemptStatus.OK)]
    assert not [a for a in device.attempts if a.probe == "snmp" and a.port != 161]
    assert (device.manufacturer, device.restricted) == ("ZTE", True)
    # The TCP port still gets its own probes (HTTP) and no SNMP note: it has an open port.
    assert any(a.probe == "http" and a.port == 80 for a in device.attempts)
    assert not any(note.startswith("answered SNMP") for note in device.notes)
    assert _snmp_requests(lab) == [WITH_HTTP.address]


def test_a_silent_host_with_an_open_port_records_one_timeout_attempt(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The agent answers only "public": another community gets silence.
    devices = _by_address(_scan(monkeypatch, "not-public", [WITH_HTTP.address]))
    (snmp,) = [a for a in devices[WITH_HTTP.address].attempts if a.probe == "snmp"]
    assert (snmp.port, snmp.status, snmp.observations) == (161, AttemptStatus.TIMEOUT, ())
    assert snmp.error.startswith("no reply within")


def test_exclusions_are_honoured(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two SNMP-only devices in a range, one excluded
    lab.clear_record()
    result = _scan(monkeypatch, "public", [f"{BASE}.1-2"], excludes=[EXCLUDED.address])
    # Then the excluded one is never asked and is not in the result
    assert set(_by_address(result)) == {SNMP_ONLY.address}
    assert EXCLUDED.address not in _snmp_requests(lab)
    assert SNMP_ONLY.address in _snmp_requests(lab)


def _datagrams_received(sock: socket.socket) -> list[bytes]:
    received = []
    while True:
        try:
            received.append(sock.recv(4096))
        except BlockingIOError:
            return received


@pytest.fixture
def udp_listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LISTENER, 161))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def test_without_a_community_no_datagram_is_sent_to_udp_161(
    udp_listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no community, when the listener's address is scanned (sweep and own connects)
    for sweep in (True, False):
        result = _scan(monkeypatch, None, [LISTENER], sweep=sweep)
        assert result.devices == ()
    # Then the listener received nothing
    assert _datagrams_received(udp_listener) == []
    # And with a community the same scan reaches it (the listener does hear): one datagram
    _scan(monkeypatch, "public", [LISTENER])
    assert len(_datagrams_received(udp_listener)) == 1


def test_no_snmp_when_the_community_is_unset(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    lab.clear_record()
    devices = _by_address(_scan(monkeypatch, None, [d.address for d in DEVICES]))
    assert set(devices) == {WITH_HTTP.address}  # the SNMP-only devices stay unseen
    assert not any(a.probe == "snmp" for d in devices.values() for a in d.attempts)
    assert _snmp_requests(lab) == []


class _SilentHostProbe:
    """A host-level probe that waits out its whole reply wait (a silent agent)."""

    name = "snmp"
    port = 161
    wait_s = 5.0

    def __init__(self) -> None:
        self.asked: list[str] = []

    def applies_to_host(self, address: str) -> bool:
        return True

    async def query(self, address: str) -> list[Observation]:
        self.asked.append(address)
        await asyncio.sleep(self.wait_s)
        return []


def test_a_stop_request_records_the_unfinished_host_probe_as_cancelled(lab: Lab) -> None:
    from provscan.engine.scanner import CANCELLED_ERROR, Scanner, ScanRequest
    from provscan.identify import Identifier
    from provscan.knowledge.loader import load_knowledge
    from provscan.probes.registry import all_probes
    from provscan.targets import build_targets

    # Given a host with an open port whose host-level probe hangs
    knowledge = load_knowledge()
    probe = _SilentHostProbe()
    scanner = Scanner(
        all_probes(), Identifier(knowledge, (), posture=False).device, host_probes=[probe]
    )
    targets = build_targets([WITH_HTTP.address])
    request = ScanRequest(
        targets=targets,
        target_specs=(WITH_HTTP.address,),
        ports=PORTS,
        policies=(),
        total_hosts=1,
        limits=LIMITS,
    )

    async def scan_then_stop() -> ScanResult:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.0, stop.set)
        return await scanner.run(request, stop=stop)

    # When the scan is stopped before the probe's wait is over
    result = asyncio.run(scan_then_stop())
    # Then the host keeps its port and its one snmp attempt says it was cancelled
    (device,) = result.devices
    (snmp,) = [a for a in device.attempts if a.probe == "snmp"]
    assert (snmp.port, snmp.status) == (161, AttemptStatus.ERROR)
    assert snmp.error == CANCELLED_ERROR
    assert device.open_ports == (80,) and probe.asked == [WITH_HTTP.address]
    assert not result.info.complete
