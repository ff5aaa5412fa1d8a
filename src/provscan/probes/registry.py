"""The probe registry: every active probe of a port scan, in one explicit list.

Only the pipeline asks for concrete probes; ``Probe.order`` decides who runs first on a port.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from provscan.knowledge.schema import HttpEndpoint
from provscan.probes.banner import BannerProbe
from provscan.probes.dahua import DahuaDvripProbe
from provscan.probes.hik_sdk import HikSdkProbe
from provscan.probes.http import HttpProbe, HttpsProbe
from provscan.probes.interface import Probe
from provscan.probes.onvif import OnvifProbe
from provscan.probes.rtsp import RtspProbe
from provscan.probes.snmp import ENVIRONMENT_VARIABLE as SNMP_COMMUNITY_VARIABLE
from provscan.probes.snmp import SnmpProbe
from provscan.probes.tls import TlsProbe
from provscan.probes.tr069 import Tr069Probe
from provscan.probes.xiongmai import XiongmaiProbe


def all_probes(http_endpoints: Sequence[HttpEndpoint] = ()) -> list[Probe]:
    """One instance of every port probe, sorted by ``order`` then name.

    ``http_endpoints`` are the vendors' own pages the HTTP(S) probes request (reviewed data).
    """
    probes: list[Probe] = [
        HttpProbe(http_endpoints),
        HttpsProbe(http_endpoints),
        TlsProbe(),
        RtspProbe(),
        OnvifProbe(),
        HikSdkProbe(),
        DahuaDvripProbe(),
        XiongmaiProbe(),
        Tr069Probe(),
        BannerProbe(),
    ]
    return sorted(probes, key=lambda probe: (probe.order, probe.name))


def host_probes(snmp_community: str | None = None) -> list[SnmpProbe]:
    """The host-level (UDP) probes the scheduler runs once per target host.

    SNMP joins only with a community the user supplied: ``snmp_community``, else the
    ``PROVSCAN_SNMP_COMMUNITY`` environment variable (opt-in, decision 0010).
    """
    community = snmp_community or os.environ.get(SNMP_COMMUNITY_VARIABLE, "")
    return [SnmpProbe(community)] if community else []
