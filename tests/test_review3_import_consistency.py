"""One product, one verdict, whichever way it comes in (third review, points 1 and 2).

1. A CMDB row "Annke, NC800" was imported as restricted (confidence 0.503, a remediation case,
   counted in the compliance report) while ``provscan lookup "Annke NC800"`` and ``provscan
   screen`` said review (0.45: Annke only possibly relabels Hikvision). Attribution counted
   one fact twice: the model number follows Annke's own numbering of its Hikvision-made line
   (a grammar that names the maker), and the brand Annke reached Hikvision again through its
   partial relabel relation -- the grammar *is* that relation's line evidence. An ONVIF reply
   with the same words was judged the same wrong way.
2. A device whose maker is not established (review, or "Hikvision or Dahua") got "replace:
   support withdrawn in CA since 2025-10-25", a statement about Hikvision's own Canadian
   support, as if it were a fact about the device.

Every path below is the real one: a CMDB CSV written to ``tmp_path``, ``provscan import``,
``provscan lookup`` and ``provscan screen`` through typer's CliRunner in this process, and a
real SQLite store. The addresses in the CSV are data: an import sends nothing.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from provscan.attribution.attribute import Attributor
from provscan.cli import app
from provscan.knowledge import load_knowledge
from provscan.knowledge.loader import load_posture_knowledge
from provscan.knowledge.verify import verify_knowledge
from provscan.model import AttemptStatus, Device, MakerCandidate, Observation, ProbeAttempt
from provscan.policy.evaluate import RESTRICTED_MIN_CONFIDENCE, judge
from provscan.posture.assess import assess_device, maker_in_doubt
from provscan.report.contract import verdict_of
from region_eol import region_limited_in_commands

#: (make, model) as a CMDB writes them: relabels with the maker's own line (Annke, LTS),
#: a label brand's own line that its relation names (Honeywell Performance), a maker's number
#: under a former subsidiary's label (Lorex), lines that only possibly are a restricted
#: maker's (Honeywell HC30, Lorex LNB, a label no one knows), the makers themselves, and a
#: maker no policy restricts.
ROWS: list[tuple[str, str]] = [
    ("Annke", "NC800"),
    ("Annke", "I81EM"),
    ("Annke", "C800"),
    ("Honeywell", "HBW4PER1"),
    ("Honeywell", "HC30W45R2"),
    ("Lorex", "IPC-HDW5231R-ZE"),
    ("Lorex", "LNB8005"),
    ("Hikvision", "DS-2CD2143G2-I"),
    ("Hikvision", "NC800"),
    ("LTS", "CMIP7442W-28M"),
    ("Amcrest", "IP8M-2496EB"),
    ("Sepura", "STP8000"),
    ("ACME", "NC800"),
    ("Axis", "P3225"),
]
#: The verdicts a person checking the knowledge expects of some rows: the agreement below
#: must not be an agreement on a wrong verdict.
EXPECTED = {
    ("Annke", "NC800"): "review",
    ("Honeywell", "HBW4PER1"): "restricted",
    ("Lorex", "IPC-HDW5231R-ZE"): "restricted",
    ("Hikvision", "DS-2CD2143G2-I"): "restricted",
    ("Axis", "P3225"): "clear",
}


def address(index: int) -> str:
    return f"10.66.0.{index + 1}"


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "100", "NO_COLOR": "1"})


def ok(*args: str) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result


def write_cmdb(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["Asset Tag", "IP Address", "MAC Address", "Manufacturer", "Model"])
        for index, (make, model) in enumerate(rows):
            writer.writerow([f"A-{index + 1}", address(index), "", make, model])
    return path


def import_cmdb(tmp_path: Path, *options: str) -> tuple[dict[str, dict[str, Any]], Path]:
    """The devices of a real ``provscan import`` of the CMDB, by address, and its store."""
    cmdb = write_cmdb(tmp_path / "cmdb.csv", ROWS)
    store = tmp_path / "store.db"
    output = tmp_path / "imported.json"
    ok("import", str(cmdb), "--db", str(store), "-q", "-f", "json", "-o", str(output), *options)
    document = json.loads(output.read_text(encoding="utf-8"))
    return {device["ip"]: device for device in document["devices"]}, store


def lookup(make: str, model: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(ok("lookup", f"{make} {model}", "-f", "json").stdout)
    return result


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], Path]:
    return import_cmdb(tmp_path_factory.mktemp("import"))


def test_an_imported_row_gets_the_verdict_lookup_and_screen_give(
    imported: tuple[dict[str, dict[str, Any]], Path], tmp_path: Path
) -> None:
    # Given the same CMDB imported, screened, and each row looked up
    devices, _ = imported
    cmdb = write_cmdb(tmp_path / "cmdb.csv", ROWS)
    screened = tmp_path / "screened.json"
    ok("screen", str(cmdb), "-f", "json", "-o", str(screened))
    screen_rows = json.loads(screened.read_text(encoding="utf-8"))["rows"]
    assert len(screen_rows) == len(ROWS)
    # Then every row gets one verdict, whichever way it came in
    verdicts = {}
    for index, row in enumerate(ROWS):
        device = devices[address(index)]
        verdicts[row] = (device["verdict"], lookup(*row)["verdict"], screen_rows[index]["verdict"])
    disagreements = {row: found for row, found in verdicts.items() if len(set(found)) != 1}
    assert disagreements == {}, verdicts
    for row, verdict in EXPECTED.items():
        assert verdicts[row][0] == verdict, (row, verdicts[row])


def test_the_annke_row_is_a_review_with_no_case_and_not_counted_restricted(
    imported: tuple[dict[str, dict[str, Any]], Path],
) -> None:
    devices, store = imported
    annke = devices[address(ROWS.index(("Annke", "NC800")))]
    # The import names Hikvision as the possible maker, below the verdict's threshold
    assert annke["manufacturer"] == "Hikvision" and annke["brand"] == "Annke"
    assert annke["restricted"] is False
    assert annke["confidence"] < RESTRICTED_MIN_CONFIDENCE
    assert annke["confidence"] <= lookup("Annke", "NC800")["confidence"]
    # And only restricted devices open restricted-maker cases: one per restricted row
    restricted = sum(device["restricted"] for device in devices.values())
    cases = json.loads(ok("cases", "list", "--db", str(store), "-f", "json").stdout)["cases"]
    assert sum(case["subject"] == "restricted" for case in cases) == restricted
    inventory = json.loads(ok("inventory", "--db", str(store), "-f", "json").stdout)["devices"]
    by_ip = {device["ip"]: device for device in inventory}
    assert by_ip[annke["ip"]]["restricted"] is False


ATTRIBUTOR = Attributor(load_knowledge())


def scanned(make: str, model: str) -> Device:
    """A device whose ONVIF reply carries the make and model (a scan's observations)."""
    observations = (
        Observation("onvif", 80, "onvif.manufacturer", make),
        Observation("onvif", 80, "onvif.model", model),
    )
    attempt = ProbeAttempt("onvif", 80, AttemptStatus.OK, observations)
    device = ATTRIBUTOR.attribute("127.0.0.1", [80], [attempt]).device
    return judge(device, load_knowledge().select_policies(None))


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(row) for row in ROWS])
def test_a_scanned_device_saying_the_same_words_gets_the_same_verdict(
    row: tuple[str, str],
) -> None:
    device = scanned(*row)
    verdict = verdict_of(device.restricted, device.notes, device.manufacturer)
    assert verdict == lookup(*row)["verdict"], (row, device.confidence, device.notes)


