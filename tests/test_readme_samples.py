"""The numbers and output the README quotes are what the commands print (a newcomer's
review, section 9).

The README said "`provscan lab list` shows 76 emulated devices" and its sample of `provscan
demo` began "75 devices: 41 restricted, ..." while the lab had 77 devices and the demo found
76, 42 of them restricted: each new lab device made them stale. tests/test_readme.py runs
the README's commands; this checks the numbers it quotes: the lab's size, and the sample's
summary against the demo's own scan (its ports and deadlines) of the whole lab, on
addresses of its own, rendered at the sample's 100 columns. When a lab device is added,
update the README with what `provscan demo` prints.

The `screen` sample is the stderr of its README command at 80 columns. The demo scan runs
without the nmap fallback (its result must not depend on whether nmap is
installed where the tests run); with it the summary is the same today. The JSON sample is
one device of that scan's JSON, every value it quotes as the scan wrote it (it once showed
an address and a firmware no lab device had). The knowledge counts the README quotes
(`knowledge/data/FILE`: N ...) are the data's, as `provscan knowledge status` counts them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import run_provscan
from rich.console import Console

from provscan.knowledge.base import BUNDLED_DATA_DIR
from provscan.knowledge.packs import COUNTED_KINDS, count_entries
from provscan.lab.server import load_devices, run_lab_in_thread
from provscan.model import ScanResult, address_sort_key
from provscan.pipeline import run_scan
from provscan.report.formats import write_output
from provscan.targets import build_targets
from provscan.transport.limits import DEFAULT_PORTS, ScanLimits

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: 20-29, per test process: a second octet no other test lab uses (see tests/helpers.py).
COUNTS_OCTET = 20 + os.getpid() % 10


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_lab_list_count_is_the_labs() -> None:
    (quoted,) = re.findall(r"`provscan lab list` shows (\d+) emulated devices", _readme())
    assert int(quoted) == len(load_devices()), "update the README's `provscan lab list` count"


def _demo_sample() -> list[str]:
    """The README's sample of `provscan demo`, up to its first device table."""
    text = _readme()
    start = text.index("The start of `provscan demo` at 100 columns:")
    block = text[start:].split("```text\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


@pytest.fixture(scope="module")
def demo_scan() -> Iterator[ScanResult]:
    """The demo's scan (`provscan demo`: DEFAULT_PORTS, 4 s a connection, 20 s a host) of
    every lab device, each moved from 127.77.x.y to this module's own second octet."""
    devices = [
        device.model_copy(
            update={"address": device.address.replace("127.77.", f"127.{COUNTS_OCTET}.", 1)}
        )
        for device in load_devices()
    ]
    limits = dataclasses.replace(
        ScanLimits(), per_connection_deadline_s=4.0, per_host_deadline_s=20.0
    )
    with run_lab_in_thread(devices) as lab:
        addresses = sorted({d.address for d in lab.devices}, key=address_sort_key)
        targets = build_targets(addresses)
        yield asyncio.run(run_scan(targets, addresses, DEFAULT_PORTS, limits=limits))


def test_the_demo_sample_starts_as_the_demo_does(demo_scan: ScanResult) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, no_color=True)
    write_output(demo_scan, "table", None, console, verbose=False, title="provscan demo")
    shown = buffer.getvalue().replace(f"127.{COUNTS_OCTET}.", "127.77.").splitlines()
    sample = _demo_sample()
    # the summary: devices and verdicts, makers, whom it was judged for, discovery
    summary = sample[: sample.index("")]
    assert summary == shown[1 : 1 + len(summary)], "update the README's `provscan demo` sample"
    # the restricted heading and the family headings the sample quotes
    for line in sample:
        if re.match(r"(Restricted|Clear): \d+ devices|\S+ family \(\d+\)|  Others \(\d+\)", line):
            assert any(row.startswith(line) for row in shown), line


