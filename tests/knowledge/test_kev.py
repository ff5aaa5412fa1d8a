"""``provscan kev import``: a KEV feed file changes the KEV status it should and nothing else.

The feeds are built here in the shape CISA publishes (known_exploited_vulnerabilities.json);
PROVSCAN_KNOWLEDGE_DIR points at a temporary directory, where each test first installs a copy
of the bundled data as the base pack (so the tests hold while the bundled manifest is being
regenerated).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    KNOWLEDGE_DIR_ENV,
    MANIFEST_FILE,
    KnowledgeYamlLoader,
    active_data_dir,
)
from provscan.knowledge.kev import import_kev, kev_pack_version
from provscan.knowledge.loader import load_knowledge
from provscan.knowledge.packs import (
    MAX_AGE_ENV,
    active_pack,
    build_manifest,
    install_pack,
    pack_bytes,
    read_manifest,
)

CATALOG_VERSION = "2026.11.20"
RELEASED = "2026-11-20"


BASE_VERSION = "2999.1.0"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A knowledge home whose active pack is a copy of the bundled data (``BASE_VERSION``)."""
    directory = tmp_path / "knowledge-home"
    monkeypatch.setenv(KNOWLEDGE_DIR_ENV, str(directory))
    data_dir = tmp_path / "base-data"
    shutil.copytree(BUNDLED_DATA_DIR, data_dir, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    manifest = build_manifest(data_dir, version=BASE_VERSION, as_of=date.today().isoformat())
    archive = tmp_path / "base.tar.gz"
    archive.write_bytes(pack_bytes(data_dir, manifest))
    install_pack(archive)
    return directory


def base_dir(home: Path) -> Path:
    return home / BASE_VERSION


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=KnowledgeYamlLoader)


def base_cves(home: Path) -> list[dict[str, Any]]:
    return list(load_yaml(base_dir(home) / "vulnerabilities.yaml")["vulnerabilities"])


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def kev_entry(cve: str, vendor: str, product: str, added: str, due: str) -> dict[str, Any]:
    return {
        "cveID": cve,
        "vendorProject": vendor,
        "product": product,
        "vulnerabilityName": f"{vendor} {product} Improper Authentication Vulnerability",
        "dateAdded": added,
        "shortDescription": "An attacker can bypass authentication.",
        "requiredAction": "Apply mitigations per vendor instructions or discontinue use.",
        "dueDate": due,
        "knownRansomwareCampaignUse": "Unknown",
        "notes": f"https://nvd.nist.gov/vuln/detail/{cve}",
        "cwes": ["CWE-287"],
    }


def filler(count: int = 1000) -> list[dict[str, Any]]:
    """Entries of a vendor provscan does not know, for CVEs it does not describe: they make a
    feed the size of a whole catalog (a smaller one needs --partial) and change nothing."""
    return [
        kev_entry(f"CVE-2000-{90000 + n}", "Examplesoft", "Widget", "2022-01-10", "2022-01-24")
        for n in range(count)
    ]


