"""Specificity discipline (issue 11, point 3): shared signals never establish a restricted maker.

- the data: every rule's ``specificity`` is loaded and checked; a rule without one loads as
  shared and ``provscan knowledge verify`` reports it;
- the verdict rule in attribution: a restricted family's maker needs a maker-specific claim
  or shared claims from two different observation fields;
- look-alikes: no rule of one maker matches another party's example unless the rule says
  (shared_with) that maker produces the value too;
- false positives: the whole rule set over the unrestricted part of the project corpus;
- whole registry names: "Samsung Electronics" is not Hanwha Vision (formerly Samsung Techwin).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest

from corpus.corpus_schema import (
    RESTRICTED_FAMILIES,
    BannerService,
    CorpusEntry,
    HttpService,
    RtspService,
    load_project_corpus,
)
from provscan.attribution.attribute import Attributor
from provscan.attribution.mac import vendor_for_registry_name, whole_name
from provscan.knowledge.fingerprints import Rule, Specificity, match_values
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import load_knowledge
from provscan.knowledge.verify import verify_knowledge
from provscan.model import Device, Observation
from provscan.policy.evaluate import REVIEW_NOTE_PREFIX, judge

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)
POLICIES = KNOWLEDGE.select_policies(None)
DATA_DIR = Path(__file__).resolve().parents[1] / "src" / "provscan" / "knowledge" / "data"

MONTH_FIRST = "Thu, May 14 2020 16:45:35 GMT"


def device_of(*observations: tuple[str, str, int | None, str]) -> Device:
    """Attribute and judge a device from (protocol, field, port, value) observations."""
    found = [
        Observation(protocol, port, field, value) for protocol, field, port, value in observations
    ]
    ports = sorted({port for _, _, port, _ in observations if port is not None})
    device = ATTRIBUTOR.attribute("127.0.0.1", ports, [], extra_observations=found).device
    return judge(device, POLICIES)


def is_review(device: Device) -> bool:
    return any(note.startswith(REVIEW_NOTE_PREFIX) for note in device.notes)


# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    path: str
    fields: tuple[str, ...]
    rule: Rule

    @property
    def maker(self) -> str | None:
        return self.rule.asserts.get("manufacturer") or self.rule.asserts.get("brand")


RULES = [
    Placed(loaded.path, tuple(loaded.spec.fields), rule)
    for loaded in KNOWLEDGE.fingerprints
    for rule in loaded.spec.rules
]


def test_every_classified_rule_names_real_makers() -> None:
    declared = [placed for placed in RULES if placed.rule.specificity.declared]
    assert len(declared) >= 280
    for placed in declared:
        specificity = placed.rule.specificity
        assert specificity.note.strip(), placed.rule.id
        for name in specificity.shared_with:
            assert KNOWLEDGE.canonical_vendor(name) == name, (placed.rule.id, name)
            assert name != placed.maker, placed.rule.id


def test_the_month_first_date_is_shared_with_its_look_alikes() -> None:
    rule = next(p.rule for p in RULES if p.rule.id == "hikvision.rtsp_date.month_first")
    assert not rule.specificity.maker_specific
    assert {"TP-Link", "Reolink"} <= set(rule.specificity.shared_with)


def test_a_rule_without_specificity_loads_as_shared() -> None:
    rule = Rule.model_validate(
        {
            "id": "x.y.z",
            "description": "d",
            "pattern": "^X$",
            "certainty": 0.9,
            "asserts": {"manufacturer": "Hikvision"},
            "source": "test",
            "examples": [{"value": "X"}],
        }
    )
    assert rule.specificity.maker_specific is False and rule.specificity.declared is False
    with pytest.raises(ValueError, match="contradicts"):
        Specificity(maker_specific=True, shared_with=["Reolink"])


def test_verify_reports_a_rule_without_specificity(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "fingerprints" / "rtsp_date.yaml"
    text = path.read_text(encoding="utf-8")
    stripped = re.sub(r"(?m)^    specificity: .*\n", "", text)
    assert stripped != text
    path.write_text(stripped, encoding="utf-8")
    report = verify_knowledge(data)
    messages = [p.message for p in report.problems if p.file == "fingerprints/rtsp_date.yaml"]
    assert any("no specificity" in message for message in messages), messages


def test_verify_reports_an_unknown_look_alike_maker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "fingerprints" / "rtsp_date.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("shared_with: [TP-Link,", "shared_with: [No Such Maker,"))
    report = verify_knowledge(data)
    assert any("No Such Maker" in p.message for p in report.problems)


# --- look-alikes: every rule against the examples of other makers' rules -------------------


def _same_party(a: str, b: str) -> bool:
    a, b = KNOWLEDGE.canonical_vendor(a) or a, KNOWLEDGE.canonical_vendor(b) or b
    if a == b:
        return True
    family = KNOWLEDGE.family_of(a)
    if family is not None and family == KNOWLEDGE.family_of(b):
        return True
    # a brand and the maker a documented relation names are one party for this purpose
    return any(r.maker == b for r in KNOWLEDGE.relations_for_brand(a)) or any(
        r.maker == a for r in KNOWLEDGE.relations_for_brand(b)
    )


@pytest.mark.parametrize("placed", [p for p in RULES if p.maker], ids=lambda p: p.rule.id)
def test_no_rule_matches_an_undeclared_look_alike(placed: Placed) -> None:
    """A rule matching another maker's example must say so: shared, with that maker listed."""
    assert placed.maker is not None
    regex = placed.rule.compile()
    for other in RULES:
        if other.maker is None or not set(other.fields) & set(placed.fields):
            continue
        if _same_party(placed.maker, other.maker):
            continue
        for example in other.rule.examples:
            if match_values(placed.rule, regex, example.value) is None:
                continue
            specificity = placed.rule.specificity
            assert not specificity.maker_specific and other.maker in specificity.shared_with, (
                f"{placed.rule.id} ({placed.maker}) matches {example.value!r}, an example of "
                f"{other.rule.id} ({other.maker}); mark it shared with {other.maker}"
            )


