"""`provscan report --as PARTY`: a store holding scans judged for different parties (the
committed lab recording stored once with the default reading and once as a municipality)
is reported with every device judged for the named party, as `scan --as` judges it: the
verdicts, the counts, the trend and the case figures agree with a store scanned for that
party alone, and the cover says whom it was judged for and that some scans were judged for
another party. Without --as the stored verdicts stand (the trend jumps between parties)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_provscan

from provscan.compliance.facts import gather
from provscan.store.cases import RESTRICTED
from provscan.store.db import Store, open_store

CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"
MUNICIPAL = "ca:provincial-or-municipal-body"
FEDERAL = "ca:federal-institution"
ENV = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}


def _store(path: Path, *parties: str | None) -> Store:
    """The recording stored once per party (None: the default reading), in that order."""
    for index, party in enumerate(parties):
        acting = ["--as", party] if party else []
        again = ["--again"] if index else []
        done = run_provscan(
            "pcap", str(CAPTURE), "--db", str(path), *acting, *again, "--quiet",
            "--format", "json", "--output", f"{path}.{index}.json",
            env=ENV, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    store = open_store(f"sqlite:///{path}")
    _PATHS[id(store)] = str(path)
    return store


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return _store(tmp_path_factory.mktemp("mixed") / "provscan.db", None, MUNICIPAL)


_PATHS: dict[int, str] = {}


def _path(store: Store) -> str:
    return _PATHS[id(store)]


def _open_restricted_cases(store: Store) -> int:
    return sum(c.subject == RESTRICTED and c.status != "verified" for c in store.cases())


def test_without_as_the_stored_verdicts_stand_and_the_trend_jumps(mixed: Store) -> None:
    facts = gather(mixed)
    # both scans of the recording start at its first packet: their order is their ids'
    municipal, default = sorted(p.inventory_restricted for p in facts.trend)
    assert default > 0 and municipal == 0  # the jump the analyst saw
    assert facts.acting_as is None and facts.other_party_note is None
    assert facts.judged_for_sentence.startswith("different parties")


def test_as_the_municipality_judges_every_device_for_it(mixed: Store) -> None:
    stored = gather(mixed)
    facts = gather(mixed, acting_as=(MUNICIPAL,))
    # nothing restricts for a municipality: no jump, no restricted device, no open case of
    # a device that is clear for it (they are counted in one line, not as open cases)
    assert [p.inventory_restricted for p in facts.trend] == [0] * len(facts.trend)
    assert (facts.remaining, facts.restricted_total) == (0, 0)
    assert not any(row.reason.startswith("restricted maker") for row in facts.priority)
    opened_elsewhere = _open_restricted_cases(mixed)
    assert opened_elsewhere > 0
    assert facts.cases_other_party == opened_elsewhere
    assert facts.cases_open == stored.cases_open - opened_elsewhere
    assert facts.judged_for_sentence == f"{MUNICIPAL} (this report's --as)"
    note = facts.other_party_note
    assert note is not None and "1 of the 2 scans" in note and "(default)" in note
    assert f"{opened_elsewhere} open restricted-maker cases" in note


@pytest.mark.parametrize("party", [FEDERAL, MUNICIPAL])
def test_as_a_party_agrees_with_a_store_scanned_for_it(
    mixed: Store, tmp_path_factory: pytest.TempPathFactory, party: str
) -> None:
    facts = gather(mixed, acting_as=(party,))
    truth = gather(_store(tmp_path_factory.mktemp("one-party") / "provscan.db", party))
    assert truth.remaining > 0 or truth.not_binding_total > 0
    assert facts.remaining == truth.remaining
    assert facts.by_maker == truth.by_maker
    assert facts.to_review == truth.to_review
    assert dict(facts.not_binding) == dict(truth.not_binding)
    assert [p.inventory_restricted for p in facts.trend] == [truth.remaining] * 2
    verdicts = {(d["ip"], d["verdict"]) for d in facts.devices}
    assert verdicts == {(d["ip"], d["verdict"]) for d in truth.devices}


def test_the_cover_names_the_party_and_the_other_scans(mixed: Store, tmp_path: Path) -> None:
    path = _path(mixed)
    out = tmp_path / "city.md"
    done = run_provscan("report", "--db", path, "--as", MUNICIPAL, "-o", str(out), env=ENV)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert f"- Verdicts judged for: {MUNICIPAL} (this report's --as)" in text
    assert "- Scans judged for another party: 1 of the 2 scans in scope" in text


def test_an_unknown_party_is_one_line_with_the_near_match(mixed: Store, tmp_path: Path) -> None:
    path = _path(mixed)
    out = tmp_path / "city.md"
    done = run_provscan("report", "--db", path, "--as", "ca:municipal", "-o", str(out), env=ENV)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "did you mean ca:provincial-or-municipal-body?" in done.stderr
    assert not out.exists()
