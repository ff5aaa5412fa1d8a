"""The compliance report says whom its verdicts were judged for (each stored scan's
``acting_as``: ``--as`` at scan time, empty for the default reading), defines "restricted"
for that organisation, and shows device notes without command-line advice. Scans of the
session lab on loopback, stored and reported through the CLI."""

from __future__ import annotations

import html
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES

from provscan.lab.server import Lab
from provscan.report.contract import from_contract
from provscan.store.db import open_store

HIKVISION = next(d.address for d in SESSION_DEVICES if d.id == "hik-ipc-g2")
FAST = ["--ports", "80,554", "--timeout", "2", "--no-discovery", "-q", "-f", "json"]
DEFAULT = "a national government body (default)"
#: What the context note of a scan stored before the note was reworded said.
OLD_ADVICE = "; say who you are with --as"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@dataclass(frozen=True)
class Stored:
    db: Path
    default_scan: str
    individual_scan: str
    legacy_scan: str


@pytest.fixture(scope="module")
def stored(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Stored:
    # Given the same camera scanned twice into one store: without --as, then as a Canadian
    # individual
    directory = tmp_path_factory.mktemp("judged-for")
    db = directory / "provscan.db"
    ids = []
    for name, extra in (("default", []), ("individual", ["--as", "ca:individual"])):
        output = directory / f"{name}.json"
        result = run("scan", HIKVISION, *FAST, "--db", str(db), "-o", str(output), *extra)
        assert result.returncode == 0, result.stderr
        ids.append(json.loads(output.read_text(encoding="utf-8"))["scan"]["id"])
    # and a scan stored by an earlier release, whose context note ended in CLI advice
    data = json.loads((directory / "default.json").read_text(encoding="utf-8"))
    (device,) = data["devices"]
    notes = [note for note in device["notes"] if note.startswith("context only")]
    assert notes and all("(the default reading)" in note for note in notes)
    device["notes"] = [note.replace(" (the default reading)", OLD_ADVICE) for note in notes]
    started = datetime.fromisoformat(data["scan"]["started_at"]) + timedelta(hours=1)
    data["scan"] |= {
        "id": data["scan"]["id"] + "-legacy",
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(minutes=1)).isoformat(),
    }
    with open_store(f"sqlite:///{db}") as store:
        legacy = store.save_document(from_contract(data))
    return Stored(db, ids[0], ids[1], legacy)


def report(stored: Stored, name: str, *args: str) -> Path:
    output = stored.db.parent / name
    if output.exists():
        output.unlink()
    result = run("report", "--db", str(stored.db), "-o", str(output), *args)
    assert result.returncode == 0, result.stderr
    assert "--as" not in result.stdout + result.stderr
    return output


def html_text(path: Path) -> str:
    body = path.read_text(encoding="utf-8").split("<body>", 1)[1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_an_inventory_report_lists_the_parties_of_its_scans(stored: Stored) -> None:
    text = html_text(report(stored, "inventory.html"))
    # The default scan and the later one stored by an earlier release read as the default;
    # the other was judged for a Canadian individual
    assert (
        f"Verdicts judged for different parties: {DEFAULT} (2 scans); ca:individual (1 scan)"
        in text
    )
    assert (
        "Restricted : made by a maker one of the applied measures restricts for the "
        "organisation the scans were judged for (binding)"
    ) in text
    assert "say who you are" not in text and "--as" not in text


@pytest.mark.parametrize(
    ("which", "party", "remaining"),
    [("default_scan", DEFAULT, 1), ("individual_scan", "ca:individual", 0)],
)
def test_a_scan_report_says_whom_that_scan_was_judged_for(
    stored: Stored, which: str, party: str, remaining: int
) -> None:
    scan_id = getattr(stored, which)
    text = html_text(report(stored, f"{which}.html", "--scan", scan_id))
    assert f"Verdicts judged for {party} " in text
    assert f"Restricted for {party}: the organisation the scans were judged for" in text
    noun = "device remains" if remaining == 1 else "devices remain"
    assert f"{remaining} restricted {noun}." in text


def test_device_notes_carry_no_command_line_advice(stored: Stored) -> None:
    for scan_id in (stored.default_scan, stored.legacy_scan):
        page = report(stored, f"notes-{scan_id}.html", "--scan", scan_id)
        text = html_text(page)
        # the camera is restricted, so it has a page, with the note of the measures that do
        # not bind a national government body, said neutrally
        assert "do not bind a national government body (the default reading)): ca-qc" in text
        assert "say who you are" not in text and "--as" not in text


def test_markdown_and_xlsx_say_it_too(stored: Stored) -> None:
    from openpyxl import load_workbook

    markdown = report(stored, "r.md").read_text(encoding="utf-8")
    assert f"- Verdicts judged for: different parties: {DEFAULT} (2 scans)" in markdown
    assert "### Definitions" in markdown
    assert "restricts for the organisation the scans were judged for (binding)" in markdown
    workbook = load_workbook(report(stored, "r.xlsx"), read_only=True)
    rows = workbook["Summary"].iter_rows(values_only=True)
    summary = {row[0]: row[1] for row in rows if len(row) > 1}
    assert str(summary["Verdicts judged for"]).startswith("different parties: ")
    scans = list(workbook["Scans"].iter_rows(values_only=True))
    column = scans[0].index("judged_for")
    parties = {row[0]: row[column] for row in scans[1:]}
    assert parties[stored.default_scan] == DEFAULT
    assert parties[stored.individual_scan] == "ca:individual"


def test_the_pdf_says_it(stored: Stored) -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"WeasyPrint cannot load: {exc}")
    from pypdf import PdfReader

    pdf = report(stored, "r.pdf", "--scan", stored.individual_scan)
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "Verdicts judged for ca:individual" in text
    assert "organisation the scans were judged for (binding)" in text