def test_the_screen_sample_is_what_screen_prints(tmp_path: Path) -> None:
    text = _readme()
    command = "provscan screen examples/purchase.csv --policy ca,us -o screened.csv"
    start = text.index(f"`{command}` prints on stderr")
    sample = text[start:].split("```text\n", 1)[1].split("```", 1)[0]
    # the defaults, whatever the user's own config file says (`as`: whom it is judged for)
    arguments = [*command.split()[1:-1], str(tmp_path / "screened.csv")]
    result = run_provscan(
        *arguments,
        width=80,
        env={"XDG_CONFIG_HOME": str(tmp_path / "config")},
        unset=("LINES", "PROVSCAN_CONFIG"),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    # the sample writes to ./screened.csv; the test to its own directory
    # (wrapped at 80 columns when the directory is long)
    said = re.sub(
        r"wrote csv to\s+" + re.escape(str(tmp_path / "screened.csv")),
        "wrote csv to screened.csv",
        result.stderr,
    )
    assert said == sample, "update the README's `provscan screen` sample"


# --- the JSON sample --------------------------------------------------------------------------

#: Where the README cuts a value or a list: a string with it matches any text in its place; a
#: list or an object holding it may have more items or keys than the sample shows.
CUT = "…"
_CUT_AT_END = re.compile(r",\s*…\s*([\]}])")


def _json_sample() -> Any:
    text = _readme()
    start = text.index("One device of `provscan demo -f json`")
    block = text[start:].split("```json\n", 1)[1].split("```", 1)[0]
    # `, …]` and `, …}` become a marker item and a marker key, so that the sample is JSON
    marked = _CUT_AT_END.sub(
        lambda m: f', "{CUT}"]' if m[1] == "]" else f', "{CUT}": "{CUT}"}}', block
    )
    return json.loads(marked)


def _mismatch(sample: Any, real: Any, where: str) -> str | None:
    """Why ``real`` is not what ``sample`` quotes, or None when it is."""
    if isinstance(sample, dict):
        if not isinstance(real, dict):
            return f"{where}: not an object: {real!r}"
        if CUT not in sample and set(sample) != set(real):
            return f"{where}: keys {sorted(real)}, the sample {sorted(sample)}"
        for key in (k for k in sample if k != CUT):
            if key not in real:
                return f"{where}: no {key!r}"
            if (why := _mismatch(sample[key], real[key], f"{where}.{key}")) is not None:
                return why
        return None
    if isinstance(sample, list):
        if not isinstance(real, list):
            return f"{where}: not a list: {real!r}"
        items = [item for item in sample if item != CUT]
        if CUT not in sample and len(items) != len(real):
            return f"{where}: {len(real)} items, the sample {len(items)}"
        position = 0  # the sample's items, in order, among the real ones
        for index, item in enumerate(items):
            while position < len(real) and _mismatch(item, real[position], where) is not None:
                position += 1
            if position == len(real):
                return f"{where}[{index}]: no such item in {real!r}"[:2000]
            position += 1
        return None
    if isinstance(sample, str) and CUT in sample:
        pattern = ".*".join(re.escape(part) for part in sample.split(CUT))
        if isinstance(real, str) and re.fullmatch(pattern, real, re.S):
            return None
        return f"{where}: {real!r} is not {sample!r}"
    if type(sample) is not type(real) or sample != real:
        return f"{where}: {real!r}, the sample {sample!r}"
    return None


def test_the_json_sample_is_a_device_of_the_demos_json(
    demo_scan: ScanResult, tmp_path: Path
) -> None:
    written = tmp_path / "demo.json"
    write_output(demo_scan, "json", written, Console(file=io.StringIO()), verbose=False)
    real = json.loads(
        written.read_text(encoding="utf-8").replace(f"127.{COUNTS_OCTET}.", "127.77.")
    )
    sample = _json_sample()
    assert len([d for d in sample["devices"] if d != CUT]) == 1  # one device, as it says
    assert _mismatch(sample, real, "json") is None, (
        f"update the README's JSON sample: {_mismatch(sample, real, 'json')}"
    )


def test_the_sample_matcher_tells_a_wrong_value_from_a_cut_one() -> None:
    real = {"ip": "127.77.4.10", "ports": [80, 554, 37777], "note": "firmware unknown; x"}
    assert _mismatch({"ip": "127.77.4.10", CUT: CUT}, real, "r") is None
    assert _mismatch({"note": "firmware …", "ports": [80, CUT], CUT: CUT}, real, "r") is None
    assert _mismatch({"ip": "127.77.3.1", CUT: CUT}, real, "r") == (
        "r.ip: '127.77.4.10', the sample '127.77.3.1'"
    )
    assert _mismatch({"ip": "127.77.4.10"}, real, "r") is not None  # keys left out, no cut
    assert _mismatch({"ports": [80, 554], CUT: CUT}, real, "r") is not None  # list cut, no …
    assert _mismatch({"ports": [554, 80, CUT], CUT: CUT}, real, "r") is not None  # order


# --- the knowledge counts ---------------------------------------------------------------------


def test_the_knowledge_counts_are_the_datas() -> None:
    counts = count_entries(BUNDLED_DATA_DIR)
    kinds = {name: kind for kind, name, _ in COUNTED_KINDS}
    quoted = re.findall(r"`knowledge/data/([\w/.-]+)`: (\d+) ", _readme())
    assert quoted, "the README quotes no knowledge count (the pattern is stale)"
    for name, number in quoted:
        assert int(number) == counts[kinds[name]], f"update the README's count of {name}"


def test_the_vulnerability_list_names_every_maker_it_covers() -> None:
    text = _readme()
    start = text.index("`knowledge/data/vulnerabilities.yaml`: ")
    named = text[start : text.index(" — each", start)]
    data = yaml.safe_load((BUNDLED_DATA_DIR / "vulnerabilities.yaml").read_text(encoding="utf-8"))
    makers = {vendor for entry in data["vulnerabilities"] for vendor in entry["vendors"]}
    missing = sorted(maker for maker in makers if not re.search(rf"\b{re.escape(maker)}\b", named))
    assert not missing, f"the README's vulnerabilities line does not name {missing}"
