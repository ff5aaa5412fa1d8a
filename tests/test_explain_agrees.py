"""``provscan explain`` applies the attribution's own verdict rule (issue 11 point 4).

Before, explain counted a maker's shared signals per observation field itself, while the
attribution counts every name a device prints about itself as one signal: a device naming a
restricted maker in its certificate's subject and issuer was explained as "corroborated on 2
fields" while its verdict said the maker was not established. Both now call
``attribution.attribute.establishes``; these tests hold them together on crafted devices and
on every device of the bundled lab."""

from __future__ import annotations

import itertools

import pytest

from provscan.commands.explain import build_explanation
from provscan.identify import Identifier
from provscan.knowledge import load_knowledge
from provscan.model import Device, HostEvidence, Observation

KNOWLEDGE = load_knowledge()
POLICIES = KNOWLEDGE.select_policies(None)


def identify(*observations: Observation) -> Device:
    host = HostEvidence(address="127.0.0.9", open_ports=(443,), observations=observations)
    return Identifier(KNOWLEDGE, policies=POLICIES).device(host)


def review_makers(device: Device) -> set[str]:
    """Makers the attribution left unestablished ("possibly made by X" notes)."""
    return {
        note.split("possibly made by ", 1)[1].split(" - ", 1)[0]
        for note in device.notes
        if "possibly made by " in note
    }


def check_agreement(device: Device, observations: tuple[Observation, ...]) -> None:
    explanation = build_explanation(device, observations, KNOWLEDGE)
    unestablished = review_makers(device)
    for support in explanation.makers:
        if support.family is None:
            continue
        if support.maker in unestablished:
            assert not support.established, (support, device.notes)
        if not support.established and device.manufacturer == support.maker:
            assert not device.restricted, (support, device.notes)


def test_a_name_printed_twice_is_one_signal_in_both() -> None:
    # "ZTE" in the page title and in the realm: the device names itself twice, which the
    # attribution counts as one signal (a review); explain counted two fields (established)
    observations = (
        Observation("http", 80, "http.title", "ZTE router"),
        Observation("http", 80, "http.realm", "ZTE router"),
    )
    device = identify(*observations)
    assert "ZTE" in review_makers(device), device.notes
    assert not device.restricted
    support = {s.maker: s for s in build_explanation(device, observations, KNOWLEDGE).makers}
    assert not support["ZTE"].established, support["ZTE"]
    assert "1 independent field" in support["ZTE"].reason


def test_a_legal_name_in_subject_and_issuer_is_established_in_both() -> None:
    legal = KNOWLEDGE.vendors["Hikvision"].legal_names[0]
    observations = (
        Observation("tls", 443, "tls.subject", f"CN=camera,O={legal}"),
        Observation("tls", 443, "tls.issuer", f"CN=camera,O={legal}"),
    )
    device = identify(*observations)
    explanation = build_explanation(device, observations, KNOWLEDGE)
    support = {s.maker: s for s in explanation.makers}
    named = support.get("Hikvision")
    if "Hikvision" in review_makers(device):
        # the verdict left it unestablished: the explanation must say so too
        assert named is not None and not named.established, named
    else:
        assert device.restricted, device.notes
        assert named is not None and named.established
    check_agreement(device, observations)


def restricted_examples() -> list[tuple[str, Observation]]:
    """(rule id, observation) for one example of every rule naming a restricted maker."""
    found = []
    for loaded in KNOWLEDGE.fingerprints:
        if not loaded.spec.fields:
            continue
        field = loaded.spec.fields[0]
        for rule in loaded.spec.rules:
            maker = rule.asserts.get("manufacturer") or rule.asserts.get("brand")
            if not maker or KNOWLEDGE.family_of(str(maker)) is None or not rule.examples:
                continue
            protocol = field.split(".", 1)[0]
            found.append((rule.id, Observation(protocol, None, field, rule.examples[0].value)))
    return found


EXAMPLES = restricted_examples()


def test_there_are_shared_and_specific_rules_to_check() -> None:
    assert len(EXAMPLES) > 50


@pytest.mark.parametrize(("rule_id", "observation"), EXAMPLES, ids=[r for r, _ in EXAMPLES])
def test_explain_and_verdict_agree_on_each_rule_example(
    rule_id: str, observation: Observation
) -> None:
    check_agreement(identify(observation), (observation,))


def test_explain_and_verdict_agree_on_pairs_of_shared_signals() -> None:
    # two examples of different fields naming one maker: corroboration or not, both agree
    by_maker: dict[str, list[Observation]] = {}
    for _, observation in EXAMPLES:
        device = identify(observation)
        if device.manufacturer and not device.restricted:
            by_maker.setdefault(device.manufacturer, []).append(observation)
    pairs = 0
    for observations in by_maker.values():
        for first, second in itertools.pairwise(observations):
            if first.field != second.field:
                check_agreement(identify(first, second), (first, second))
                pairs += 1
    assert pairs >= 1
