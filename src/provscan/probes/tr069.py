"""TR-069 (CWMP) connection-request port (TCP 7547): what its HTTP server answers to ``GET /``.

The CPE's connection-request server is HTTP; unauthenticated, it answers a challenge whose
``Server`` header, realm and 401 body often name the gateway's maker (``HuaweiHomeGateway``,
``cpe@zte.com``). Request: one ``GET /`` without credentials, which never starts a CWMP
session (that needs the ACS's credentials, TR-069 Amendment 6 section 3.2.2); no favicon,
no vendor pages. The answer is recorded as ordinary HTTP observations on port 7547.
"""

from __future__ import annotations

from provscan.model import Observation
from provscan.observations import http as observe
from provscan.probes.http import fetch
from provscan.probes.interface import Probe, ProbeContext

TR069_PORT = 7547


class Tr069Probe(Probe):
    name = "tr069"
    default_ports = frozenset({TR069_PORT})
    order = 10

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        response = await fetch(ctx, "GET", "/", tls=False)
        return observe.response_observations(response, ctx.port, "/", "http")
