"""TLS: a server certificate, the same observations from the probe and a captured handshake."""

from __future__ import annotations

import datetime
import ipaddress
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from observed import CLIENT, SERVER, Converse, RunProbe, distinct, keys

from provscan.observations import tls as observe
from provscan.probes.tls import TlsProbe
from provscan.wire.tls import parse_certificate

PORT = 443


def _certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HIKVISION"),
            x509.NameAttribute(NameOID.COMMON_NAME, "www.hikvision.com"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("www.hikvision.com"), x509.IPAddress(ipaddress.ip_address("10.0.0.64"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


DER = _certificate()


def _handshake(message_type: int, body: bytes) -> bytes:
    return bytes([message_type]) + len(body).to_bytes(3, "big") + body


def _record(fragment: bytes) -> bytes:
    return b"\x16\x03\x03" + struct.pack("!H", len(fragment)) + fragment


def _server_flight(der: bytes) -> bytes:
    """A TLS 1.2 ServerHello and Certificate, as a capture shows them."""
    hello = b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2f" + b"\x00"
    entry = len(der).to_bytes(3, "big") + der
    certificates = len(entry).to_bytes(3, "big") + entry
    return _record(_handshake(2, hello) + _handshake(11, certificates))


def _client_hello(server_name: str) -> bytes:
    name = server_name.encode()
    entry = b"\x00" + struct.pack("!H", len(name)) + name
    extension = struct.pack("!HH", 0, len(entry) + 2) + struct.pack("!H", len(entry)) + entry
    body = (
        b"\x03\x03"
        + bytes(32)
        + b"\x00"
        + b"\x00\x02\xc0\x2f"
        + b"\x01\x00"
        + struct.pack("!H", len(extension))
        + extension
    )
    return _record(_handshake(1, body))


def test_a_certificate_maps_names_and_self_signature() -> None:
    found = observe.certificate_observations(parse_certificate(DER), PORT)
    assert keys(found) == [
        ("tls", PORT, "tls.subject", "CN=www.hikvision.com,O=HIKVISION,C=CN"),
        ("tls", PORT, "tls.issuer", "CN=www.hikvision.com,O=HIKVISION,C=CN"),
        ("tls", PORT, "tls.self_signed", "true"),
        ("tls", PORT, "tls.san", "www.hikvision.com"),
        ("tls", PORT, "tls.san", "10.0.0.64"),
    ]


def test_the_probe_and_a_capture_read_the_certificate_alike(
    run_probe: RunProbe, converse: Converse
) -> None:
    active = run_probe(TlsProbe(), PORT, lambda _: b"", certificate=DER)
    passive = converse(PORT, _client_hello("camera.example"), _server_flight(DER))
    assert distinct(active) == distinct(passive[SERVER])
    assert keys(passive[CLIENT]) == [("tls", PORT, "tls.sni", "camera.example")]
