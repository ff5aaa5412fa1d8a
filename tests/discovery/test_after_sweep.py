"""Discovery after the port sweep (provscan.pipeline.discovering_sweeper, runner.AfterSweep):
the targets discovery cannot reach before the sweep (more loopback targets than unicast goes
to, routed targets) get unicast discovery at the hosts that answered the sweep, and its
replies join those hosts' evidence as discovery before the sweep does.

The loopback case runs against the session lab; the routed case runs in-process with the
datagram exchange replaced, so nothing is sent to any non-loopback address."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from helpers import SESSION_OCTET, TEST_LIMITS

from provscan.discovery import netif, runner
from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.discovery.runner import (
    LOOPBACK_SKIPPED,
    MAX_UNICAST_TARGETS,
    DiscoverySettings,
    discover_for_targets,
    is_warning,
    plan_after_sweep,
)
from provscan.discovery.transport import ExchangeCounters, Route
from provscan.lab.server import Lab
from provscan.model import HostEvidence, Observation
from provscan.pipeline import discovering_sweeper, run_scan
from provscan.targets import build_targets
from provscan.transport.sweep import SweptHost

FAST = DiscoverySettings(timeout_s=0.3, loopback_timeout_s=0.3)
#: Routed targets, as data only: the exchange is replaced in every test that names them.
ROUTED = "198.18.0.0/16"
ROUTED_ENV = f"127.0.0.0/8,::1/128,{ROUTED}"


def test_a_wide_loopback_scan_gets_the_models_discovery_gives(lab: Lab) -> None:
    # Given 8192 loopback targets (more than discovery goes to before the sweep) holding the
    # lab's Hikvision camera that answers SADP and its Dahua camera that answers DHDiscover,
    # each with an open TCP port
    wide = f"127.{SESSION_OCTET}.0.0/19"
    targets = build_targets([wide])
    assert targets.count() > MAX_UNICAST_TARGETS
    hikvision, dahua = f"127.{SESSION_OCTET}.1.10", f"127.{SESSION_OCTET}.3.10"
    # When it is scanned (discovery on, as by default)
    result = asyncio.run(
        run_scan(targets, [wide], [8000, 37777], limits=TEST_LIMITS, discovery=FAST)
    )
    # Then discovery went after the sweep to the hosts with an open port, and the models it
    # gives are there, from its own evidence, as in a scan of a small range
    found = {device.ip: device for device in result.devices}
    assert found[hikvision].model == "DS-2CD2386G2-IU", found[hikvision]
    assert found[dahua].model == "DH-IPC-HDW1230T2", found[dahua]
    assert "sadp" in {claim.protocol for claim in found[hikvision].evidence}
    assert "dhdiscover" in {claim.protocol for claim in found[dahua].evidence}
    assert any(note.startswith("discovery: ") for note in found[hikvision].notes)
    notes = result.info.notes
    summary = [note for note in notes if note.startswith("discovery after the sweep: ")]
    assert len(summary) == 1 and "with open ports answered" in summary[0], notes
    # and the warning says what is still missed: the devices that answer only discovery
    # protocols (the SADP-only NVR at .20.10 has no open port)
    warnings = [note for note in notes if is_warning(note)]
    assert len(warnings) == 1 and warnings[0].startswith(f"{LOOPBACK_SKIPPED} before the sweep")
    assert "answer only discovery protocols (no open TCP port) are not found" in warnings[0]
    assert f"127.{SESSION_OCTET}.20.10" not in found


@dataclass
class FakeExchange:
    """Stands in for the datagram exchange: records where each probe would go, answers
    from ``answers`` (address: model) as SADP would; sends nothing."""

    answers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    delay_s: float = 0.0
    calls: list[tuple[str, tuple[str, ...], Route, float]] = field(default_factory=list)

    async def __call__(
        self,
        protocol: DiscoveryProtocol,
        destinations: Sequence[str],
        route: Route,
        *,
        timeout_s: float,
        in_scope: Callable[[str], bool],
        counters: ExchangeCounters,
        repeat: int = 2,
    ) -> list[DiscoveryReply]:
        self.calls.append((protocol.name, tuple(destinations), route, timeout_s))
        if self.error is not None:
            raise self.error
        await asyncio.sleep(self.delay_s)
        if protocol.name != "sadp":
            return []
        return [
            DiscoveryReply(
                "sadp",
                address,
                37020,
                (Observation("sadp", 37020, "sadp.description", self.answers[address]),),
            )
            for address in destinations
            if address in self.answers and in_scope(address)
        ]

    def destinations(self) -> set[str]:
        return {address for _, sent, _, _ in self.calls for address in sent}


def _sweeper(hosts: Sequence[SweptHost]) -> Callable[..., Iterator[SweptHost]]:
    def sweep(
        targets: Iterable[tuple[str, str | None]], ports: Sequence[int], limits: object = None, **_
    ) -> Iterator[SweptHost]:
        yield from hosts

    return sweep


def _run_sweep(
    sweep: Callable[..., Iterator[SweptHost]],
    after: runner.AfterSweep,
    prior: dict[str, HostEvidence],
    **options: object,
) -> list[SweptHost]:
    """The wrapped sweep run as the scanner runs it: in a thread, beside the event loop."""

    async def main() -> list[SweptHost]:
        wrapped = discovering_sweeper(sweep, after, prior, asyncio.get_running_loop())
        return await asyncio.to_thread(lambda: list(wrapped([], [80], None, **options)))

    return asyncio.run(main())


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> FakeExchange:
    """No attached segment, the interlock widened to the routed data range, the exchange
    replaced (nothing leaves the process)."""
    monkeypatch.setattr(netif, "list_segments", list)
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", ROUTED_ENV)
    fake = FakeExchange({"198.18.0.5": "DS-2CD2386G2-IU", "198.19.0.7": "DS-2CD2386G2-IU"})
    monkeypatch.setattr(runner, "exchange", fake)
    return fake


def test_routed_hosts_that_answered_the_sweep_get_unicast_discovery(routed: FakeExchange) -> None:
    # Given routed targets (on no attached segment) and a sweep that found one host open,
    # one closed, and (a sweep engine's mistake) one open host outside the targets
    targets = build_targets([ROUTED], max_hosts=1 << 17)
    after = plan_after_sweep(targets, FAST)
    assert after.active and after.routed and not after.loopback
    hosts = [
        SweptHost("198.18.0.6", None, ()),
        SweptHost("198.18.0.5", None, (80,)),
        SweptHost("198.19.0.7", None, (80,)),
    ]
    prior: dict[str, HostEvidence] = {}
    # When the sweep runs with discovery after it
    swept = _run_sweep(_sweeper(hosts), after, prior)
    # Then only the open target was asked, by every protocol, with the routed wait
    assert routed.destinations() == {"198.18.0.5"}
    assert {name for name, _, _, _ in routed.calls} == set(FAST.protocols)
    assert {(route.bind_address, timeout) for _, _, route, timeout in routed.calls} == {
        ("0.0.0.0", FAST.timeout_s)
    }
    # and its reply is that host's evidence, as discovery before the sweep gives it
    assert sorted(prior) == ["198.18.0.5"]
    assert prior["198.18.0.5"].observations[0].value == "DS-2CD2386G2-IU"
    assert prior["198.18.0.5"].notes == ("discovery: sadp",) and prior["198.18.0.5"].answered
    # and every host still reaches the scanner, the held one after its batch
    assert [h.address for h in swept] == ["198.18.0.6", "198.19.0.7", "198.18.0.5"]
    assert after.notes() == (
        "discovery after the sweep: 1 of 1 host with open ports answered (sadp 1)",
    )


def test_the_notes_before_the_sweep_say_routed_targets_get_it_after(
    routed: FakeExchange,
) -> None:
    targets = build_targets([ROUTED], max_hosts=1 << 17)
    result = asyncio.run(discover_for_targets(targets, FAST, plan_after_sweep(targets, FAST)))
    assert routed.calls == []
    assert result.notes == (
        "discovery: 65536 targets are not on an attached segment (no multicast reaches "
        "them): those with an open port get unicast discovery after the sweep",
    )


def test_with_iface_routed_targets_get_no_discovery_after_the_sweep(
    routed: FakeExchange,
) -> None:
    # --iface restricts discovery to one interface: nothing goes elsewhere, as before
    targets = build_targets([ROUTED], max_hosts=1 << 17)
    settings = DiscoverySettings(interface="eth9")
    after = plan_after_sweep(targets, settings)
    assert not after.active
    assert not after.take("198.18.0.5")


def test_a_sweep_where_no_host_is_taken_passes_through_without_discovery(
    routed: FakeExchange,
) -> None:
    # An empty range (the sweep benchmark's case): nothing held, nothing sent, no note
    targets = build_targets([ROUTED], max_hosts=1 << 17)
    after = plan_after_sweep(targets, FAST)
    hosts = [SweptHost(f"198.18.1.{n}", None, ()) for n in range(1, 200)]
    swept = _run_sweep(_sweeper(hosts), after, {})
    assert swept == hosts
    assert routed.calls == [] and after.notes() == ()


def test_the_rate_budget_gives_each_datagram_its_slot(routed: FakeExchange) -> None:
    @dataclass
    class Spacing:
        interval: float = 0.5
        slots: int = 0

        def reserve(self) -> float:
            self.slots += 1
            return 0.0

    targets = build_targets([ROUTED], max_hosts=1 << 17)
    after = plan_after_sweep(targets, FAST)
    routed.answers = {}
    hosts = [SweptHost(f"198.18.2.{n}", None, (80,)) for n in range(1, 4)]
    spacing = Spacing()
    _run_sweep(_sweeper(hosts), after, {}, spacing=spacing)
    # one slot per datagram (3 hosts x 5 protocols), each host's datagrams sent on their own
    assert spacing.slots == 3 * len(FAST.protocols)
    assert {len(sent) for _, sent, _, _ in routed.calls} == {1}
    assert routed.destinations() == {h.address for h in hosts}


def test_hosts_beyond_the_cap_are_scanned_without_discovery(
    routed: FakeExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "MAX_UNICAST_TARGETS", 2)
    targets = build_targets([ROUTED], max_hosts=1 << 17)
    after = plan_after_sweep(targets, FAST)
    hosts = [SweptHost(f"198.18.3.{n}", None, (80,)) for n in range(1, 6)]
    swept = _run_sweep(_sweeper(hosts), after, {})
    assert sorted(h.address for h in swept) == sorted(h.address for h in hosts)
    assert routed.destinations() == {"198.18.3.1", "198.18.3.2"}
    assert after.notes()[-1] == (
        "discovery after the sweep: 3 hosts with open ports beyond the first 2 got none"
    )


def test_a_failed_discovery_leaves_the_hosts_to_the_scan(routed: FakeExchange) -> None:
    routed.error = OSError(24, "Too many open files")
    targets = build_targets([ROUTED], max_hosts=1 << 17)
    after = plan_after_sweep(targets, FAST)
    hosts = [SweptHost("198.18.0.5", None, (80,))]
    prior: dict[str, HostEvidence] = {}
    assert _run_sweep(_sweeper(hosts), after, prior) == hosts
    assert prior == {}
    assert after.notes()[-1] == (
        "discovery after the sweep failed for 1 host: OSError: [Errno 24] Too many open files"
    )


def test_a_stopped_sweep_does_not_wait_for_discovery(routed: FakeExchange) -> None:
    routed.delay_s = 30.0
    targets = build_targets([ROUTED], max_hosts=1 << 17)
    after = plan_after_sweep(targets, FAST)
    hosts = [SweptHost("198.18.0.5", None, (80,))]
    started = time.monotonic()
    halted = {"yes": False}

    def stop() -> bool:
        # stop once the host has been handed to discovery (the sweep itself is over)
        halted["yes"] = halted["yes"] or bool(routed.calls)
        return halted["yes"]

    swept = _run_sweep(_sweeper(hosts), after, {}, stop=stop)
    assert swept == [] and time.monotonic() - started < 5.0
