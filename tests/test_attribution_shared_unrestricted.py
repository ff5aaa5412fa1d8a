"""Issue 11 (an evidence auditor's findings on verdicts), reproduced through the real code:

1. an unrestricted maker named only by a signal that a restricted family's maker is known to
   send too is a possible maker, not an established one: review, not "clear";
2. a rival maker that only a weaker (or dated) relation of the same brand names does not lower
   the confidence of the maker the brand's stronger relation established;
3. every evidence item carries a source, and every look-alike a non-empty explanation and
   source, in ``provscan explain`` (its JSON and its text).
"""

from __future__ import annotations

import dataclasses
import json

from provscan.attribution.attribute import Attributor
from provscan.commands.explain import build_explanation, render
from provscan.knowledge import load_knowledge
from provscan.knowledge.fingerprints import Rule
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.relations import Relation
from provscan.model import AttemptStatus, Device, Observation, ProbeAttempt
from provscan.policy.evaluate import judge
from provscan.report.contract import verdict_of

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)
POLICIES = KNOWLEDGE.select_policies(None)


def _judged(*attempts: ProbeAttempt, attributor: Attributor = ATTRIBUTOR) -> Device:
    ports = sorted({a.port for a in attempts})
    device = attributor.attribute("127.0.0.1", ports, list(attempts)).device
    return judge(device, POLICIES)


def _verdict(device: Device) -> str:
    return verdict_of(device.restricted, device.notes, device.manufacturer)


def _rule(rule_id: str) -> Rule:
    return next(r for f in KNOWLEDGE.fingerprints for r in f.spec.rules if r.id == rule_id)


# -- 1. an unrestricted maker named only by a shared signal --------------------------------


def test_a_signal_shared_only_by_unrestricted_makers_still_names_the_maker() -> None:
    """Cisco's "User Access Verification" is also ADTRAN's: clear whichever made it, and the
    maker the rule names is the user's best lead (decision 0030's addendum)."""
    rule = _rule("cisco.banner.telnet_user_access_verification")
    assert not rule.specificity.maker_specific and rule.specificity.shared_with
    assert not any(KNOWLEDGE.family_of(name) for name in rule.specificity.shared_with)
    device = _judged(
        ProbeAttempt(
            "telnet",
            23,
            AttemptStatus.OK,
            (Observation("telnet", 23, "banner.text", "User Access Verification"),),
        )
    )
    assert device.manufacturer == "Cisco"
    assert _verdict(device) == "clear"


def test_a_shared_signal_that_restricted_makers_also_send_is_review() -> None:
    """Roku's ECP device type is also sent by TCL and Hisense TVs (families the policies
    track): a Roku named only by it may be one of theirs."""
    rule = _rule("roku.upnp_device_type.ecp")
    assert {"TCL", "Hisense"} <= set(rule.specificity.shared_with)
    assert all(KNOWLEDGE.family_of(name) for name in ("TCL", "Hisense"))
    device = _judged(
        ProbeAttempt(
            "ssdp",
            1900,
            AttemptStatus.OK,
            (Observation("ssdp", 1900, "upnp.device_type", "roku:ecp"),),
        )
    )
    assert device.manufacturer is None
    assert _verdict(device) == "review"
    assert any(n.startswith("review: possibly made by Roku") for n in device.notes)


def test_a_shared_signal_corroborated_by_another_service_still_establishes() -> None:
    """The same rule as a restricted maker's: shared signals of two fields of two services."""
    device = _judged(
        ProbeAttempt(
            "ssdp",
            1900,
            AttemptStatus.OK,
            (Observation("ssdp", 1900, "upnp.device_type", "roku:ecp"),),
        ),
        ProbeAttempt(
            "http",
            8060,
            AttemptStatus.OK,
            (Observation("http", 8060, "http.user_agent", "Roku/DVP-9.10 (519.10E04111A)"),),
        ),
    )
    # whichever way the user agent reads, a maker-specific rule or a second shared field of
    # another service establishes Roku: the device is clear, not unknown
    assert device.manufacturer == "Roku", device.notes
    assert _verdict(device) == "clear"


def test_a_maker_specific_signal_still_clears() -> None:
    rule = _rule("mikrotik.http_title.routeros")
    assert rule.specificity.maker_specific
    device = _judged(
        ProbeAttempt(
            "http",
            80,
            AttemptStatus.OK,
            (Observation("http", 80, "http.title", "RouterOS router configuration page"),),
        )
    )
    assert device.manufacturer == "MikroTik"
    assert _verdict(device) == "clear"


# -- 2. a weaker relation's rival -----------------------------------------------------------


def _with_relations(*extra: Relation) -> Attributor:
    knowledge = dataclasses.replace(KNOWLEDGE, relations=(*KNOWLEDGE.relations, *extra))
    return Attributor(knowledge, grammars=load_grammar_knowledge())


def _brand_only_device(attributor: Attributor) -> Device:
    """A device whose only maker evidence is the label brand its ONVIF service gives (Prama
    Hikvision India: a Hikvision subsidiary, high confidence, all products)."""
    return attributor.attribute(
        "127.0.0.1",
        [80],
        [
            ProbeAttempt(
                "onvif",
                80,
                AttemptStatus.OK,
                (Observation("onvif", 80, "onvif.manufacturer", "Prama Hikvision"),),
            )
        ],
    ).device


