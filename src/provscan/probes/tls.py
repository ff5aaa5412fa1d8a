"""TLS probe: the server certificate's subject, issuer, SANs and whether it is self-signed.

Sends a ClientHello (no SNI for addresses) and closes after the handshake.
"""

from __future__ import annotations

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import tls as observe
from provscan.probes.interface import Probe, ProbeContext, ProbeMalformed
from provscan.wire.tls import parse_certificate


class TlsProbe(Probe):
    name = "tls"
    default_ports = frozenset({443, 8443})
    order = 5

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        stream = await ctx.connect(tls=True)
        try:
            der = stream.peer_certificate()
        finally:
            await stream.close()
        if not der:
            raise ProbeMalformed("TLS handshake completed without a certificate")
        try:
            certificate = parse_certificate(der)
        except ProtocolError as exc:
            raise ProbeMalformed(str(exc)) from exc
        return observe.certificate_observations(certificate, ctx.port)
