"""Identification's memos (issue 14, second pass): a long page body is remembered by a digest,
the rule-match memo forgets its oldest value when full instead of no longer remembering,
values of fields no rule reads are not kept, vendor names found in a text are remembered per
text, and the attributor's memos of knowledge lookups change no attribution (a fresh
attributor, memos emptied, attributes every lab host the same)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from provscan.attribution import attribute as attribute_module
from provscan.attribution.attribute import Attribution, Attributor
from provscan.fingerprints import grammars as grammars_module
from provscan.fingerprints import matcher as matcher_module
from provscan.fingerprints import names as names_module
from provscan.fingerprints.grammars import GrammarIndex
from provscan.fingerprints.matcher import CACHED_VALUE_CHARS, MAX_MATCH_CHARS, Matcher
from provscan.fingerprints.names import NameFinder
from provscan.knowledge import load_knowledge
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.model import Claim, Device, HostEvidence, Observation
from provscan.passive import analyse_captures

KNOWLEDGE = load_knowledge()
LAB = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"


def _afresh(matcher: Matcher, observation: Observation) -> list[Claim]:
    """What the rules claim, matched without the memo."""
    claims = []
    for compiled in matcher.rules_for(observation.field):
        for field_name, value in (compiled.match_values(observation.value) or {}).items():
            claims.append(
                Claim(field_name, value, compiled.rule.certainty, compiled.rule.id, observation)
            )
    return claims


def _body_example() -> str:
    """A page body one of the http.body rules matches (its first example)."""
    matcher = Matcher(KNOWLEDGE)
    return matcher.rules_for("http.body")[0].rule.examples[0].value


def test_a_long_body_is_remembered_by_a_digest_not_by_its_text() -> None:
    matcher = Matcher(KNOWLEDGE)
    body = _body_example() + "\n<!-- page -->" * (CACHED_VALUE_CHARS // 8)
    assert len(body) > CACHED_VALUE_CHARS
    first = Observation("http", 80, "http.body", body, "device one")
    second = Observation("http", 8080, "http.body", body, "device two")
    claims = matcher.match(first)
    assert claims and claims == _afresh(matcher, first)
    assert matcher.match(second) == _afresh(matcher, second)
    assert len(matcher._matched) == 1  # one entry for both devices
    ((field_name, key),) = matcher._matched
    assert field_name == "http.body" and isinstance(key, bytes) and len(key) < 64
    # text past what the rules read does not tell two bodies apart, and claims the same
    longer = body + "x" * MAX_MATCH_CHARS
    third = Observation("http", 80, "http.body", longer[: MAX_MATCH_CHARS + 10])
    fourth = Observation("http", 80, "http.body", longer)
    assert matcher.match(third) == _afresh(matcher, third)
    assert matcher.match(fourth) == _afresh(matcher, fourth)
    assert len(matcher._matched) == 2
    # a body that differs within what the rules read is another entry
    other = Observation("http", 80, "http.body", body.replace("page", "gape"))
    assert matcher.match(other) == _afresh(matcher, other)
    assert len(matcher._matched) == 3


def test_a_full_memo_forgets_its_oldest_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher_module, "MATCH_CACHE_SIZE", 10)
    matcher = Matcher(KNOWLEDGE)
    values = [f"lighttpd/1.4.{number}" for number in range(25)]
    for value in values:
        observation = Observation("http", 80, "http.server", value)
        assert matcher.match(observation) == _afresh(matcher, observation)
    assert list(matcher._matched) == [("http.server", value) for value in values[-10:]]
    # a value seen again after being forgotten is matched afresh, with the same claims
    again = Observation("http", 80, "http.server", values[0])
    assert matcher.match(again) == _afresh(matcher, again)
    assert ("http.server", values[0]) in matcher._matched


def test_values_of_fields_no_rule_reads_are_not_remembered() -> None:
    matcher = Matcher(KNOWLEDGE)
    field_name = "http.date"
    assert not matcher.rules_for(field_name)
    for second in range(50):
        date = f"Mon, 07 Dec 2026 17:46:{second:02d} GMT"
        assert matcher.match(Observation("http", 80, field_name, date)) == []
    assert not matcher._matched


def _name_texts() -> list[str]:
    matcher = Matcher(KNOWLEDGE)
    texts = [
        example.value
        for field_name in attribute_module.NAME_FIELDS
        for compiled in matcher.rules_for(field_name)
        for example in compiled.rule.examples
    ]
    return [*texts, "Viewer for Prama Hikvision India cameras", "TP-LINK HTTPD/1.0", ""]


def test_names_found_are_remembered_per_text(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _name_texts()
    assert len(texts) > 50
    finder = NameFinder(KNOWLEDGE)
    for text in [*texts, *texts]:
        found = finder.find(text)
        assert found == finder._find(text)
        found.clear()  # the caller's list: the remembered hits are not touched
        assert finder.find(text) == finder._find(text)
    assert any(finder.find(text) for text in texts)
    monkeypatch.setattr(names_module, "FIND_MEMO_SIZE", 5)
    bounded = NameFinder(KNOWLEDGE)
    distinct = list(dict.fromkeys(texts))
    for text in distinct:
        bounded.find(text)
    assert list(bounded._found) == distinct[-5:]
    long_text = "Hikvision " * names_module.FIND_MEMO_CHARS
    assert bounded.find(long_text) == bounded._find(long_text)
    assert long_text not in bounded._found


def test_grammar_memo_forgets_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grammars_module, "FIND_CACHE_SIZE", 3)
    index = GrammarIndex(load_grammar_knowledge())
    words = [["DS-2CD2143G0-I"], ["IPC-HFW2431S"], ["S5735-L24T4X-A1"], ["camera"], ["X1"]]
    found = [index.find(each) for each in words]
    assert [key for key, _ in index._found] == [tuple(each) for each in words[-3:]]
    assert [index.find(each) for each in words] == found
    assert any(found)


def test_grammar_memo_of_size_zero_remembers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A memo size of 0 turns remembering off (it raised KeyError on the first find)."""
    monkeypatch.setattr(grammars_module, "FIND_CACHE_SIZE", 0)
    index = GrammarIndex(load_grammar_knowledge())
    first = index.find(["DS-2CD2143G0-I"])
    assert first and index.find(["DS-2CD2143G0-I"]) == first
    assert not index._found


