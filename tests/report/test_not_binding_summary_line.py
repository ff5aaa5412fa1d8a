"""The scan table's summary says how many clear devices are of makers that measures name
without binding the user (a municipality's Hikvision, Dahua, Huawei and ZTE devices under
the Canadian federal bar), by maker, within 80 columns; never when none is."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import run_provscan

from provscan.report.formats import not_binding_counts

CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"
LOOPBACK = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}


def _table(tmp_path: Path, acting_as: str) -> list[str]:
    done = run_provscan(
        "pcap",
        str(CAPTURE),
        "--db",
        str(tmp_path / "provscan.db"),
        "--as",
        acting_as,
        "--quiet",
        width=80,
        env=LOOPBACK,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_municipality_sees_its_devices_of_named_makers(tmp_path: Path) -> None:
    lines = _table(tmp_path, "ca:provincial-or-municipal-body")
    assert lines[1] == "75 devices: 0 restricted, 0 to review, 8 unknown, 67 clear"
    family = next(i for i, line in enumerate(lines) if line.startswith("By maker family: "))
    said = " ".join(lines[2:family])
    assert said == (
        "51 of the clear devices are made by makers named by measures that do not bind you "
        "(Dahua 19, Hikvision 18, Huawei 4, ZTE 3, others 7): see Policies below"
    )
    assert family == 4  # two lines at 80 columns
    assert max(len(line) for line in lines[:family]) <= 80
    # The same count the Clear group gives, and each family's count its line gives
    text = " ".join(lines)
    assert "51 named by measures that bind others" in text
    for name, count in (("Dahua", 19), ("Hikvision", 18), ("Huawei", 4), ("ZTE", 3)):
        assert re.search(rf"{name} family \({count}\), named by [^:]*\(does not bind", text)


def test_nothing_more_is_said_when_every_measure_counts(tmp_path: Path) -> None:
    lines = _table(tmp_path, "all")
    assert re.match(r"75 devices: \d+ restricted", lines[1])
    assert lines[2].startswith("By maker family: ")
    assert not any("do not bind you" in line for line in lines)


def test_the_counts_name_four_makers_at_most() -> None:
    assert not_binding_counts(["ZTE", "Huawei", "Huawei"]) == "Huawei 2, ZTE 1"
    makers = ["Dahua"] * 3 + ["Hikvision"] * 2 + ["Huawei", "ZTE", "Reolink", "Xiongmai"]
    assert not_binding_counts(makers) == "Dahua 3, Hikvision 2, Huawei 1, Reolink 1, others 2"
