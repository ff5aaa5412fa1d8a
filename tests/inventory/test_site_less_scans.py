"""A scan that names no site does not take a device's known site away.

Found by scanning the lab with ``--site HQ`` and then without ``--site``: devices matched by
a MAC or serial moved to "(no site)", and those matched by nothing else than their address
were made again at no site (duplicates, with a second restricted case each). The rule now
(docs/inventory.md, Device identity): a device a site-less scan matches keeps its site, and
by address the scan looks first among the devices of no site, then at the one named site
with an agreeing device there (several sites: no match, as before).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES, TEST_LIMITS

from inventory_verdicts import entry, scan_of
from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult
from provscan.pipeline import run_scan
from provscan.report.contract import DeviceEntry
from provscan.store.db import Store, normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.targets import build_targets

#: 120-129: the inventory tests' own labs (third octet 95: this file's).
NET = f"127.{120 + os.getpid() % 10}.95"
RANGE = f"{NET}.0/24"
BY_ID = {device.id: device for device in SESSION_DEVICES}
USED = ("dahua-ipc", "hik-ipc-legacy", "hik-hilook-ipc")
PORTS = sorted({s.port for name in USED for s in BY_ID[name].services})
LAB = [BY_ID[name].model_copy(update={"address": f"{NET}.{10 + n}"}) for n, name in enumerate(USED)]


def _scan(devices: list[DeviceSpec]) -> ScanResult:
    with run_lab_in_thread(devices):
        return asyncio.run(run_scan(build_targets([RANGE]), [RANGE], PORTS, limits=TEST_LIMITS))


def _again(result: ScanResult, scan_id: str) -> ScanResult:
    """The same scan under another id (the store keeps each id once)."""
    return dataclasses.replace(result, info=dataclasses.replace(result.info, scan_id=scan_id))


@pytest.fixture(scope="module")
def lab_scan() -> ScanResult:
    return _scan(LAB)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(normalise_db_arg(str(tmp_path / "inventory.db"))) as opened:
        yield opened


def test_a_site_less_scan_of_the_lab_leaves_hq_devices_at_hq(
    lab_scan: ScanResult, store: Store
) -> None:
    # the lab's devices are matched by every rule: MAC, serial and address alone
    assert len(lab_scan.devices) == 3
    assert any(d.mac for d in lab_scan.devices)
    assert any(not d.mac and not d.serial for d in lab_scan.devices)
    store.save(lab_scan, site="HQ", coverage=coverage_ranges([RANGE]))
    at_hq = {d.ip: d for d in store.inventory()}
    cases = len(store.cases())

    store.save(_again(lab_scan, "site-less"), coverage=coverage_ranges([RANGE]))

    after = store.inventory()
    assert len(after) == 3  # no device made again at no site
    assert {d.site for d in after} == {"HQ"}
    assert {d.ip: d.device_id for d in after} == {ip: d.device_id for ip, d in at_hq.items()}
    assert all(d.last_scan_id == "site-less" and d.match_rule != "new" for d in after)
    assert len(store.cases()) == cases  # no second case for the same camera


def _device(number: int, *, mac: bool) -> DeviceEntry:
    from inventory_verdicts import four_verdicts

    restricted = four_verdicts()[0]
    return entry(restricted, number, **({} if mac else {"mac": None}))


def test_by_address_a_site_less_scan_takes_the_one_named_site_with_a_device_there(
    store: Store,
) -> None:
    store.save_document(scan_of("hq", 10, [_device(1, mac=False)]), site="HQ")
    store.save_document(scan_of("site-less", 11, [_device(1, mac=False)]))
    (device,) = store.inventory()
    assert (device.site, device.match_rule, device.last_scan_id) == (
        "HQ",
        "address+maker+model",
        "site-less",
    )


def test_a_site_less_scan_prefers_devices_of_no_site_and_does_not_guess_between_sites(
    store: Store,
) -> None:
    # two sites with a device at the same address (both use the same private range)
    store.save_document(scan_of("hq", 10, [_device(1, mac=False)]), site="HQ")
    store.save_document(scan_of("branch", 10, [_device(1, mac=False)]), site="Branch")
    store.save_document(scan_of("site-less", 11, [_device(1, mac=False)]))
    by_site = {d.site: d for d in store.inventory()}
    # which site it was cannot be told: a device of no site, as before, and both kept
    assert set(by_site) == {"HQ", "Branch", None}
    assert by_site["HQ"].last_scan_id == "hq" and by_site["Branch"].last_scan_id == "branch"
    # a device of no site at the address is the one a site-less scan takes first
    store.save_document(scan_of("site-less-2", 12, [_device(1, mac=False)]))
    assert len(store.inventory()) == 3
    assert {d.site: d.last_scan_id for d in store.inventory()}[None] == "site-less-2"


def test_a_named_site_still_sets_the_site_of_a_device_it_sees(store: Store) -> None:
    store.save_document(scan_of("first", 10, [_device(1, mac=True)]))
    store.save_document(scan_of("hq", 11, [_device(1, mac=True)]), site="HQ")
    (device,) = store.inventory()
    assert (device.site, device.match_rule) == ("HQ", "mac")