# --- the verdict rule ----------------------------------------------------------------------


def test_month_first_date_alone_is_not_restricted() -> None:
    device = device_of(("rtsp", "rtsp.date", 554, MONTH_FIRST))
    assert device.manufacturer is None and not device.restricted
    assert is_review(device)
    assert any("possibly made by Hikvision" in note for note in device.notes)


def test_tp_link_like_reply_with_its_own_realm_is_not_restricted() -> None:
    device = device_of(
        ("rtsp", "rtsp.date", 554, MONTH_FIRST),
        ("rtsp", "rtsp.realm", 554, "TP-LINK IP-Camera"),
        ("rtsp", "rtsp.server", 554, "TP-LINK RTSP Server"),
    )
    assert not device.restricted and device.manufacturer != "Hikvision"


def test_reolink_like_device_is_attributed_to_its_own_maker() -> None:
    device = device_of(
        ("rtsp", "rtsp.date", 554, MONTH_FIRST),
        ("http", "http.title", 80, "Reolink"),
    )
    assert (device.manufacturer, device.restricted) == ("Reolink", False)
    assert not is_review(device)
    assert any("also produced by" in note and "Reolink" in note for note in device.notes)


def test_tp_link_upnp_device_is_attributed_to_tp_link() -> None:
    device = device_of(
        ("rtsp", "rtsp.date", 554, MONTH_FIRST),
        ("upnp", "upnp.manufacturer", None, "TP-LINK"),
    )
    # TP-Link is on the Texas prohibited-technologies list since 26 Jan 2026 (issue 12),
    # which binds Texas state agencies, not a national government body (the default reading).
    assert (device.manufacturer, device.restricted) == ("TP-Link", False)
    assert any(f.policy == "us-tx" and f.binding is False for f in device.findings)


