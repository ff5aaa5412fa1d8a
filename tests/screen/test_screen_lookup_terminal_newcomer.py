"""A newcomer's review of the terminal output of ``screen`` and ``lookup`` at 80 columns.

- ``screen``'s table broke long part numbers inside a token ("DS-2CD2387G2P-LSU/SL(4mm"
  ")(C)", "IPC-HFW5842T-ASE-LED-036" "0B-S2"): a part number now wraps only after one of
  its own separators (``-``, ``/``, ``_``) or between words, the brand folding first.
- ``lookup`` cut reasons and evidence at 400 characters with an ellipsis: a measure's title
  or condition and the evidence's sources were lost. They are whole, wrapped between words.
- ``lookup`` listed every measure that does not bind the user (most of ~65 lines): by
  default it lists those that bind or may bind, and counts the rest on one line; ``--all``
  (and ``-v``) list every measure as before. The JSON is the same with or without it.
- ``screen`` said "Line" for a row's number while the HTML and PDF say "Row", and lists
  often have a "Line" column of their own: the terminal says "Row".
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from helpers import run_in_terminal, run_provscan

from provscan.commands.screen import PART_BREAKS

#: Long part numbers with their lens and options, a kit of several, one with underscores.
LONG_PARTS = (
    "Manufacturer,Part Number,Description\n"
    "Motorola Solutions,MOTOTRBO R7 UHF 403-527 MHz portable radio,radio\n"
    "Hikvision,DS-2CD2387G2P-LSU/SL(4mm)(C),8MP ColorVu turret\n"
    "Dahua,KIT/NVR4104HS-P-4KS2-2T/4-HFW1320SP-0360B,4 channel kit\n"
    "Dahua,IPC-HFW5842T-ASE-LED-0360B-S2,8MP bullet\n"
    "Annke,DS-2CD2T47G2-LSU/SL(C)(2.8mm)(O-STD),bullet\n"
    "Prama Hikvision India,DS-2CD2346G2-ISU/SL,4MP AcuSense turret\n"
    "Hanwha Vision,XNV-8082R_LONGPART_OPTIONS-ABC,dome\n"
)
ROW_START = re.compile(r"^ *(\d+)  (RESTRICTED|review|unknown|clear) ")


def _model_pieces(lines: list[str]) -> dict[int, list[str]]:
    """Each row's Model column, line by line (its identity lines: the row's first and the
    continuations of its names and number, not its reason, which starts at the verdict)."""
    header = lines[0]
    begin, end = header.index("Model"), header.index("Conf.") - 2
    verdict_at = header.index("Verdict")
    pieces: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in lines[2:]:
        start = ROW_START.match(line)
        if start:
            current = pieces.setdefault(int(start.group(1)), [])
        elif line[: verdict_at + 1].strip():
            current = None
        elif len(line) - len(line.lstrip(" ")) <= verdict_at:
            continue  # the reason under the row
        if current is not None and line[begin:end].strip():
            current.append(line[begin:end].strip())
    return pieces


@pytest.mark.parametrize("columns", [80, 100])
def test_part_numbers_wrap_only_at_their_separators(tmp_path: Path, columns: int) -> None:
    # Given a list of long part numbers
    path = tmp_path / "long.csv"
    path.write_text(LONG_PARTS)
    done = run_provscan("screen", str(path), "-q", "-f", "json")
    assert done.returncode == 0, done.stderr
    models = {row["row"]: row["model"] for row in json.loads(done.stdout)["rows"]}
    # When it is screened at a terminal of 80 or 100 columns
    command = [sys.executable, "-m", "provscan", "screen", str(path), "-q", "-f", "table"]
    lines = run_in_terminal(command, columns)
    assert max(len(line) for line in lines) <= columns, "\n".join(lines)
    pieces = _model_pieces(lines)
    assert sorted(pieces) == sorted(models)
    wrapped = 0
    for row, model in models.items():
        # Then every character of each part number is kept
        assert "".join(pieces[row]).replace(" ", "") == model.replace(" ", ""), pieces[row]
        # And each line of it ends at a separator of its own or between two words
        at = 0
        for piece in pieces[row][:-1]:
            at = model.index(piece, at) + len(piece)
            assert piece[-1] in PART_BREAKS or model[at] == " ", (model, pieces[row])
            wrapped += 1
    if columns == 80:
        assert wrapped, "\n".join(lines)  # the narrow table did wrap some


def test_the_row_number_is_called_row(tmp_path: Path) -> None:
    # Given a list with a "Line" column of its own, under a title line
    path = tmp_path / "quote.csv"
    path.write_text("Quote 42\nLine,Brand,Model\n10,Hikvision,DS-2CD2143G0-I\n")
    command = [sys.executable, "-m", "provscan", "screen", str(path), "-q", "-f", "table"]
    lines = run_in_terminal(command, 100)
    # Then the table's number column is "Row", the row of the file (3), not its Line (10)
    assert lines[0].split()[0] == "Row"
    assert ROW_START.match(lines[1]).group(1) == "3"  # type: ignore[union-attr]
    # And a column not found says which row was read as the header, as a row
    done = run_provscan("screen", str(path), "--brand-col", "Maker", "-f", "csv")
    assert done.returncode == 2
    said = " ".join(done.stderr.split())
    assert "the header was read from row 2" in said, said
    assert "line 2" not in said


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("product", "options"),
    [("EZVIZ CS-C6N", ()), ("Honeywell HBW4PER1", ()), ("Hikvision", ("--policy", "uk"))],
)
def test_lookup_keeps_reasons_and_evidence_whole(product: str, options: tuple[str, ...]) -> None:
    # Given products whose reasons or evidence run past 400 characters
    document = json.loads(run_provscan("lookup", product, *options, "-f", "json").stdout)
    long = [*document["reason"].split("; "), *document["evidence"]]
    assert max(len(text) for text in long) > 400
    # When each is looked up at 80 columns
    done = run_provscan("lookup", product, *options, width=80)
    assert done.returncode == 0, done.stderr
    # Then nothing is cut: no ellipsis, every reason and evidence item whole (a link longer
    # than a line folds, hence compared without white space)
    assert "…" not in done.stdout
    text = "".join(done.stdout.split())
    for item in long:
        assert "".join(item.removeprefix("next step: ").split()) in text, item
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_lookup_lists_what_binds_and_counts_the_rest() -> None:
    product = "EZVIZ CS-C6N"
    document = json.loads(run_provscan("lookup", product, "-f", "json").stdout)
    findings = document["findings"]
    titles = {(f["policy"], f["measure"]) for f in findings}
    unbound = {(f["policy"], f["measure"]) for f in findings if f["binding"] is False}
    kept = {
        (f["policy"], f["measure"])
        for f in findings
        if f["binding"] is not False
        and (f["effect"] not in ("advisory", "context") or f["condition"])
    }
    assert unbound and kept
    # When it is looked up at 80 columns
    short = run_provscan("lookup", product, width=80)
    assert short.returncode == 0, short.stderr
    text = _flat(short.stdout)
    # Then every measure that binds or may bind is listed with its citation
    for finding in findings:
        if (finding["policy"], finding["measure"]) in kept:
            assert _flat(f"{finding['measure']} ") in text
            assert _flat(finding["citation"]) in text
    # And those that do not bind are not listed, but counted on one line that says how
    assert "  does not bind a national government body" not in short.stdout.splitlines()
    for _, measure in unbound:
        assert _flat(measure) not in text
    said = f"not listed: {len(unbound)} measures (does not bind a national government body)"
    assert said in text
    assert "--all lists them" in text
    # And --all and -v list every measure, as before
    for option in ("--all", "-v"):
        everything = run_provscan("lookup", product, option, width=80)
        assert everything.returncode == 0, everything.stderr
        flat = _flat(everything.stdout)
        assert all(_flat(measure) in flat for _, measure in titles)
        assert "  does not bind a national government body" in everything.stdout
        assert "not listed" not in flat
        assert len(everything.stdout.splitlines()) > len(short.stdout.splitlines())
    # And the JSON is the same with --all
    assert json.loads(run_provscan("lookup", product, "--all", "-f", "json").stdout) == document


def test_lookup_lists_advice_addressed_to_the_user() -> None:
    """A household's lookup lists Canada's public advisory (what it came for), and counts
    the measures that bind others (the advice was counted with them, unlisted)."""
    product = "EZVIZ CS-C6N"
    household = _flat(run_provscan("lookup", "--as", "ca:individual", product, width=80).stdout)
    assert "restricts nothing (advisory or context only)" in household
    assert "The public is encouraged to take note of the Hikvision decision" in household
    # the measures binding others are counted; the advice is not among them
    assert re.search(r"not listed: \d+ measures \(does not bind you\); --all lists them", household)
