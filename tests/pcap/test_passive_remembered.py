"""What the stages after a capture's analysis remember across devices (issue 14, fifth pass)
changes no result: the evidence detail of a capture fact (``where``) per (packet, time), and
the keys of the model grammars' generic labels, computed once per attributor instead of once
per device. Each is checked against the same work done afresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from provscan.attribution.attribute import Attributor
from provscan.identify import Identifier
from provscan.knowledge import load_knowledge
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.vocabulary import vendor_key
from provscan.model import Observation
from provscan.passive import analyse_captures
from provscan.passive.hosts import where

LAB = Path(__file__).parent / "fixtures" / "lab_scan.pcap.gz"


@pytest.mark.parametrize(
    ("packet", "seconds"),
    [
        (1, 0.0),
        (12, 1733356800.123456),
        (12, 1733356800.1234565),  # rounds at the microsecond
        (13, 1733356800.999999),
        (13, 1733356800.9999996),  # rounds into the next second
        (7, -0.0),
        (7, 1e300),  # absurd: the epoch
        (7, float("nan")),
        (2**40, 5),  # an int time and the same float time give the same text
        (2**40, 5.0),
    ],
)
def test_remembered_where_is_the_text_computed_afresh(packet: int, seconds: float) -> None:
    fresh = where.__wrapped__(packet, seconds)
    assert where(packet, seconds) == fresh
    assert where(packet, seconds) == fresh  # the second call is answered from the memo
    assert fresh.startswith(f"packet {packet} at ")


def test_where_keeps_bool_and_int_packets_apart() -> None:
    """``typed``: True == 1 as a key, yet their texts differ; neither answers for the other."""
    assert where(1, 10.0) == "packet 1 at 1970-01-01T00:00:10.000000Z"
    assert where(True, 10.0) == "packet True at 1970-01-01T00:00:10.000000Z"


def test_generic_label_keys_are_the_grammar_labels_keys() -> None:
    grammars = load_grammar_knowledge()
    attributor = Attributor(load_knowledge())
    assert attributor._generic_label_keys == {
        vendor_key(label) for label in grammars.generic_labels
    }
    assert len(attributor._generic_label_keys) >= 10


@pytest.mark.parametrize(
    ("label", "kept"),
    [("Zorblax Vision", True), ("IP Camera", False), ("ipcam", False), (" Generic ", False)],
)
def test_an_unrecognised_label_is_kept_and_a_generic_one_is_not(label: str, kept: bool) -> None:
    """A grammar names the maker of a model no rule explained; the label the device prints is
    kept as a brand claim unless it is one of the grammars' generic labels."""
    observations = (
        Observation("onvif", 80, "onvif.model", "DS-2CD2143G0-I", ""),
        Observation("onvif", 80, "onvif.manufacturer", label, ""),
    )
    for _ in range(2):  # the same answer for the next device
        result = Attributor(load_knowledge()).attribute(
            "127.0.0.5", [80], (), extra_observations=observations
        )
        labels = [c for c in result.claims if c.rule_id == "label:unrecognised"]
        assert result.device.manufacturer == "Hikvision"
        assert [c.value for c in labels] == ([label.strip()] if kept else [])
        assert (result.device.relation == "probable_relabel") is kept


def test_the_lab_recording_gives_the_same_devices_with_a_cold_memo() -> None:
    """The lab recording analysed twice in one process (the second time every (packet,
    time) is remembered) and once after the memo is emptied: the same devices."""
    # The knowledge is read when the test runs (another test may have loaded another copy,
    # and an attributor takes the bundled grammars only with the bundled knowledge itself).
    knowledge = load_knowledge()
    policies = knowledge.select_policies(None)

    def run() -> tuple[object, ...]:
        identifier = Identifier(knowledge, policies)
        result = analyse_captures([str(LAB)], identifier.device, knowledge=knowledge)
        return identifier.finish(result).devices

    first = run()
    second = run()
    where.cache_clear()
    cold = run()
    assert len(first) >= 5
    assert first == second == cold
    assert any("packet " in item.detail for device in first for item in device.evidence)
