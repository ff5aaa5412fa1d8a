"""TLS handshakes and certificates, pure: SNI, server certificates, version, certificate names.

Only the cleartext part of a handshake is read: the ClientHello's ``server_name``
extension and, up to TLS 1.2, the server's Certificate message. In TLS 1.3 the
certificate is encrypted; the ServerHello's ``supported_versions`` extension tells us so.
Records may split a handshake message and one record may hold several messages; both are
handled. Every length is checked; malformed input ends the walk, it never raises.
:func:`parse_certificate` reads the names of one DER certificate (the active TLS probe's
peer certificate, or one seen in a capture).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from provscan.errors import ProtocolError

CONTENT_HANDSHAKE = 22
HANDSHAKE_CLIENT_HELLO = 1
HANDSHAKE_SERVER_HELLO = 2
HANDSHAKE_CERTIFICATE = 11
EXTENSION_SERVER_NAME = 0
EXTENSION_SUPPORTED_VERSIONS = 43
TLS13 = 0x0304
#: Certificates kept from one chain (the leaf is what identifies the device).
MAX_CERTIFICATES = 3


@dataclass
class ServerHandshake:
    version: int | None = None
    certificates: list[bytes] = field(default_factory=list)

    @property
    def is_tls13(self) -> bool:
        return self.version == TLS13


def looks_like_tls(data: bytes) -> bool:
    """A TLS handshake record header: type 22, version 3.x."""
    return len(data) >= 3 and data[0] == CONTENT_HANDSHAKE and data[1] == 3 and data[2] <= 4


def handshake_messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, body) of each complete handshake message in a stream of TLS records."""
    stream = bytearray()
    position = 0
    while position + 5 <= len(data):
        content_type = data[position]
        length = struct.unpack_from("!H", data, position + 3)[0]
        fragment = data[position + 5 : position + 5 + length]
        position += 5 + length
        if content_type != CONTENT_HANDSHAKE:
            break  # ChangeCipherSpec or application data: the cleartext handshake is over
        stream += fragment
    offset = 0
    while offset + 4 <= len(stream):
        message_type = stream[offset]
        length = int.from_bytes(stream[offset + 1 : offset + 4], "big")
        if offset + 4 + length > len(stream):
            break
        yield message_type, bytes(stream[offset + 4 : offset + 4 + length])
        offset += 4 + length


def _extensions(body: bytes, position: int) -> Iterator[tuple[int, bytes]]:
    if position + 2 > len(body):
        return
    total = struct.unpack_from("!H", body, position)[0]
    position += 2
    end = min(len(body), position + total)
    while position + 4 <= end:
        kind, length = struct.unpack_from("!HH", body, position)
        yield kind, body[position + 4 : position + 4 + length]
        position += 4 + length


def client_hello_sni(data: bytes) -> str | None:
    """The host name of the first ClientHello's ``server_name`` extension, if any."""
    for message_type, body in handshake_messages(data):
        if message_type != HANDSHAKE_CLIENT_HELLO:
            continue
        # version(2) random(32) session_id(1+n) cipher_suites(2+n) compression(1+n)
        position = 34
        if position >= len(body):
            return None
        position += 1 + body[position]
        if position + 2 > len(body):
            return None
        position += 2 + struct.unpack_from("!H", body, position)[0]
        if position >= len(body):
            return None
        position += 1 + body[position]
        for kind, value in _extensions(body, position):
            if kind == EXTENSION_SERVER_NAME and len(value) >= 5:
                # list length(2), name type(1) = 0 host_name, name length(2), name
                if value[2] != 0:
                    return None
                length = struct.unpack_from("!H", value, 3)[0]
                name = value[5 : 5 + length]
                text = name.decode("ascii", errors="replace").strip().rstrip(".").lower()
                return text or None
        return None
    return None


def server_handshake(data: bytes) -> ServerHandshake:
    """The negotiated version and the certificates (DER, leaf first) a server sent."""
    result = ServerHandshake()
    for message_type, body in handshake_messages(data):
        if message_type == HANDSHAKE_SERVER_HELLO and len(body) >= 2:
            result.version = struct.unpack_from("!H", body, 0)[0]
            position = 34
            if position < len(body):
                position += 1 + body[position]  # session id
                position += 3  # cipher suite, compression method
                for kind, value in _extensions(body, position):
                    if kind == EXTENSION_SUPPORTED_VERSIONS and len(value) == 2:
                        result.version = struct.unpack("!H", value)[0]
            if result.is_tls13:
                return result
        elif message_type == HANDSHAKE_CERTIFICATE and len(body) >= 3:
            total = int.from_bytes(body[0:3], "big")
            position, end = 3, min(len(body), 3 + total)
            while position + 3 <= end and len(result.certificates) < MAX_CERTIFICATES:
                length = int.from_bytes(body[position : position + 3], "big")
                certificate = body[position + 3 : position + 3 + length]
                if len(certificate) < length:
                    break
                result.certificates.append(certificate)
                position += 3 + length
            return result
    return result


@dataclass(frozen=True)
class Certificate:
    """The names of a certificate: RFC 4514 subject and issuer, DNS and IP SANs in order."""

    subject: str
    issuer: str
    subject_alternative_names: tuple[str, ...] = ()

    @property
    def is_self_signed(self) -> bool:
        return self.subject == self.issuer


def parse_certificate(der: bytes) -> Certificate:
    """Read a DER certificate's names. Raises ProtocolError when subject or issuer cannot be
    read; an unreadable SAN extension means no SANs."""
    # Imported here, when a certificate is read (a scan's start-up does without it).
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    # cryptography parses lazily: a hostile certificate can fail on any later access.
    try:
        certificate = x509.load_der_x509_certificate(der)
        subject = certificate.subject.rfc4514_string()
        issuer = certificate.issuer.rfc4514_string()
    except ValueError as exc:
        raise ProtocolError(f"unparseable certificate: {exc}") from exc
    try:
        san = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except (x509.ExtensionNotFound, ValueError):
        return Certificate(subject, issuer)
    names: list[str] = []
    if isinstance(san.value, x509.SubjectAlternativeName):
        names = san.value.get_values_for_type(x509.DNSName) + [
            str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)
        ]
    return Certificate(subject, issuer, tuple(names))
