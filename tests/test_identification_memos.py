"""What identification remembers across devices (issue 14) changes no result: rule matches per
distinct (field, value) in the Matcher, findings per (maker, device type, country) in the
Identifier. Each is checked against the same work done afresh, on every rule example and on
the lab recording's devices."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from provscan.fingerprints import matcher as matcher_module
from provscan.fingerprints.matcher import CACHED_VALUE_CHARS, Matcher
from provscan.identify import Identifier
from provscan.knowledge import load_knowledge
from provscan.model import Claim, Device, HostEvidence, Observation
from provscan.passive import analyse_captures
from provscan.policy import evaluate
from provscan.policy.evaluate import ACT_AS_ANYONE

KNOWLEDGE = load_knowledge()
LAB = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"


def _example_observations() -> list[Observation]:
    observations = []
    matcher = Matcher(KNOWLEDGE)
    for field_name in matcher.fields:
        for compiled in matcher.rules_for(field_name):
            values = [example.value for example in compiled.rule.examples]
            for number, value in enumerate([*values, *compiled.rule.negatives]):
                observations.append(Observation("test", 80, field_name, value, f"example {number}"))
    return observations


def _afresh(matcher: Matcher, observation: Observation) -> list[Claim]:
    """What the rules claim, matched without the memo."""
    claims = []
    for compiled in matcher.rules_for(observation.field):
        values = compiled.match_values(observation.value)
        for field_name, value in (values or {}).items():
            claims.append(
                Claim(field_name, value, compiled.rule.certainty, compiled.rule.id, observation)
            )
    return claims


def test_remembered_matches_are_the_rules_matches_on_every_example() -> None:
    matcher = Matcher(KNOWLEDGE)
    observations = _example_observations()
    assert len(observations) > 500
    for observation in observations:
        first = matcher.match(observation)
        # The same value seen again (another device, another detail) claims the same, and
        # each claim carries the observation it came from.
        again = Observation(
            observation.protocol, 554, observation.field, observation.value, "elsewhere"
        )
        second = matcher.match(again)
        assert first == _afresh(matcher, observation)
        assert second == _afresh(matcher, again)
        assert all(claim.observation is again for claim in second)
    assert any(matcher.match(o) for o in observations)  # the examples do match


def test_the_memo_is_bounded_in_entries_and_value_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matcher_module, "MATCH_CACHE_SIZE", 10)
    matcher = Matcher(KNOWLEDGE)
    observations = _example_observations()
    for observation in observations:
        assert matcher.match(observation) == _afresh(matcher, observation)
    remembered = matcher._matched
    assert len(remembered) == 10
    long_value = "Hikvision " + "x" * CACHED_VALUE_CHARS
    fresh = Matcher(KNOWLEDGE)
    observation = Observation("http", 80, "http.server", long_value)
    assert fresh.match(observation) == _afresh(fresh, observation)
    assert ("http.server", long_value) not in fresh._matched


@functools.cache
def _lab_hosts() -> tuple[HostEvidence, ...]:
    hosts: list[HostEvidence] = []

    def keep(host: HostEvidence) -> Device:
        hosts.append(host)
        return Identifier(KNOWLEDGE, KNOWLEDGE.select_policies(None)).device(host)

    analyse_captures([str(LAB)], keep, knowledge=KNOWLEDGE)
    return tuple(hosts)


@pytest.mark.parametrize("acting_as", [(), ("us:federal-contractor",), (ACT_AS_ANYONE,)])
def test_remembered_findings_are_the_findings_judged_afresh(
    monkeypatch: pytest.MonkeyPatch, acting_as: tuple[str, ...]
) -> None:
    hosts = _lab_hosts()
    assert len(hosts) >= 10
    policies = KNOWLEDGE.select_policies(None)
    remembering = Identifier(KNOWLEDGE, policies, acting_as=acting_as)
    # Every device twice: the second time its makers' findings come from the memo.
    remembered = [remembering.device(host) for host in [*hosts, *hosts]]
    assert remembering._findings  # the lab's makers were remembered
    monkeypatch.setattr(evaluate, "MAX_MEMO_ENTRIES", 0)
    afresh = Identifier(KNOWLEDGE, policies, acting_as=acting_as)
    judged = [afresh.device(host) for host in [*hosts, *hosts]]
    assert not afresh._findings
    assert remembered == judged
    assert any(device.findings for device in judged)
    assert any(device.restricted for device in judged)


def test_posture_with_one_login_memo_is_posture_device_by_device() -> None:
    """assess_scan shares what each page said about a login form across the scan's devices;
    each device assessed alone (a memo of its own) gets the same exposures."""
    from provscan.knowledge.loader import load_posture_knowledge
    from provscan.model import ScanResult
    from provscan.posture.assess import PostureOptions, UpnpMappings, assess_device, assess_scan

    hosts = _lab_hosts()
    identifier = Identifier(KNOWLEDGE, KNOWLEDGE.select_policies(None), posture=False)
    devices = tuple(identifier.device(host) for host in [*hosts, *hosts])
    posture = load_posture_knowledge()
    scan = analyse_captures([str(LAB)], identifier.device)
    options = PostureOptions(policies=tuple(scan.info.policies))
    together = assess_scan(ScanResult(scan.info, devices), posture, options)
    mappings = UpnpMappings.of(devices)
    alone = tuple(
        assess_device(device, posture, mappings, options, scan_kind=scan.info.kind)
        for device in devices
    )
    assert together.devices == alone
    assert any(
        exposure.kind == "plain_http_login" for device in alone for exposure in device.exposure
    )