def feed(entries: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    entries = [*entries, *filler()] if "count" not in overrides else entries
    document: dict[str, Any] = {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": CATALOG_VERSION,
        "dateReleased": f"{RELEASED}T17:01:32.6281Z",
        "count": len(entries),
        "vulnerabilities": entries,
    }
    document.update(overrides)
    return document


def write_feed(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def realistic_feed(home: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A feed naming one of our unlisted CVEs, one listed one with another date, a CVE of a
    maker we know that our data lacks, and an unrelated vendor's CVE."""
    cves = base_cves(home)
    unlisted = next(entry for entry in cves if not entry["kev"]["listed"])
    listed = next(entry for entry in cves if entry["kev"]["listed"])
    maker = unlisted["vendors"][0]
    entries = [
        kev_entry("CVE-2014-0160", "OpenSSL", "OpenSSL", "2022-05-04", "2022-05-25"),
        kev_entry(unlisted["cve"], maker, "IP cameras", "2026-11-18", "2026-12-09"),
        kev_entry(listed["cve"], listed["vendors"][0], "cameras", "2026-10-01", "2026-10-22"),
        kev_entry("CVE-2026-99999", maker, "NVR", "2026-11-19", "2026-12-10"),
    ]
    return feed(entries), {"unlisted": unlisted, "listed": listed}


def expected_kev(before: dict[str, Any], listing: dict[str, Any] | None) -> dict[str, Any]:
    """What the import should make of one CVE's kev mapping (the rules in knowledge/kev.py)."""
    after = dict(before)
    if listing is not None:
        if not before["listed"]:
            after["note"] = (
                f"Listed in the CISA KEV catalog {CATALOG_VERSION} (released {RELEASED}); "
                "imported with provscan kev import."
            )
        after.update(listed=True, date_added=listing["dateAdded"], due_date=listing["dueDate"])
        after["checked"] = RELEASED
    elif not before["listed"]:
        after["checked"] = RELEASED
    return after


def test_a_kev_feed_changes_exactly_the_kev_status_it_should_and_nothing_else(
    home: Path, tmp_path: Path
) -> None:
    # Given a KEV feed file as published
    document, picked = realistic_feed(home)
    path = write_feed(tmp_path / "known_exploited_vulnerabilities.json", document)
    by_cve = {entry["cveID"]: entry for entry in document["vulnerabilities"]}

    # When it is imported
    report, result = import_kev(path)

    # Then a new pack is active, named after the catalog
    assert result is not None and result.changed
    version = kev_pack_version(BASE_VERSION, CATALOG_VERSION)
    assert result.version == version == f"{BASE_VERSION}+kev.{CATALOG_VERSION}"
    assert active_data_dir() == home / version
    pack = active_pack(check_hashes=True)
    assert pack.intact and pack.derived_from == BASE_VERSION
    assert pack.kev_catalog is not None and pack.kev_catalog.version == CATALOG_VERSION

    # Every other data file is byte for byte the base pack's
    new_dir = home / version
    assert set(read_manifest(new_dir).files) == set(read_manifest(base_dir(home)).files)
    for name in read_manifest(base_dir(home)).files:
        if name != "vulnerabilities.yaml":
            assert (new_dir / name).read_bytes() == (base_dir(home) / name).read_bytes(), name

    # In vulnerabilities.yaml only `kev` mappings differ, each exactly as the rules say
    before_entries = base_cves(home)
    after_entries = load_yaml(new_dir / "vulnerabilities.yaml")["vulnerabilities"]
    assert [entry["cve"] for entry in after_entries] == [entry["cve"] for entry in before_entries]
    for before, after in zip(before_entries, after_entries, strict=True):
        assert {k: v for k, v in after.items() if k != "kev"} == {
            k: v for k, v in before.items() if k != "kev"
        }, before["cve"]
        assert after["kev"] == expected_kev(before["kev"], by_cve.get(before["cve"])), before["cve"]
    newly = next(e for e in after_entries if e["cve"] == picked["unlisted"]["cve"])
    assert newly["kev"]["listed"] is True and newly["kev"]["date_added"] == "2026-11-18"

    # The loaders read the result: the posture data now says the CVE is KEV-listed
    from provscan.knowledge.loader import load_posture_knowledge

    posture = {v.cve: v for v in load_posture_knowledge().vulnerabilities}
    assert posture[picked["unlisted"]["cve"]].kev.listed is True

    # And the report lists the known maker's CVE we lack, not OpenSSL's
    assert [entry.cveID for entry in report.not_in_our_data] == ["CVE-2026-99999"]
    assert set(report.listed) == {picked["unlisted"]["cve"], picked["listed"]["cve"]}
    listed_elsewhere = {e["cve"] for e in before_entries if e["kev"]["listed"]} - set(by_cve)
    assert set(report.listed_here_not_in_catalog) == listed_elsewhere
    assert load_knowledge().canonical_vendor("OpenSSL") is None  # why it is not listed


def test_importing_the_same_catalog_twice_changes_nothing(home: Path, tmp_path: Path) -> None:
    document, _picked = realistic_feed(home)
    path = write_feed(tmp_path / "kev.json", document)
    import_kev(path)
    pointer = (home / "active.json").read_bytes()
    _report, again = import_kev(path)
    assert again is not None and again.changed is False
    assert (home / "active.json").read_bytes() == pointer


def test_a_dry_run_installs_nothing(home: Path, tmp_path: Path) -> None:
    document, _picked = realistic_feed(home)
    before = snapshot(home)
    report, result = import_kev(write_feed(tmp_path / "kev.json", document), dry_run=True)
    assert result is None and report.changes
    assert snapshot(home) == before
    assert active_data_dir() == base_dir(home)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, KNOWLEDGE_DIR_ENV: str(home)}
    environment.pop(MAX_AGE_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )


def test_the_command_reports_and_rolls_back(home: Path, tmp_path: Path) -> None:
    document, picked = realistic_feed(home)
    path = write_feed(tmp_path / "kev.json", document)
    result = cli(home, "kev", "import", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["catalog_version"] == CATALOG_VERSION
    assert output["installed"]["version"] == kev_pack_version(BASE_VERSION, CATALOG_VERSION)
    assert [e["cve"] for e in output["known_makers_not_in_our_data"]] == ["CVE-2026-99999"]
    assert picked["unlisted"]["cve"] in {change["cve"] for change in output["changes"]}
    back = cli(home, "knowledge", "update", "--rollback")
    assert back.returncode == 0 and f"to {BASE_VERSION}" in back.stdout
    assert json.loads((home / "active.json").read_text())["active"] == BASE_VERSION


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON (line 1"),
        ("[]", "is not a KEV feed file"),
        (json.dumps(feed([{"cveID": "CVE-2021-36260"}])), "vulnerabilities.0.vendorProject"),
        (
            json.dumps(
                feed([kev_entry("CVE-2021-36260", "Hikvision", "x", "18 Nov 2026", "2026-12-09")])
            ),
            "dateAdded",
        ),
        (
            json.dumps(feed([kev_entry("CVE-21-1", "Hikvision", "x", "2026-11-18", "2026-12-09")])),
            "cveID",
        ),
        (json.dumps(feed([], count=5)), "count says 5 entries but the file holds 0"),
        (json.dumps(feed([], catalogVersion="../../etc")), "catalogVersion"),
    ],
)
def test_a_malformed_feed_is_one_line_and_changes_nothing(
    home: Path, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "kev.json"
    path.write_text(content, encoding="utf-8")
    before = snapshot(home)
    result = cli(home, "kev", "import", str(path))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert snapshot(home) == before


def test_a_missing_feed_file_is_one_line(home: Path, tmp_path: Path) -> None:
    before = snapshot(home)
    result = cli(home, "kev", "import", str(tmp_path / "absent.json"))
    assert result.returncode == 2 and "cannot read" in result.stderr
    assert snapshot(home) == before


def test_block_mappings_keep_their_unchanged_lines_and_gain_new_keys() -> None:
    from provscan.knowledge.kev import KevCatalog, apply_catalog

    text = (
        "# a comment that stays\n"
        "vulnerabilities:\n"
        "  - cve: CVE-2020-0001\n"
        "    kev:\n"
        "      listed: false\n"
        "      checked: '2025-08'\n"
        "      note: >-\n"
        "        Not in the snapshot;\n"
        "        check again.\n"
        "    title: after the kev mapping\n"
        "  - cve: CVE-2020-0002\n"
        "    kev:\n"
        "      listed: false\n"
        "      checked: '2025-08'\n"
        "      note: >-\n"
        "        Kept as written.\n"
        "    title: also after\n"
    )
    catalog = KevCatalog.model_validate(
        feed([kev_entry("CVE-2020-0001", "Hikvision", "x", "2026-11-18", "2026-12-09")])
    )
    updated, changes, listed, kept = apply_catalog(text, catalog)
    data = yaml.load(updated, Loader=KnowledgeYamlLoader)["vulnerabilities"]
    first, second = data
    assert first["kev"] == {
        "listed": True,
        "checked": RELEASED,
        "note": f"Listed in the CISA KEV catalog {CATALOG_VERSION} (released {RELEASED}); "
        "imported with provscan kev import.",
        "date_added": "2026-11-18",
        "due_date": "2026-12-09",
    }
    assert first["title"] == "after the kev mapping" and second["title"] == "also after"
    assert second["kev"] == {"listed": False, "checked": RELEASED, "note": "Kept as written."}
    assert "# a comment that stays\n" in updated
    assert "      note: >-\n        Kept as written.\n" in updated
    assert [change.cve for change in changes] == ["CVE-2020-0001", "CVE-2020-0002"]
    assert (listed, kept) == (["CVE-2020-0001"], [])


def test_an_import_over_damaged_active_knowledge_is_refused(home: Path, tmp_path: Path) -> None:
    from provscan.knowledge.packs import PackRefused

    document, _picked = realistic_feed(home)
    path = write_feed(tmp_path / "kev.json", document)
    _report, first = import_kev(path)
    assert first is not None
    installed = home / first.version
    (installed / "eol.yaml").write_text((installed / "eol.yaml").read_text() + "# edited\n")
    assert active_pack(check_hashes=True).intact is False
    pointer = (home / "active.json").read_bytes()
    newer = write_feed(tmp_path / "newer.json", {**document, "catalogVersion": "2026.11.21"})
    with pytest.raises(PackRefused, match=r"eol\.yaml: hash differs from the manifest"):
        import_kev(newer)
    assert (home / "active.json").read_bytes() == pointer
    assert sorted(path.name for path in home.iterdir()) == sorted(
        ["active.json", BASE_VERSION, first.version, "kev-feeds"]  # kept by the first import
    )


def test_unquoted_yaml_dates_equal_to_the_catalog_are_not_changes() -> None:
    """``checked: 2026-11-20`` (a YAML date, not text) and the same dates in the catalog: no
    change is reported and the text is left as written (it was reported as a change)."""
    from provscan.knowledge.kev import KevCatalog, apply_catalog

    text = (
        "vulnerabilities:\n"
        "  - cve: CVE-2020-0001\n"
        "    kev:\n"
        "      listed: true\n"
        "      date_added: 2026-11-18\n"
        "      due_date: 2026-12-09\n"
        f"      checked: {RELEASED}\n"
        "  - cve: CVE-2020-0002\n"
        f"    kev: {{listed: false, checked: {RELEASED}}}\n"
    )
    catalog = KevCatalog.model_validate(
        feed([kev_entry("CVE-2020-0001", "Hikvision", "x", "2026-11-18", "2026-12-09")])
    )
    updated, changes, listed, kept = apply_catalog(text, catalog)
    assert changes == [] and updated == text
    assert (listed, kept) == (["CVE-2020-0001"], [])
