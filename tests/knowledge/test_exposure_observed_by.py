"""exposure.yaml ``observed_by``: the exposure kinds only some probes observe, as data (the
remediation cases read it). Knowledge sits below the probes (.importlinter layers), so the
loader checks the shape and this test checks each name against the real probes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provscan.credentials import Credential, CredentialStore
from provscan.knowledge.base import Problems
from provscan.knowledge.exposure import (
    EXPOSURE_FILE,
    EXPOSURE_KINDS,
    load_exposure_rules,
    read_exposure_rules,
)
from provscan.knowledge.loader import DEFAULT_DATA_DIR
from provscan.model import Device
from provscan.pipeline import run_passive
from provscan.probes.credentialed import (
    PLAIN_PORTS,
    TLS_PORTS,
    CredentialedApiCheck,
    CredentialedHttpProbe,
    CredentialedHttpsProbe,
)
from provscan.probes.credentialed_defaults import DefaultAccountProbe
from provscan.probes.registry import all_probes
from provscan.probes.snmp import SnmpProbe

#: The recorded lab traffic the passive tests read (RTSP, HTTP, TLS, banners...).
LAB_RECORDING = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"


def _api_probe_names() -> set[str]:
    """The makers' credentialed API probes a Hikvision and a Dahua device get (they name
    themselves after their API at run time: ``credentialed-<api>``, ``-tls`` on TLS ports)."""
    check = CredentialedApiCheck(CredentialStore(default=Credential("admin", "x")))
    names: set[str] = set()
    for maker in ("Hikvision", "Dahua"):
        device = Device(ip="127.0.0.9", open_ports=(*PLAIN_PORTS, *TLS_PORTS), manufacturer=maker)
        names |= {probe.name for probe, _ in check.plan(device)}
    return names


@pytest.fixture(scope="module")
def passive_names() -> set[str]:
    """The probe names a passive sighting's attempts record, from a real capture."""
    result = run_passive([str(LAB_RECORDING)])
    return {attempt.probe for device in result.devices for attempt in device.attempts}


def test_every_probe_named_is_a_real_probe_and_every_kind_a_real_kind(
    passive_names: set[str],
) -> None:
    # Every name an attempt can record: the port probes, the host and per-device probes, the
    # makers' API probes as planned, and passive analysis as it recorded a real capture
    probe_names = (
        {probe.name for probe in all_probes()}
        | {
            SnmpProbe.name,
            DefaultAccountProbe.name,
            CredentialedHttpProbe.name,
            CredentialedHttpsProbe.name,
        }
        | _api_probe_names()
        | passive_names
    )
    observed_by = load_exposure_rules().observed_by
    assert observed_by["default_credentials"] == {"default-credentials"}
    for kind, probes in observed_by.items():
        assert kind in EXPOSURE_KINDS
        assert probes <= probe_names, f"{kind}: {sorted(probes - probe_names)} are no probes"


def test_the_kinds_one_probe_observes_name_it_and_a_capture_can_still_tell(
    passive_names: set[str],
) -> None:
    observed_by = load_exposure_rules().observed_by
    api = _api_probe_names()
    # RTSP: the rtsp probe, or an RTSP conversation in a capture
    assert {"rtsp", "passive-rtsp"} <= observed_by["rtsp_unauthenticated"]
    assert "passive-rtsp" in passive_names
    # A login page over plain HTTP: the HTTP readers, active and passive; not ONVIF or banner
    assert {"http", "passive-http"} <= observed_by["plain_http_login"]
    assert not {"onvif", "banner", "tls", "https"} & observed_by["plain_http_login"]
    # The cloud/P2P settings: the makers' credentialed API probes (Hikvision EZVIZ, Dahua
    # T2UServer), planned for each maker on plain and TLS ports
    assert observed_by["cloud_p2p"] == {
        name for name in api if name.startswith(("credentialed-hikvision", "credentialed-dahua"))
    }
    assert len(observed_by["cloud_p2p"]) == 4


def _read(tmp_path: Path, entries: str) -> tuple[object, list[str]]:
    """The rules read from the bundled exposure.yaml with ``entries`` as its observed_by."""
    shutil.copy(DEFAULT_DATA_DIR / EXPOSURE_FILE, tmp_path / EXPOSURE_FILE)
    path = tmp_path / EXPOSURE_FILE
    text = path.read_text(encoding="utf-8")
    text = text[: text.index("\nobserved_by:")] + "\nobserved_by:\n" + entries
    path.write_text(text, encoding="utf-8")
    problems = Problems(tmp_path)
    rules = read_exposure_rules(tmp_path, problems)
    return rules, [f"{p.entry}: {p.message}" for p in problems.items]


ENTRY = """  - kind: {kind}
    probes: [{probes}]
    reason: only this probe looks
    sources: [{sources}]
"""


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (ENTRY.format(kind="telnet", probes="banner", sources="'x'"), None),
        (
            ENTRY.format(kind="telnet", probes="banner", sources="'x'")
            + ENTRY.format(kind="telnet", probes="tls", sources="'x'"),
            "is listed twice",
        ),
        (ENTRY.format(kind="telnet", probes="Banner Probe", sources="'x'"), "not a probe name"),
        (ENTRY.format(kind="telnet", probes="banner", sources="' '"), "non-blank source"),
        (ENTRY.format(kind="teletype", probes="banner", sources="'x'"), "teletype"),
        (ENTRY.format(kind="telnet", probes="", sources="'x'"), "at least 1 item"),
    ],
)
def test_the_loader_refuses_a_malformed_entry(
    tmp_path: Path, entries: str, expected: str | None
) -> None:
    rules, problems = _read(tmp_path, entries)
    if expected is None:
        assert problems == [] and rules is not None
        assert rules.observed_by == {"telnet": frozenset({"banner"})}  # type: ignore[attr-defined]
    else:
        assert any(expected in problem for problem in problems), problems