def test_a_brands_relation_adds_nothing_to_its_own_numbering_of_the_same_maker() -> None:
    # LTS numbers its Hikvision-made line itself (grammar lts.cmip_cmh, medium: 0.75); the
    # label LTS next to it confirms the brand, not the maker a second time
    lts = scanned("LTS", "CMIP7442W-28M")
    assert lts.manufacturer == "Hikvision"
    assert lts.confidence == pytest.approx(0.75, abs=0.001)
    assert lts.confidence == pytest.approx(lookup("LTS", "CMIP7442W-28M")["confidence"], abs=0.01)
    # A maker's own numbering under its own name still corroborates (two sources)
    hikvision = scanned("Hikvision", "DS-2CD2143G2-I")
    assert hikvision.confidence > 0.95


# --- point 2: advice that depends on the maker ---------------------------------------------

WITHDRAWN = "support withdrawn in Canada"


def test_a_review_device_gets_the_makers_support_withdrawal_only_as_a_condition(
    tmp_path: Path,
) -> None:
    # Given the CMDB imported for Canada's policy, with a test-only end of support limited to
    # CA (tests/region_eol.py: the bundled knowledge holds none)
    with region_limited_in_commands():
        devices, _ = import_cmdb(tmp_path, "--policy", "ca")
    annke = devices[address(ROWS.index(("Annke", "NC800")))]
    honeywell = devices[address(ROWS.index(("Honeywell", "HBW4PER1")))]
    hikvision = devices[address(ROWS.index(("Hikvision", "DS-2CD2143G2-I")))]
    assert annke["verdict"] == "review" and honeywell["verdict"] == "review"
    # Then the established Hikvision camera gets it as a fact
    plain = [r for r in hikvision["remediation"] if r["reason"].startswith(WITHDRAWN)]
    assert len(plain) == 1 and plain[0]["action"] == "replace"
    # And the devices whose maker is in doubt get it only as "if made by Hikvision", saying why
    # (Annke: 0.45, its line's grammar; the Annke -> Dahua relation no longer lowers it, issue 11)
    for device, why in ((annke, "confidence 0.45 is below 0.5"), (honeywell, "Hikvision or Dahua")):
        about = [r for r in device["remediation"] if WITHDRAWN in r["reason"]]
        assert len(about) == 1, device["remediation"]
        assert about[0]["reason"].startswith(f"if made by Hikvision: {WITHDRAWN}")
        assert about[0]["detail"].startswith("Only if Hikvision made this device")
        assert why in about[0]["detail"]
        # the statement itself is still there, after the condition
        assert "Hikvision Canada" in about[0]["detail"]


