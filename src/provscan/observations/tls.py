"""TLS: a server certificate (and the SNI of a host's own ClientHello) -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.wire.tls import Certificate

PROTOCOL = "tls"
#: Subject alternative names reported per certificate.
MAX_SANS = 20


def certificate_observations(certificate: Certificate, port: int) -> list[Observation]:
    """Subject, issuer, whether it is self-signed, and its DNS/IP SANs."""
    self_signed = "true" if certificate.is_self_signed else "false"
    out = [
        Observation(PROTOCOL, port, "tls.subject", certificate.subject),
        Observation(PROTOCOL, port, "tls.issuer", certificate.issuer),
        Observation(PROTOCOL, port, "tls.self_signed", self_signed),
    ]
    names = certificate.subject_alternative_names[:MAX_SANS]
    out.extend(Observation(PROTOCOL, port, "tls.san", name) for name in names)
    return out


def client_hello_observations(server_name: str, port: int, server: str) -> list[Observation]:
    """``tls.sni`` of a ClientHello a host sent to ``server``:``port``."""
    return [Observation(PROTOCOL, port, "tls.sni", server_name, f"to {server}")]
