"""TLS probe: the server certificate's subject, issuer, SANs and whether it is self-signed.

Sends a ClientHello (no SNI for addresses) and closes after the handshake.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from provscan.model import Observation
from provscan.probes.interface import Probe, ProbeContext, ProbeMalformed


def certificate_observations(der: bytes, port: int) -> list[Observation]:
    """Observations from a DER certificate (pure)."""
    # cryptography parses lazily: a hostile certificate can fail on any later access.
    try:
        certificate = x509.load_der_x509_certificate(der)
        subject = certificate.subject.rfc4514_string()
        issuer = certificate.issuer.rfc4514_string()
    except ValueError as exc:
        raise ProbeMalformed(f"unparseable certificate: {exc}") from exc
    out = [
        Observation("tls", port, "tls.subject", subject),
        Observation("tls", port, "tls.issuer", issuer),
        Observation("tls", port, "tls.self_signed", "true" if subject == issuer else "false"),
    ]
    try:
        san = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except (x509.ExtensionNotFound, ValueError):
        return out
    names: list[str] = []
    if isinstance(san.value, x509.SubjectAlternativeName):
        names = san.value.get_values_for_type(x509.DNSName) + [
            str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)
        ]
    out.extend(Observation("tls", port, "tls.san", name) for name in names[:20])
    return out


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
        return certificate_observations(der, ctx.port)
