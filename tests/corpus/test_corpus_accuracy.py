"""Identification accuracy on the project's own real-world corpus (tests/corpus/devices*.yaml).

Every entry is served by the lab on loopback and the whole corpus is scanned once, on
provscan's default ports, through the real pipeline. Two kinds of check:

- issue 11's acceptance thresholds (restricted recall >= 0.95, restricted precision >= 0.98,
  maker accuracy >= 0.90, no unrestricted device flagged restricted); the ones not met yet are
  ``xfail(strict=True)`` with the measured numbers, so a mark cannot outlive the problem;
- floors at what is measured today, overall and per restricted family, so that a change that
  makes identification worse fails even while the acceptance thresholds are out of reach.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from corpus_schema import CorpusEntry, corpus_address, entry_device_spec, load_project_corpus
from corpus_score import Case, Tally, device_case, format_errors, tally
from helpers import scan_addresses

from provscan.fingerprints.service_probes import installed_service_probes
from provscan.identify import Identifier
from provscan.knowledge.loader import load_knowledge
from provscan.lab.server import run_lab_in_thread
from provscan.model import Device, HostEvidence
from provscan.transport.limits import DEFAULT_PORTS

RECALL_MIN = 0.95
PRECISION_MIN = 0.98
MAKER_ACCURACY_MIN = 0.90

#: The corpus lab lives on 127.251.x.y, four /24s per test process, so concurrent sessions and
#: the session lab of tests/helpers.py (127.130-229.x.y) never share an address.
SECOND_OCTET = 251

# Measured on the corpus (334 entries, 62 restricted) on 2026-12-06; each mark goes when
# provscan meets its threshold (strict: an unexpected pass fails the run). 26 entries collected
# blind on 2026-12-06 (devices_restricted.yaml: 23 restricted) took recall from 27/29 to 33/52:
# third-party replies provscan was not written for. The Huawei VRP empty SSH version rule
# (three sources of its own, none of them a corpus entry) then gave 36/52; Hikvision's RTSP
# Date after two spaces, Huawei's firmware CAs (huawei.com e-mail, O=Huawei, mediarouter.home)
# and ZTE's ZXDSL/OX model names in FTP and telnet greetings (each from two or more sources
# outside the corpus; ztag, the source of three entries, is one source of the last two) gave
# 41/52. A second blind collection (devices_blind2.yaml: 22 entries, 10 restricted, one more
# left out for sharing a value with the held-out set) found 6 of its 10: 47/62. Decision 0030
# (2026-12-07: shared signals of one service are one signal, e.g. the Date and Public headers
# of one RTSP reply) moved one Hikvision and one Dahua-family entry to review: 45/62. A third
# blind collection (devices_blind3.yaml, 2026-12-07: 4 entries, 2 restricted) found neither
# (each source shows one reply on a path the scan does not request): 45/64.
XFAIL_RECALL = pytest.mark.xfail(
    strict=True,
    reason="measured restricted recall 45/64 = 0.70 (2026-12-07, with the third blind "
    "collection; 45/62 before it, 47/62 before decision 0030 "
    "counted one service's shared signals as one; 27/29 = 0.93 before the blind "
    "additions). Source-limited (the source shows only replies the default scan cannot get): "
    "Dahua-family SETUP replies after authentication (2), Hikvision DESCRIBE replies after "
    "authentication (2), replies on a path the scan does not request (HiLink token and "
    "information, ZTE goform POSTs, Amcrest audio CGI, Hikvision ISAPI picture and status, "
    "Dahua magicBox getSystemInfo: 9), "
    "NETCONF on 830 (1). Real gaps: a generic 'Document Error' page, the Huawei/H3C/"
    "HPE 'Login authentication' prompt (shared: review only), a telnet warning no source ties "
    "to one maker",
)
XFAIL_MAKER = pytest.mark.xfail(
    strict=True,
    reason="measured maker accuracy 287/338 = 0.85 (2026-12-07 with the third blind "
    "collection; 287/334 before it, 289/334 before decision 0030, 263/286 = 0.92 before the "
    "blind additions): the restricted misses above, plus unrestricted devices whose replies "
    "name no maker (shared UPnP SDK servers, generic realms and titles, model-only prompts)",
)

#: Regression floors: what is measured today (2026-12-06), rounded down. recall and maker
#: accuracy per restricted family and overall; precision 1.0 everywhere. Hikvision, Dahua and
#: all lowered on 2026-12-07 (decision 0030: one Hikvision and one Dahua-family entry named
#: only by shared fields of one service are review now: 16/22, 10/14, 45/62, makers 287/334).
#: Dahua, Huawei and all lowered again on 2026-12-07 for the third blind collection (its two
#: restricted entries missed, source-limited: 10/15, 13/18, 45/64, makers 287/338).
RECALL_FLOOR = {"hikvision": 0.72, "dahua": 0.66, "huawei": 0.72, "zte": 0.66, "all": 0.70}
MAKER_ACCURACY_FLOOR = {
    "hikvision": 0.72,
    "dahua": 0.66,
    "huawei": 0.72,
    "zte": 0.66,
    "other": 0.88,
    "all": 0.84,
}
#: Breadth the corpus must keep (issue 11: hundreds of devices, >= 60 makers).
MIN_ENTRIES = 250
MIN_MAKERS = 60


@pytest.fixture(scope="module")
def corpus() -> list[CorpusEntry]:
    return load_project_corpus()


@pytest.fixture(scope="module")
def scanned(corpus: list[CorpusEntry]) -> Iterator[list[Device | None]]:
    """One scan of every corpus entry served on loopback (provscan's own rules only: the
    measures below do not depend on whether nmap is installed); the device of each entry."""
    devices = [
        entry_device_spec(e, corpus_address(SECOND_OCTET, i, os.getpid()))
        for i, e in enumerate(corpus)
    ]
    with run_lab_in_thread(devices):
        result = scan_addresses([d.address for d in devices], ports=DEFAULT_PORTS)
    by_ip = {device.ip: device for device in result.devices}
    yield [by_ip.get(spec.address) for spec in devices]


def _cases(corpus: list[CorpusEntry], devices: list[Device | None]) -> list[Case]:
    return [
        device_case(entry.id, entry.expect, device, "no device record on the default ports")
        for entry, device in zip(corpus, devices, strict=True)
    ]


@pytest.fixture(scope="module")
def cases(corpus: list[CorpusEntry], scanned: list[Device | None]) -> list[Case]:
    """One Case per entry."""
    return _cases(corpus, scanned)


@pytest.fixture(scope="module")
def overall(cases: list[Case]) -> Tally:
    return tally(cases)["all"]


def _report(cases: list[Case]) -> str:
    return "\n".join(format_errors(cases, evidence_lines=3, width=100))


def test_corpus_has_restricted_and_unrestricted_entries(corpus: list[CorpusEntry]) -> None:
    families = {entry.expect.true_family() for entry in corpus}
    assert {"hikvision", "dahua", "huawei", "zte", "other"} <= families
    restricted = sum(entry.expect.restricted for entry in corpus)
    assert len(corpus) - restricted >= restricted, "at least as many look-alikes as positives"


def test_corpus_breadth(corpus: list[CorpusEntry]) -> None:
    makers = {entry.expect.stated_maker() for entry in corpus}
    assert len(corpus) >= MIN_ENTRIES, len(corpus)
    assert len(makers) >= MIN_MAKERS, sorted(str(m) for m in makers)
    # relabels and subsidiaries of the restricted families are in it too
    brands = {entry.expect.manufacturer for entry in corpus} | {
        entry.expect.brand for entry in corpus
    }
    assert {"EZVIZ", "HiWatch", "Amcrest"} <= brands


@pytest.mark.parametrize("family", sorted(RECALL_FLOOR))
def test_restricted_recall_does_not_regress(cases: list[Case], family: str) -> None:
    found = tally(cases)[family]
    assert found.recall is not None
    assert found.recall >= RECALL_FLOOR[family], _report(cases)


@pytest.mark.parametrize("family", sorted(MAKER_ACCURACY_FLOOR))
def test_maker_accuracy_does_not_regress(cases: list[Case], family: str) -> None:
    found = tally(cases)[family]
    assert found.maker_accuracy is not None
    assert found.maker_accuracy >= MAKER_ACCURACY_FLOOR[family], _report(cases)


@pytest.mark.parametrize("family", ["hikvision", "dahua", "huawei", "zte", "all"])
def test_restricted_precision_per_family(cases: list[Case], family: str) -> None:
    found = tally(cases)[family]
    assert found.precision is not None
    assert found.precision >= PRECISION_MIN, _report(cases)


@XFAIL_RECALL
def test_restricted_recall(cases: list[Case], overall: Tally) -> None:
    assert overall.recall is not None
    assert overall.recall >= RECALL_MIN, _report(cases)


def test_restricted_precision(cases: list[Case], overall: Tally) -> None:
    assert overall.precision is not None
    assert overall.precision >= PRECISION_MIN, _report(cases)


@XFAIL_MAKER
def test_maker_accuracy(cases: list[Case], overall: Tally) -> None:
    assert overall.maker_accuracy is not None
    assert overall.maker_accuracy >= MAKER_ACCURACY_MIN, _report(cases)


def test_no_unrestricted_device_flagged_restricted(cases: list[Case]) -> None:
    flagged = [case for case in cases if case.false_flag]
    assert not flagged, _report(flagged)


@pytest.mark.skipif(installed_service_probes() is None, reason="nmap's data is not installed")
def test_nmap_fallback_adds_makers_and_flags_nothing(
    corpus: list[CorpusEntry], scanned: list[Device | None], overall: Tally
) -> None:
    """Decision 0023: the same replies, re-identified with nmap's match lines (from this
    machine's nmap) as the fallback for devices no rule attributed."""
    knowledge = load_knowledge()
    identifier = Identifier(
        knowledge,
        knowledge.select_policies(None),
        posture=False,
        service_probes=installed_service_probes(),
    )
    again = [
        None
        if device is None
        else identifier.device(
            HostEvidence(
                device.ip,
                device.open_ports,
                device.attempts,
                device.observations,
                device.mac,
                device.hostname,
            )
        )
        for device in scanned
    ]
    with_fallback = _cases(corpus, again)
    found = tally(with_fallback)["all"]
    print(
        f"maker accuracy without {overall.maker_accuracy}, with nmap's fallback {found.maker_accuracy}"
    )
    assert not [case for case in with_fallback if case.false_flag], _report(with_fallback)
    assert found.recall == overall.recall
    assert found.maker_accuracy is not None and overall.maker_accuracy is not None
    # it only ever fills in a maker where there was none (measured: 212 -> 215 of 286 on
    # 2026-12-04; 242 -> 242 on 2026-12-05, once provscan's own rules, written from the same
    # nmap facts among others, named the devices nmap's lines had named)
    assert found.makers_right >= overall.makers_right
    changed = [
        (before, after)
        for before, after in zip(scanned, again, strict=True)
        if before is not None and after is not None and before.manufacturer != after.manufacturer
    ]
    assert all(before.manufacturer is None for before, _ in changed)
    assert all(
        any(note.startswith("nmap fallback (low certainty") for note in after.notes)
        for _, after in changed
    )
