"""The posture knowledge files: every entry sourced, every bound parseable, bad data refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from provscan.errors import KnowledgeError
from provscan.knowledge.loader import DEFAULT_DATA_DIR, load_knowledge, load_posture_knowledge
from provscan.lab.server import load_devices
from provscan.posture.versions import VersionRange, in_range, parse_firmware

KNOWLEDGE = load_posture_knowledge()


@pytest.mark.parametrize("entry", KNOWLEDGE.vulnerabilities, ids=lambda e: e.cve)
def test_every_cve_has_source_range_fix_and_scores(entry) -> None:  # type: ignore[no-untyped-def]
    assert entry.sources and all(source.strip() for source in entry.sources)
    assert entry.references and all(r.startswith("https://") for r in entry.references)
    assert 0 < entry.cvss.score <= 10 and entry.cvss.scored_by
    assert entry.kev.checked
    if entry.kev.listed:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.kev.date_added or "")
    for affected in entry.affected:
        assert affected.as_published.strip()
        # A fixed version, or an explanation of why none is published.
        assert affected.fixed_in or affected.note or entry.uncertain
        if affected.versions_published:
            assert affected.introduced or affected.last_affected or affected.fixed


def test_the_knowledge_names_the_cves_the_issue_asks_for() -> None:
    cves = {entry.cve for entry in KNOWLEDGE.vulnerabilities}
    assert {
        "CVE-2017-7921",
        "CVE-2021-36260",
        "CVE-2021-33044",
        "CVE-2021-33045",
        "CVE-2020-5735",
    } <= cves


def test_fixed_versions_are_outside_their_own_ranges() -> None:
    # The first fixed build must never be judged vulnerable by its own range.
    for entry in KNOWLEDGE.vulnerabilities:
        for affected in entry.affected:
            if affected.fixed is None:
                continue
            bounds = VersionRange(
                affected.basis,
                parse_firmware(affected.introduced),
                parse_firmware(affected.last_affected),
                parse_firmware(affected.fixed),
            )
            fixed = parse_firmware(affected.fixed)
            assert fixed is not None
            assert in_range(fixed, bounds) == "not_affected", (entry.cve, affected.fixed)


def test_default_accounts_and_eol_are_sourced() -> None:
    assert KNOWLEDGE.default_accounts
    for account in KNOWLEDGE.default_accounts:
        assert account.sources and account.scope.strip()
    for entry in KNOWLEDGE.end_of_life:
        assert entry.sources and entry.statement.strip()


def test_lab_variants_sit_on_the_published_boundaries() -> None:
    variants = {
        d.id: d for d in load_devices() if d.id.endswith(("-vulnerable", "-fixed", "-patched"))
    }
    assert {
        "hik-fw-7921-vulnerable",
        "hik-fw-7921-fixed",
        "dahua-fw-33044-vulnerable",
        "dahua-fw-33044-fixed",
        "amcrest-fw-5735-vulnerable",
        "amcrest-fw-5735-fixed",
        "hik-fw-patched",
    } <= set(variants)
    published = " ".join(
        a.as_published + " " + (a.fixed or "") + " " + (a.last_affected or "")
        for e in KNOWLEDGE.vulnerabilities
        for a in e.affected
    )
    for device_id in (
        "hik-fw-7921-vulnerable",
        "dahua-fw-33044-fixed",
        "amcrest-fw-5735-fixed",
        "hik-fw-patched",
    ):
        firmware = variants[device_id].identity.firmware
        assert firmware and firmware in published, device_id


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("vendors: [Amcrest]", "vendors: [AMCREST]", "not a canonical vendor name"),
        ("last_affected: V5.4.0 build 160530", "last_affected: soon", "does not parse"),
        ("fixed: build 250416", "fixed: V5.5.0", "no build date"),
        (
            '    kev: {listed: true, date_added: "2022-01-10", checked: "2025-08-25"}',
            '    kev: {listed: true, checked: "2025-08-25"}',
            "kev.date_added",
        ),
    ],
)
def test_the_loader_refuses_bad_vulnerability_data(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    data = _copy_data(tmp_path)
    path = data / "vulnerabilities.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=message):
        load_posture_knowledge(data, load_knowledge(data))


def test_the_loader_refuses_an_unsourced_entry(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    path = data / "default_accounts.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            '    sources:\n      - "Dahua NVRPRO',
            '    sources: []\n    x_sources:\n      - "Dahua NVRPRO',
        ),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError):
        load_posture_knowledge(data, load_knowledge(data))
