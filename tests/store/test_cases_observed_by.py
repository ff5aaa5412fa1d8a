"""An exposure case only one probe observes is verified only by that probe's answer.

exposure.yaml ``observed_by`` listed only the factory-account check, so a later scan whose
only answer on RTSP's port 554 came from another probe (a banner read), or whose only answer
on a login page's port came from ONVIF, or a scan without credentials whose plain HTTP answer
read no P2P setting, verified the case as fixed: nothing had looked. Now RTSP needs the rtsp
probe (or an RTSP conversation in a capture), a plain-HTTP login page an HTTP reader, a
cloud/P2P setting the makers' credentialed API probes.

Real SQLite stores under ``tmp_path`` fed real contract documents (the golden scan's first
device, a Dahua camera whose RTSP on 554 answers without credentials). Addresses are loopback
and only data: nothing is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from golden_sightings import attempt, golden_scan, urgent, without_exposure

from provscan.report.contract import (
    ExposureEntry,
    ScanDocument,
)
from provscan.store.db import normalise_db_arg, open_store

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"


def _scan(
    scan_id: str, year: int, ports: list[int], kind: str = "active", **device: Any
) -> ScanDocument:
    return golden_scan(
        scan_id, year, ports, ip="127.0.62.1", serial="SER-OBSERVED-1", kind=kind, **device
    )


_attempt, _urgent, _without_exposure = attempt, urgent, without_exposure


def _case(store: Any, kind: str) -> Any:
    (case,) = [c for c in store.cases() if c.subject == f"exposure:{kind}"]
    return case


RTSP = ExposureEntry(
    kind="rtsp_unauthenticated",
    detail="RTSP on port 554 answered DESCRIBE with 200 without credentials",
    evidence="rtsp.status_line 'RTSP/1.0 200 OK'",
    port=554,
)
LOGIN = ExposureEntry(
    kind="plain_http_login",
    detail="port 80 serves a login page over plain HTTP (no TLS)",
    evidence="http.title (/)",
    port=80,
)
P2P = ExposureEntry(
    kind="cloud_p2p",
    detail="Dahua P2P cloud service (T2UServer) is enabled",
    evidence="credentialed Dahua P2P cloud service (T2UServer) is enabled on port 80",
    port=80,
)


@pytest.mark.parametrize(
    ("exposure", "elsewhere", "observer", "kind"),
    [
        # RTSP on 554: a banner read there does not speak RTSP; the rtsp probe does
        (RTSP, "banner", "rtsp", "active"),
        # ... and a capture that saw an RTSP conversation on 554 again can tell too
        (RTSP, "passive-banner", "passive-rtsp", "passive"),
        # A login page on 80: ONVIF's answer reads no page; the http probe's does
        (LOGIN, "onvif", "http", "active"),
        (LOGIN, "passive-tls", "passive-http", "passive"),
        # A P2P setting read with credentials on 80: a plain HTTP answer reads no setting
        (P2P, "http", "credentialed-dahua", "active"),
    ],
)
def test_an_exposure_case_is_verified_only_by_a_probe_that_observes_it(
    tmp_path: Path, exposure: ExposureEntry, elsewhere: str, observer: str, kind: str
) -> None:
    port = exposure.port
    assert port is not None
    with open_store(normalise_db_arg(str(tmp_path / "observed.db"))) as store:
        # Given an open case for the exposure on its port
        store.save_document(_scan("scan-2026", 2026, [80, 554], **_urgent(exposure)))
        case = _case(store, exposure.kind)
        assert case.status == "open"
        # When a later sighting's only answer on that port came from another probe
        other = _without_exposure(_attempt(elsewhere, port), open_ports=[80, 554])
        store.save_document(_scan("scan-2027", 2027, [80, 554], kind, **other))
        # Then nothing looked at the exposure: the case stays open
        assert store.case(case.id).status == "open"
        # When the probe that observes it answered there without the exposure
        seen = _without_exposure(
            _attempt(elsewhere, port), _attempt(observer, port), open_ports=[80, 554]
        )
        store.save_document(_scan("scan-2028", 2028, [80, 554], kind, **seen))
        # Then that sighting verifies the case
        verified = store.case(case.id)
        assert verified.status == "verified"
        assert verified.events[-1].scan_id == "scan-2028"


def test_the_observing_probe_answered_on_another_port_does_not_tell(tmp_path: Path) -> None:
    with open_store(normalise_db_arg(str(tmp_path / "other-port.db"))) as store:
        store.save_document(_scan("scan-2026", 2026, [554, 8554], **_urgent(RTSP)))
        case = _case(store, "rtsp_unauthenticated")
        # The rtsp probe answered on 8554, a banner on 554: RTSP on 554 was not looked at
        sighting = _without_exposure(
            _attempt("banner", 554), _attempt("rtsp", 8554), open_ports=[554, 8554]
        )
        store.save_document(_scan("scan-2027", 2027, [554, 8554], **sighting))
        assert store.case(case.id).status == "open"
