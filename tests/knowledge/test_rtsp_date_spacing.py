"""Issue 11: the RTSP Date written after two spaces is Hikvision's; after one it is live555's.

A reply's Date goes through the wire parser (which keeps a second space as a leading space),
the RTSP observations and the fingerprint rules; only the two-space form may establish
Hikvision on its own.
"""

from __future__ import annotations

from provscan.attribution.attribute import Attributor
from provscan.fingerprints.matcher import Matcher
from provscan.knowledge.loader import load_knowledge
from provscan.model import Device, Observation
from provscan.observations.rtsp import response_observations
from provscan.wire.rtsp import parse_response

KNOWLEDGE = load_knowledge()
MATCHER = Matcher(KNOWLEDGE)
ATTRIBUTOR = Attributor(KNOWLEDGE, MATCHER)

#: Hikvision OPTIONS reply as in the public capture cited by the rule (two spaces).
HIKVISION_OPTIONS = (
    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n"
    b"Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n"
    b"Date:  Mon, Jan 29 2018 16:56:47 GMT\r\n\r\n"
)
#: live555's dateHeader() form (Reolink, many others): one space.
LIVE555_OPTIONS = (
    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nDate: Thu, Nov 24 2022 15:10:19 GMT\r\n"
    b"Public: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\r\n\r\n"
)


def _date_observation(raw: bytes) -> Observation:
    found = response_observations(554, "OPTIONS", parse_response(raw))
    return next(o for o in found if o.field == "rtsp.date")


def _rules(observation: Observation) -> set[str]:
    return {claim.rule_id for claim in MATCHER.match(observation)}


def _device(observation: Observation) -> Device:
    return ATTRIBUTOR.attribute("127.0.0.1", [554], [], extra_observations=[observation]).device


def test_two_spaces_are_kept_and_match_only_the_hikvision_rule() -> None:
    observation = _date_observation(HIKVISION_OPTIONS)
    assert observation.value == " Mon, Jan 29 2018 16:56:47 GMT"
    assert _rules(observation) == {"hikvision.rtsp_date.two_space_month_first"}


def test_one_space_matches_only_the_shared_rule() -> None:
    observation = _date_observation(LIVE555_OPTIONS)
    assert observation.value == "Thu, Nov 24 2022 15:10:19 GMT"
    assert _rules(observation) == {"hikvision.rtsp_date.month_first"}


def test_the_two_space_date_establishes_hikvision_the_one_space_date_does_not() -> None:
    assert _device(_date_observation(HIKVISION_OPTIONS)).manufacturer == "Hikvision"
    assert _device(_date_observation(LIVE555_OPTIONS)).manufacturer is None


def test_the_two_space_rule_is_maker_specific_and_the_month_first_rule_shared() -> None:
    rules = {rule.id: rule for loaded in KNOWLEDGE.fingerprints for rule in loaded.spec.rules}
    assert rules["hikvision.rtsp_date.two_space_month_first"].specificity.maker_specific
    shared = rules["hikvision.rtsp_date.month_first"].specificity
    assert not shared.maker_specific and {"TP-Link", "Reolink"} <= set(shared.shared_with)