@functools.cache
def _lab_hosts() -> tuple[HostEvidence, ...]:
    hosts: list[HostEvidence] = []
    attributor = Attributor(KNOWLEDGE)

    def keep(host: HostEvidence) -> Device:
        hosts.append(host)
        return _attribute(attributor, host).device

    analyse_captures([str(LAB)], keep, knowledge=KNOWLEDGE)
    return tuple(hosts)


def _attribute(attributor: Attributor, host: HostEvidence) -> Attribution:
    return attributor.attribute(
        host.address,
        sorted(host.open_ports),
        host.attempts,
        mac=host.mac,
        hostname=host.hostname,
        extra_observations=host.observations,
    )


def _forget_module_memos() -> None:
    for memo in (attribute_module._key, attribute_module._vendor_key):
        memo.cache_clear()
    attribute_module._establishes.cache_clear()


def test_attribution_with_memos_is_attribution_afresh() -> None:
    hosts = _lab_hosts()
    assert len(hosts) >= 10
    remembering = Attributor(KNOWLEDGE)
    # every host twice: the second time the knowledge lookups and verdicts are remembered
    remembered = [_attribute(remembering, host) for host in [*hosts, *hosts]]
    assert remembering._canonical.cache_info().hits > 0
    assert attribute_module._establishes.cache_info().hits > 0
    afresh = []
    for host in [*hosts, *hosts]:
        _forget_module_memos()
        afresh.append(_attribute(Attributor(KNOWLEDGE), host))
    assert remembered == afresh
    assert any(a.device.manufacturer for a in afresh)
    assert any(a.device.family for a in afresh)  # restricted families' makers among them
