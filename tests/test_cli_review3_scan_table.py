"""`provscan scan -v` at 80 and 100 columns, measured on a real scan of the lab.

A third newcomer review found model numbers cut at 80 columns ("DS-2CD2386" / "G2-IU", a
brand as "Hikvisi…") and the priority list cutting addresses and actions ("replac") once an
address was long. Models, addresses and verdict words are never broken now: maker and
brand wrap between words or share a column, less important columns wrap or are left out,
and a model (or a reason) that still has no room goes whole on its own line.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES, run_in_terminal, run_provscan

from provscan.lab.server import Lab
from provscan.report.contract import DeviceEntry
from provscan.store.db import open_store

FAST = ["--timeout", "2", "--host-timeout", "15", "--quiet"]
STYLE = re.compile(r"\x1b\[[0-9;]*m")


def _scan_in_terminal(width: int, store: Path, *extra: str) -> list[str]:
    devices = [d for d in SESSION_DEVICES if not d.expect.hostile]
    addresses = sorted({d.address for d in devices})
    argv = [sys.executable, "-m", "provscan", "scan", *addresses, "--db", str(store), *FAST]
    lines = run_in_terminal([*argv, *extra], width, timeout=300)
    return [STYLE.sub("", line) for line in lines]


def _stored_devices(store: Path) -> list[DeviceEntry]:
    with open_store(f"sqlite:///{store}") as opened:
        (section,) = opened.list_scans()
        return opened.load(section.id).devices


def _model_of_row(lines: list[str], ip: str) -> tuple[str, str]:
    """The device table's row of ``ip`` (the first line that starts with it) with the lines
    that continue it (up to the next row or table heading)."""
    index = next(i for i, line in enumerate(lines) if line.split()[:1] == [ip])
    following = []
    for line in lines[index + 1 :]:
        if not line.startswith("   "):  # a row, a family line or a heading
            break
        following.append(line)
    return lines[index], "\n".join(following)


def _assert_whole(lines: list[str], devices: list[DeviceEntry], width: int) -> int:
    """Every line fits; every device's address and model are whole in its row (or its model
    on the line under it). Returns how many models were put under their rows."""
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide[:3]
    below = 0
    for device in devices:
        row, rest = _model_of_row(lines, device.ip)
        if device.model:
            if device.model in row:
                continue
            assert "below" in row.split(), row
            assert f"model {device.model}" in rest.splitlines()[-1], (row, rest)
            below += 1
    return below


@pytest.mark.parametrize("width", [80, 100])
def test_scan_verbose_keeps_models_addresses_and_verdicts_whole(
    lab: Lab, tmp_path: Path, width: int
) -> None:
    store = tmp_path / "scan.db"
    lines = _scan_in_terminal(width, store, "-v")
    devices = _stored_devices(store)
    assert len(devices) > 60
    models = [d.model for d in devices if d.model]
    assert "DS-2CD2386G2-IU" in models and max(len(m) for m in models) >= 16
    # at 80 and 100 columns every model fits in its column: none is moved under its row
    assert _assert_whole(lines, devices, width) == 0
    text = "\n".join(lines)
    for device in devices:
        # the details say each verdict as a whole word right after the whole address
        assert f"\n{device.ip} {device.verdict}: " in text
    assert "Hikvisi…" not in text and "replac " not in text
    # the relabels' brands stay whole words (in their own column, or "Dahua / Amcrest")
    for brand in ("Interlogix", "Intelbras", "Amcrest"):
        assert brand in text.split()


def test_scan_verbose_on_a_narrow_terminal_moves_models_under_their_rows(
    lab: Lab, tmp_path: Path
) -> None:
    store = tmp_path / "scan.db"
    lines = _scan_in_terminal(60, store, "-v")
    assert _assert_whole(lines, _stored_devices(store), 60) > 0


def test_a_long_model_and_an_ipv6_address_are_not_cut(tmp_path: Path) -> None:
    # data only: an import sends nothing
    register = tmp_path / "register.csv"
    long_model = "DS-2CD2143G2-IU-4MM-ACUSENSE-DARKFIGHTER-KIT"
    ipv6 = "2001:db8:1234:5678:9abc:def0:1234:5678"
    register.write_text(
        "ip,maker,model\n"
        "192.0.2.10,Hikvision,DS-2CD2143G2-IU\n"
        f"{ipv6},Hikvision,{long_model}\n"
        "192.0.2.11,Dahua,DH-IPC-HDW1230T2\n",
        encoding="utf-8",
    )
    store = tmp_path / "import.db"
    for width in (80, 100):
        result = run_provscan("import", str(register), "--db", str(store), width=width)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert not [line for line in lines if len(line) > width]
        assert f"    model {long_model}" in lines
        (row,) = [line for line in lines if line.split()[:1] == [ipv6]]
        assert "below" in row.split()
        # the priority list keeps the address and the action whole (a restricted device's
        # first action is to isolate it until it is replaced: decision 0004)
        priority = lines[next(i for i, line in enumerate(lines) if line.startswith("Priority")) :]
        assert any({ipv6, "isolate"} <= set(line.split()) for line in priority)
