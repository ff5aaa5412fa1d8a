"""Issue 11: makers and product lines added for the makers the real-world corpus most often
left unknown (registry makers, product lines from nmap-service-probes and makers' documents).

Each case checks a decision in the data, not only that a name is listed: names that are
ordinary words are read only as the whole company name, a product line names its maker, a
brand that makes its own hardware is a maker claim, and none of it can flag a device.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attribution, Attributor
from provscan.fingerprints.names import NameFinder
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Observation, ProbeAttempt
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
FINDER = NameFinder(KNOWLEDGE)
ATTRIBUTOR = Attributor(KNOWLEDGE)


def found(text: str) -> list[tuple[str, bool]]:
    return [(hit.vendor, hit.product_line) for hit in FINDER.find(text)]


def attribute(*observations: Observation) -> Attribution:
    attempt = ProbeAttempt("http", 80, AttemptStatus.OK, observations)
    return ATTRIBUTOR.attribute("127.0.0.1", [80], [attempt])


@pytest.mark.parametrize(
    ("text", "vendor"),
    [
        ("Redline Communications AN-30 wireless bridge", "Redline Communications"),
        ("HeiTel Digital Video GmbH recorder", "HeiTel"),
        ("Siqura video encoder", "Siqura"),
        ("Indigo Security DVR", "Indigo Security"),
        ("SMC Networks Barricade", "SMC Networks"),
        ("ReeCam IP camera", "Reecam"),
    ],
)
def test_a_registry_maker_is_read_by_its_company_name(text: str, vendor: str) -> None:
    assert found(text) == [(vendor, False)]


@pytest.mark.parametrize(
    "text",
    [
        "Redline edition firmware",  # 'Redline' alone is an ordinary word
        "Indigo theme",  # so is 'Indigo' (IndigoVision is another maker)
        "SMC Internet Update Manager",  # an abbreviation many use (Avira, in nmap's probes)
        "Shelly's laptop",  # a given name; Shelly's own products carry a family word
    ],
)
def test_ordinary_words_do_not_name_these_makers(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "vendor"),
    [
        ("TiMOS-C-9.0.R6 cpm/hops ALCATEL SR 7750", "Nokia"),
        ("Aterm WG1200HP", "NEC"),
        ("Welcome to DINION IP 3000 HD", "Bosch"),
        ("AUTODOME IP starlight 7000i", "Bosch"),
        ("PortServer TS 16 MEI", "Digi International"),
        ("IQeye 703 Live Images", "IQinVision"),
        ("Shelly Plus 1PM", "Shelly Group"),
        ("Optra T612 FTP Server", "Lexmark"),
        ("JetDirect J4169A", "HP"),
        ("SoundBridge M1001", "Roku"),
        ("Touchstone TG862G", "ARRIS"),
    ],
)
def test_a_product_line_names_its_maker(text: str, vendor: str) -> None:
    assert found(text) == [(vendor, True)]


def test_a_brand_that_makes_its_own_hardware_is_a_maker_claim() -> None:
    device = attribute(Observation("http", 80, "http.title", "Vaddio RoboSHOT 12")).device
    assert device.manufacturer == "Vaddio"
    assert any(e.rule_id == "name:vendor" for e in device.evidence)


def test_a_product_line_is_a_shared_claim_that_never_restricts() -> None:
    device = attribute(
        Observation("http", 80, "http.server", "TiMOS-B-7.0.R9 both/hops ALCATEL SR 7450")
    ).device
    assert device.manufacturer == "Nokia"
    assert any(e.rule_id == "name:product-line" for e in device.evidence)
    assert device.confidence < 0.6  # a shared signal, below a reviewed rule's certainty
    assert not judge(device, KNOWLEDGE.select_policies(None)).restricted