def test_a_low_confidence_rival_relation_does_not_lower_the_established_maker() -> None:
    base = _brand_only_device(ATTRIBUTOR)
    assert base.manufacturer == "Hikvision" and not base.conflicts
    rival = Relation(
        brand="Prama Hikvision India",
        maker="Sony",
        relation="oem_relabel",
        confidence="low",
        evidence="test: a low-confidence relabel claim",
        sources=["test"],
    )
    device = _brand_only_device(_with_relations(rival))
    assert device.manufacturer == "Hikvision"
    assert device.confidence == base.confidence
    assert not any(" vs Sony" in c for c in device.conflicts)
    assert any(
        note.startswith("Sony (") and "brand Prama Hikvision India" in note for note in device.notes
    ), device.notes


def test_a_dated_rival_relation_does_not_lower_the_established_maker() -> None:
    base = _brand_only_device(ATTRIBUTOR)
    rival = Relation(
        brand="Prama Hikvision India",
        maker="Sony",
        relation="oem_relabel",
        confidence="high",
        until="2015-01-01",
        evidence="test: an expired relabel",
        sources=["test"],
    )
    device = _brand_only_device(_with_relations(rival))
    assert device.manufacturer == "Hikvision"
    assert device.confidence == base.confidence


def test_a_rival_named_by_other_evidence_still_lowers_confidence() -> None:
    """The fix is for one brand read through a weaker relation, not for real conflicts: a
    rule naming Vivotek on the web server still lowers Hikvision's confidence."""
    base = _brand_only_device(ATTRIBUTOR)
    rival = Relation(
        brand="Prama Hikvision India",
        maker="Sony",
        relation="oem_relabel",
        confidence="low",
        evidence="test: a low-confidence relabel claim",
        sources=["test"],
    )
    device = (
        _with_relations(rival)
        .attribute(
            "127.0.0.1",
            [80, 443],
            [
                ProbeAttempt(
                    "onvif",
                    80,
                    AttemptStatus.OK,
                    (Observation("onvif", 80, "onvif.manufacturer", "Prama Hikvision"),),
                ),
                ProbeAttempt(
                    "http",
                    443,
                    AttemptStatus.OK,
                    (Observation("http", 443, "http.server", "Network Camera"),),
                ),
            ],
        )
        .device
    )
    assert device.manufacturer == "Hikvision"
    assert any(" vs Vivotek" in c for c in device.conflicts)
    assert device.confidence < base.confidence


# -- 3. sources and explanations -------------------------------------------------------------


def test_every_evidence_line_of_explain_has_a_source() -> None:
    device = _judged(
        ProbeAttempt(
            "http",
            80,
            AttemptStatus.OK,
            (
                Observation("http", 80, "http.title", "Reolink"),
                Observation("http", 80, "http.realm", "Welcome to the Axis camera"),
            ),
        ),
        ProbeAttempt(
            "telnet",
            23,
            AttemptStatus.OK,
            (Observation("telnet", 23, "banner.text", "User Access Verification"),),
        ),
    )
    explanation = build_explanation(device, [], KNOWLEDGE)
    assert explanation.evidence
    for line in explanation.evidence:
        assert line.source.strip(), line


def test_a_look_alike_nothing_explains_carries_an_explanation_and_a_source() -> None:
    """Axis's FTP rule lists a bank's FTP greeting among its look-alikes; no rule reads it."""
    rule = _rule("axis.banner.ftp_any")
    seen = Observation("ftp", 21, "banner.text", "220 Axis Bank FTP")
    assert "220 Axis Bank FTP" in [str(n) for n in rule.negatives]
    device = _judged(ProbeAttempt("ftp", 21, AttemptStatus.OK, (seen,)))
    explanation = build_explanation(device, [seen], KNOWLEDGE)
    (alike,) = [a for a in explanation.lookalikes if a.rule_id == rule.id]
    assert alike.explained_by is None
    assert rule.id in alike.explanation and alike.source == rule.source
    as_json = json.loads(json.dumps(dataclasses.asdict(explanation)))
    for item in as_json["lookalikes"]:
        assert item["explanation"].strip() and item["source"].strip(), item
    for item in as_json["evidence"]:
        assert item["source"].strip(), item
    shown = "\n".join(render(explanation, width=100))
    assert "no rule reads it" in shown and rule.source[:30] in shown


def test_a_rival_through_a_label_with_no_relation_to_the_maker_still_lowers_it() -> None:
    """Hikvision's default certificate, and DNS queries to Imou's cloud (a Dahua consumer
    brand with no relation to Hikvision): a real conflict, and explain says where it comes
    from (the Imou -> Dahua relation and its sources)."""
    device = _judged(
        ProbeAttempt(
            "tls",
            443,
            AttemptStatus.OK,
            (Observation("tls", 443, "tls.subject", "CN=www.hikvision.com,O=HIKVISION"),),
        ),
        ProbeAttempt(
            "dns",
            53,
            AttemptStatus.OK,
            (Observation("dns", 53, "dns.query", "openapi.easy4ip.com"),),
        ),
    )
    assert device.manufacturer == "Hikvision"
    explanation = build_explanation(device, [], KNOWLEDGE)
    (conflict,) = explanation.conflict_sources
    hikvision, dahua = conflict.sides
    assert hikvision.maker == "Hikvision" and dahua.maker == "Dahua"
    assert device.confidence < (hikvision.score or 0.0)
    (relation,) = dahua.relations
    assert (relation["brand"], relation["maker"]) == ("Imou", "Dahua")
    assert relation["sources"] and "imou.dns_name.cloud" in relation["brand_rules"]
    assert "a rival maker of another family lowers it" in conflict.confidence