def test_genuine_hikvision_with_a_specific_signal_stays_restricted() -> None:
    device = device_of(
        ("rtsp", "rtsp.date", 554, MONTH_FIRST),
        ("rtsp", "rtsp.realm", 554, "IP Camera(C2875)"),
    )
    assert (device.manufacturer, device.restricted) == ("Hikvision", True)


def test_two_independent_shared_signals_establish_the_maker() -> None:
    # two fields of different services (decision 0030: the RTSP reply's Date and Public
    # headers are one service, tests/test_specificity_services.py)
    device = device_of(
        ("rtsp", "rtsp.date", 554, MONTH_FIRST),
        ("http", "http.server", 80, "Webs"),
    )
    assert device.manufacturer == "Hikvision"


def test_one_shared_field_seen_twice_is_not_corroboration() -> None:
    device = device_of(
        ("rtsp", "rtsp.date", 554, MONTH_FIRST),
        ("rtsp", "rtsp.date", 8554, "Fri, Sep 20 2019 19:20:06 GMT"),
    )
    assert device.manufacturer is None and not device.restricted


# --- false positives: the whole rule set over the unrestricted corpus ----------------------

_REALM = re.compile(r'realm="([^"]*)"', re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _observations(entry: CorpusEntry) -> list[Observation]:
    """What the probes would record from the entry's replies (headers, realms, titles, TLS)."""
    found: list[Observation] = []
    for service in entry.services:
        if isinstance(service, HttpService):
            port = service.port
            replies = [r for r in (service.default, *service.routes.values()) if r is not None]
            for reply in replies:
                for name, value in reply.headers:
                    key = name.lower()
                    if key == "server":
                        found.append(Observation("http", port, "http.server", value))
                    elif key == "www-authenticate":
                        found += [
                            Observation("http", port, "http.realm", realm)
                            for realm in _REALM.findall(value)
                        ]
                    elif key == "location":
                        found.append(Observation("http", port, "http.location", value))
                if reply.body:
                    found.append(Observation("http", port, "http.body", reply.body))
                    found += [
                        Observation("http", port, "http.title", unescape(title).strip())
                        for title in _TITLE.findall(reply.body)
                    ]
            if service.tls is not None:
                subject = ",".join(f"{k}={v}" for k, v in service.tls.subject().items())
                found.append(Observation("tls", port, "tls.subject", subject))
                if service.tls.issuer:
                    issuer = ",".join(f"{k}={v}" for k, v in service.tls.issuer.items())
                    found.append(Observation("tls", port, "tls.issuer", issuer))
        elif isinstance(service, RtspService):
            headers = list(service.headers) + list(
                service.options_reply.headers if service.options_reply else []
            )
            for name, value in headers:
                key = name.lower()
                if key in ("server", "date", "public"):
                    found.append(Observation("rtsp", service.port, f"rtsp.{key}", value))
                elif key == "www-authenticate":
                    found += [
                        Observation("rtsp", service.port, "rtsp.realm", realm)
                        for realm in _REALM.findall(value)
                    ]
        elif isinstance(service, BannerService):
            text = service.raw().decode("latin-1").strip()
            found.append(Observation("banner", service.port, "banner.text", text))
    return found


UNRESTRICTED = [entry for entry in load_project_corpus() if not entry.expect.restricted]


def test_the_corpus_has_unrestricted_look_alikes() -> None:
    assert len(UNRESTRICTED) >= 20


@pytest.mark.parametrize("entry", UNRESTRICTED, ids=lambda e: e.id)
def test_no_unrestricted_corpus_device_is_flagged(entry: CorpusEntry) -> None:
    observations = _observations(entry)
    ports = sorted({o.port for o in observations if o.port is not None})
    attribution = ATTRIBUTOR.attribute("127.0.0.1", ports, [], extra_observations=observations)
    device = judge(attribution.device, POLICIES)
    assert not device.restricted, (entry.id, device.manufacturer, device.evidence)
    for claim in attribution.claims:
        # The corpus labels the five restricted families only (TP-Link, Xiaomi... have a
        # family for state measures since issue 12, and their own names are maker-specific).
        family = KNOWLEDGE.family_of(claim.value)
        if claim.field in ("manufacturer", "brand") and family in RESTRICTED_FAMILIES:
            assert not ATTRIBUTOR.maker_specific(claim), (
                f"{entry.id}: maker-specific rule {claim.rule_id} names {claim.value} on "
                f"{claim.observation.value!r}"
            )


# --- whole registry names ------------------------------------------------------------------

SPELLINGS = {name: [name, *v.aliases, *v.legal_names] for name, v in KNOWLEDGE.vendors.items()}
REGISTRY = {o.registry_name: o.vendor for o in load_grammar_knowledge().oui_owners}


@pytest.mark.parametrize(
    ("owner", "vendor"),
    [
        # Samsung Electronics is its own vendor (phones, TVs), never Hanwha Vision.
        ("Samsung Electronics Co.,Ltd", "Samsung Electronics"),
        ("SAMSUNG ELECTRO MECHANICS CO., LTD.", None),
        ("Samsung Electronics", "Samsung Electronics"),
        ("Samsung Techwin Co., Ltd", "Hanwha Vision"),
        ("SAMSUNG TECHWIN CO.,LTD", "Hanwha Vision"),
        ("Amcrest Technologies LLC", "Amcrest"),
        ("Zhejiang Dahua Technology Co.,Ltd.", "Dahua"),
        ("Shanghai Dahua Scale Factory", None),
        ("Teltronics, Inc.", "Teltronics"),  # its own vendor, never Teltronic (Hytera)
        ("Z-TEC", None),
    ],
)
def test_registry_names_match_whole_names_only(owner: str, vendor: str | None) -> None:
    assert vendor_for_registry_name(SPELLINGS, owner, REGISTRY) == vendor
    assert vendor_for_registry_name(SPELLINGS, owner) in (None, vendor)


def test_whole_name_drops_only_corporate_designators() -> None:
    assert whole_name("Samsung Techwin Co., Ltd.") == "samsungtechwin"
    assert whole_name("Samsung Electronics Co.,Ltd") == "samsungelectronics"


def test_a_samsung_phone_mac_names_samsung_electronics_not_hanwha() -> None:
    samsung_phone = "8c:71:f8:00:00:01"  # Samsung Electronics Co.,Ltd
    device = ATTRIBUTOR.attribute("127.0.0.1", [], [], mac=samsung_phone).device
    assert device.manufacturer == "Samsung Electronics"
    assert not device.restricted
    samsung_techwin = "00:09:18:00:00:01"  # Samsung Techwin: Hanwha Vision's former name
    device = ATTRIBUTOR.attribute("127.0.0.1", [], [], mac=samsung_techwin).device
    assert device.manufacturer == "Hanwha Vision"


def test_a_legal_name_with_no_break_spaces_reads_as_the_same_name() -> None:
    """A certificate whose issuer separates the words of the maker's legal name with U+00A0
    names the same maker as one with plain spaces (the rules are written with spaces)."""
    plain = device_of(
        ("tls", "tls.issuer", 443, "CN=camera,O=Zhejiang Dahua Technology Co.\\, Ltd.,C=CN")
    )
    folded = device_of(
        (
            "tls",
            "tls.issuer",
            443,
            "CN=camera,O=Zhejiang\u00a0Dahua\u00a0Technology\u00a0Co.\\, Ltd.,C=CN",
        )
    )
    assert plain.manufacturer == "Dahua"
    assert folded.manufacturer == plain.manufacturer
    assert folded.confidence == plain.confidence
