"""Sightings made from the report golden's first device, for the cases' tests: a scan in a
given year of given ports that saw it (by serial) with some fields changed, the probe
attempts it answered, and an exposure made priority 1 (an organisation's remediation.yaml
may make any exposure priority 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provscan.model import AttemptStatus
from provscan.report.contract import (
    AttemptEntry,
    ExposureEntry,
    RemediationEntry,
    ScanDocument,
    from_contract,
)

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"


def golden_scan(
    scan_id: str,
    year: int,
    ports: list[int],
    *,
    ip: str,
    serial: str,
    kind: str = "active",
    **device: Any,
) -> ScanDocument:
    """A scan (``kind``) in ``year`` of ``ports`` that saw the golden's first device at
    ``ip`` with ``serial`` (no MAC) and ``device``'s fields changed."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    first = golden.devices[0].model_copy(update={"ip": ip, "mac": None, "serial": serial, **device})
    started = golden.scan.started_at.replace(year=year)
    scan = golden.scan.model_copy(
        update={
            "id": scan_id,
            "kind": kind,
            "started_at": started,
            "finished_at": started,
            "ports": ports,
            "devices_found": 1,
            "restricted_count": int(first.restricted),
        }
    )
    return golden.model_copy(update={"scan": scan, "devices": [first]})


def attempt(probe: str, port: int, status: str = "ok") -> AttemptEntry:
    return AttemptEntry(
        probe=probe, port=port, status=AttemptStatus(status), error="", elapsed_s=0.1
    )


def urgent(exposure: ExposureEntry) -> dict[str, Any]:
    """The device fields of a sighting with ``exposure`` as a priority-1 reconfigure."""
    fix = RemediationEntry(
        action="reconfigure", reason=exposure.detail, priority=1, detail="fix the setting"
    )
    return {"exposure": [exposure], "remediation": [fix]}


def without_exposure(*attempts: AttemptEntry, open_ports: list[int]) -> dict[str, Any]:
    """The device fields of a sighting without any exposure, with what its probes answered."""
    return {
        "exposure": [],
        "remediation": [],
        "attempts": list(attempts),
        "open_ports": open_ports,
    }


def case_of(store: Any, subject: str) -> Any:
    (case,) = [c for c in store.cases() if c.subject == subject]
    return case
