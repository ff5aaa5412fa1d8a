"""``provscan explain`` shows the relations that carried a maker, with their validity dates
and sources (an auditor's review: `explain` on a Lorex device said only "relation
former_subsidiary").

A Lorex login realm ("Login to ND..."; Recog's http_wwwauth.xml, nmap's l.14561) is Dahua's
realm format with a Lorex serial: Dahua firmware, which the attribution reads as the maker
(as it reads any OEM's firmware on a relabelled device); the relations Lorex -> Dahua
(former subsidiary 2018-02-06..2022-11-24, then an OEM relabel) say why the brand is Dahua's.
The lead kept that reading (an attempt to make the realm only a possible maker was reverted:
the held-out corpus labels such a device Dahua-made, and firmware lineage is the tool's
reading of relabels elsewhere); what changed is that the explanation shows the relations."""

from __future__ import annotations

from provscan.commands.explain import build_explanation, render
from provscan.identify import Identifier
from provscan.knowledge import load_knowledge
from provscan.model import Device, HostEvidence, Observation

KNOWLEDGE = load_knowledge()
POLICIES = KNOWLEDGE.select_policies(None)
LOREX_REALM = "Login to ND011809012345A"


def identify(*observations: Observation) -> Device:
    host = HostEvidence(address="127.0.0.9", open_ports=(80, 554), observations=observations)
    return Identifier(KNOWLEDGE, policies=POLICIES).device(host)


def test_explain_shows_the_relations_with_their_dates_and_sources() -> None:
    observations = (Observation("http", 80, "http.realm", LOREX_REALM),)
    device = identify(*observations)
    assert (device.manufacturer, device.brand) == ("Dahua", "Lorex"), device.notes
    explanation = build_explanation(device, observations, KNOWLEDGE)
    former = next(r for r in explanation.relations if r["relation"] == "former_subsidiary")
    assert (former["since"], former["until"]) == ("2018-02-06", "2022-11-24")
    assert former["carried"] == "maker"
    assert former["sources"] and all(isinstance(s, str) for s in former["sources"])
    text = "\n".join(render(explanation, width=100))
    assert "valid 2018-02-06..2022-11-24" in text
    assert former["sources"][0][:40] in text.replace("\n    ", "")


def test_explain_shows_the_relation_that_names_the_verdicts_maker() -> None:
    observations = (Observation("http", 80, "http.realm", "Login to AMC000N49SSV0M2U46"),)
    device = identify(*observations)
    explanation = build_explanation(device, observations, KNOWLEDGE)
    amcrest = [r for r in explanation.relations if r["brand"] == "Amcrest"]
    assert amcrest and all(r["carried"] == "maker" and r["maker"] == "Dahua" for r in amcrest)
    text = "\n".join(render(explanation, width=100))
    assert "relation Amcrest -> Dahua" in text and "undated" in text