def test_several_candidate_makers_are_named_in_the_replace_reason(
    imported: tuple[dict[str, dict[str, Any]], Path],
) -> None:
    devices, _ = imported
    honeywell = devices[address(ROWS.index(("Honeywell", "HBW4PER1")))]
    assert honeywell["verdict"] == "restricted"
    replace = [r for r in honeywell["remediation"] if r["reason"].startswith("maker ")]
    assert len(replace) == 1
    reason = replace[0]["reason"]
    assert reason.startswith("maker Hikvision or Dahua (the evidence does not say which")
    # only the policies that restrict whichever made it are cited (ca and eu-ep name Hikvision
    # only; since 2026-12-06 the UK statement binds only on a sensitive site, a condition the
    # import cannot tell, so it restricts neither outright and is not cited)
    cited = reason.split("is restricted by policy ", 1)[1].split(" (", 1)[0].split(", ")
    assert not {"ca", "eu-ep", "uk"} & set(cited) and {"us", "au"} <= set(cited)


POSTURE = load_posture_knowledge()


def test_an_advisory_of_a_maker_in_doubt_is_conditional_and_of_an_established_one_is_not() -> None:
    # A Hikvision DS-2CD camera whose maker the evidence establishes, and the same reading
    # below the verdict's threshold: the advisory's verification is a fact, then a condition
    established = Device(
        ip="10.66.1.1", manufacturer="Hikvision", model="DS-2CD2143G2-I", confidence=0.9
    )
    doubtful = Device(
        ip="10.66.1.2", manufacturer="Hikvision", model="DS-2CD2143G2-I", confidence=0.4
    )
    sure = [r for r in assess_device(established, POSTURE).remediation if "CVE-" in r.reason]
    unsure = [r for r in assess_device(doubtful, POSTURE).remediation if "CVE-" in r.reason]
    assert sure and not any(r.reason.startswith("if made by") for r in sure)
    assert unsure and all(r.reason.startswith("if made by Hikvision: ") for r in unsure)
    assert {r.reason.removeprefix("if made by Hikvision: ") for r in unsure} == {
        r.reason for r in sure
    }


def test_who_a_maker_dependent_statement_applies_to() -> None:
    hikvision = ["Hikvision"]
    assert (
        maker_in_doubt(Device(ip="x", manufacturer="Hikvision", confidence=0.9), hikvision) is None
    )
    low = maker_in_doubt(Device(ip="x", manufacturer="Hikvision", confidence=0.3), hikvision)
    assert low == ("Hikvision", "confidence 0.30 is below 0.5")
    either = Device(
        ip="x",
        manufacturer="Hikvision",
        confidence=0.9,
        alternatives=(MakerCandidate("Dahua", "dahua"),),
    )
    assert maker_in_doubt(either, ["Dahua"]) == (
        "Dahua",
        "the evidence allows Hikvision or Dahua and does not say which",
    )
    # a label brand's own statement applies to its label, whoever made the device
    labelled = Device(ip="x", manufacturer="Hikvision", brand="Annke", confidence=0.3)
    assert maker_in_doubt(labelled, ["Annke"]) is None


def test_the_conditional_wording_is_checked_like_the_other_advice(tmp_path: Path) -> None:
    from provscan.knowledge.base import DEFAULT_DATA_DIR

    data = tmp_path / "data"
    data.mkdir()
    for path in DEFAULT_DATA_DIR.iterdir():
        if path.is_file():
            (data / path.name).write_bytes(path.read_bytes())
    (data / "fingerprints").mkdir()
    remediation = data / "remediation.yaml"
    text = remediation.read_text(encoding="utf-8")
    assert 'reason: "if made by {maker}: {reason}"' in text
    remediation.write_text(
        text.replace('reason: "if made by {maker}: {reason}"', 'reason: "if {vendor}: {reason}"'),
        encoding="utf-8",
    )
    messages = [problem.message for problem in verify_knowledge(data).problems]
    assert any("unknown placeholder(s) ['vendor']" in message for message in messages), messages
