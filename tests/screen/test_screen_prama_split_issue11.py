"""The name "Prama" split in two (issue 11, knowledge currency).

"Prama Hikvision (India)" is Hikvision's Indian joint venture (restricted); a bare "PRAMA" or
"Prama India" names Prama India Private Limited, a separate IEEE registrant (E428A4) whose tie
to Hikvision is a low, undocumented, partial relabel relation: a review, never restricted.
The same words must give the same verdict whichever way they come in: a lookup, a screened
list, an imported asset register (record.manufacturer), an ONVIF reply or a MAC address.
The addresses below are data: an import sends nothing.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from provscan.attribution.attribute import Attributor
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Observation, ProbeAttempt
from provscan.policy.evaluate import judge
from provscan.report.contract import verdict_of

#: (manufacturer cell, model cell, verdict) as an asset register writes them.
ROWS: list[tuple[str, str, str]] = [
    ("PRAMA", "PT-NC123D3", "review"),
    ("Prama India", "PT-NC123D3-N(D2)", "review"),
    ("Prama India Private Limited", "", "review"),
    ("Prama Hikvision", "DS-2CD2346G2-ISU/SL", "restricted"),
    ("Prama Hikvision India Pvt Ltd", "", "restricted"),
]


def lookup(cli: Any, text: str) -> dict[str, Any]:
    result = cli("lookup", text, "-f", "json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_a_bare_prama_is_a_review_and_prama_hikvision_is_restricted(cli: Any) -> None:
    prama = lookup(cli, "PRAMA PT-NC123D3")
    assert (prama["verdict"], prama["brand"], prama["restricted"]) == (
        "review",
        "Prama India",
        None,
    )
    assert prama["maker"] == "Hikvision" and prama["relation"] == "possible_relabel"
    assert prama["confidence"] < 0.5
    joint = lookup(cli, "Prama Hikvision DS-2CD2346G2-ISU/SL")
    assert (joint["verdict"], joint["maker"], joint["brand"], joint["restricted"]) == (
        "restricted",
        "Hikvision",
        "Prama Hikvision India",
        True,
    )


def write_register(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["IP Address", "Manufacturer", "Model"])
        for index, (make, model, _) in enumerate(ROWS):
            writer.writerow([f"10.66.11.{index + 1}", make, model])
    return path


def test_an_imported_register_and_a_screened_list_agree_with_lookup(
    cli: Any,
    tmp_path: Path,
) -> None:
    register = write_register(tmp_path / "register.csv")
    imported = cli("import", str(register), "--no-db", "-q", "-f", "json")
    assert imported.exit_code == 0, imported.output
    devices = {d["ip"]: d for d in json.loads(imported.stdout)["devices"]}
    screened = cli("screen", str(register), "-f", "json", "-o", str(tmp_path / "screened.json"))
    assert screened.exit_code == 0, screened.output
    rows = json.loads((tmp_path / "screened.json").read_text(encoding="utf-8"))["rows"]
    for index, (make, model, verdict) in enumerate(ROWS):
        device = devices[f"10.66.11.{index + 1}"]
        text = f"{make} {model}".strip()
        found = (device["verdict"], rows[index]["verdict"], lookup(cli, text)["verdict"])
        assert found == (verdict, verdict, verdict), (make, model, found)
        if verdict == "review":
            # the record names the brand Prama India; no maker is established from it
            assert device["brand"] == "Prama India" and device["restricted"] is False
        else:
            assert device["brand"] == "Prama Hikvision India" and device["restricted"] is True


ATTRIBUTOR = Attributor(load_knowledge())


@pytest.mark.parametrize(
    ("make", "verdict", "brand"),
    [
        ("PRAMA", "review", "Prama India"),
        ("Prama India", "review", "Prama India"),
        ("Prama Hikvision", "restricted", "Prama Hikvision India"),
    ],
)
def test_an_onvif_reply_naming_prama(make: str, verdict: str, brand: str) -> None:
    observations = (Observation("onvif", 80, "onvif.manufacturer", make),)
    attempt = ProbeAttempt("onvif", 80, AttemptStatus.OK, observations)
    device = ATTRIBUTOR.attribute("127.0.0.1", [80], [attempt]).device
    device = judge(device, load_knowledge().select_policies(None))
    assert verdict_of(device.restricted, device.notes, device.manufacturer) == verdict
    assert device.brand == brand


def test_the_prama_india_oui_is_a_review_and_the_joint_venture_oui_is_restricted(
    cli: Any,
    tmp_path: Path,
) -> None:
    register = tmp_path / "macs.csv"
    register.write_text(
        "ip,mac\n127.66.12.1,E4:28:A4:00:00:01\n127.66.12.2,24:B1:05:00:00:01\n", encoding="utf-8"
    )
    imported = cli("import", str(register), "--no-db", "-q", "-f", "json")
    assert imported.exit_code == 0, imported.output
    devices = {d["ip"]: d for d in json.loads(imported.stdout)["devices"]}
    prama, joint = devices["127.66.12.1"], devices["127.66.12.2"]
    assert (prama["verdict"], prama["brand"], prama["restricted"]) == (
        "review",
        "Prama India",
        False,
    )
    assert (joint["verdict"], joint["brand"], joint["restricted"]) == (
        "restricted",
        "Prama Hikvision India",
        True,
    )
