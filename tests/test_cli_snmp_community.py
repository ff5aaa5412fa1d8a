"""`provscan scan --snmp-community`: the option turns SNMP on, for the named targets only.

Real CLI runs (a child process) against the lab's SNMP agent on loopback UDP; the device
answers SNMP only, so SNMP is the only way to find it. The agent answers one community
(``COMMUNITY``) and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.probes.snmp import ENVIRONMENT_VARIABLE

OCTET = 160 + os.getpid() % 40
BASE = f"127.{OCTET}.63"
#: A community no output would contain by chance (the test checks it is never printed).
COMMUNITY = "c0mmunity-7f3a"
_SWITCH = next(d for d in load_devices(["telecom"]) if d.id == "huawei-vrp-switch")
SNMP_ONLY = _SWITCH.model_copy(
    update={
        "id": "snmp-option-huawei",
        "address": f"{BASE}.1",
        "services": [],
        "discovery": [
            d.model_copy(update={"options": {**d.options, "community": COMMUNITY}})
            for d in _SWITCH.discovery
        ],
    }
)
#: The same agent on another address that the scans never name.
UNNAMED = SNMP_ONLY.model_copy(update={"id": "snmp-option-unnamed", "address": f"{BASE}.2"})


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread([SNMP_ONLY, UNNAMED]) as running:
        yield running


def _scan(*extra: str, env_community: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != ENVIRONMENT_VARIABLE}
    if env_community is not None:
        env[ENVIRONMENT_VARIABLE] = env_community
    command = [
        *(sys.executable, "-m", "provscan"),
        *("scan", SNMP_ONLY.address, "--ports", "22", "--no-db", "--no-discovery"),
        *("-f", "json", "--timeout", "1", "--quiet", *extra),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, cwd=Path.cwd()
    )


def _devices(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    return {device["ip"]: device for device in document["devices"]}


def _snmp_requests(lab: Lab) -> list[str]:
    return [record.address for record in lab.record if record.protocol == "snmp"]


def test_the_option_turns_snmp_on_for_the_named_target_only(lab: Lab) -> None:
    lab.clear_record()
    result = _scan("--snmp-community", COMMUNITY)
    devices = _devices(result)
    # The SNMP-only switch is found and identified from SNMP alone
    device = devices[SNMP_ONLY.address]
    assert (device["manufacturer"], device["restricted"]) == ("Huawei", True)
    # Only the named address was asked; the community is printed nowhere
    assert _snmp_requests(lab) == [SNMP_ONLY.address]
    assert COMMUNITY not in result.stdout + result.stderr


def test_the_option_wins_over_the_environment_variable(lab: Lab) -> None:
    lab.clear_record()
    # A wrong community in the environment, the right one on the command line
    devices = _devices(_scan("--snmp-community", COMMUNITY, env_community="not-it"))
    assert SNMP_ONLY.address in devices
    # And the other way round: the wrong community on the command line gets silence
    assert _devices(_scan("--snmp-community", "not-it", env_community=COMMUNITY)) == {}


def test_without_option_or_variable_nothing_is_sent_to_udp_161(lab: Lab) -> None:
    lab.clear_record()
    assert _devices(_scan()) == {}
    assert _snmp_requests(lab) == []


def test_the_variable_alone_still_turns_snmp_on(lab: Lab) -> None:
    assert SNMP_ONLY.address in _devices(_scan(env_community=COMMUNITY))
