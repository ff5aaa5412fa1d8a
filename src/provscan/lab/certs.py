"""Throwaway TLS material for lab services, generated per :class:`TlsSpec` and cached.

Subjects and issuers are written in personality files the way they are printed (RFC 4514,
most specific first: ``CN`` … ``C``), so the certificate encodes them in reverse and a
scanner's ``rfc4514_string()`` gives back exactly the documented string. Keys are EC P-256:
RSA 2048 takes long enough to generate that a few hundred devices would slow every test.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provscan.errors import LabError
from provscan.lab.spec import TlsSpec

_ATTRIBUTE_OIDS: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "STREET": NameOID.STREET_ADDRESS,
}

# Device clocks are often wrong; a long validity keeps the lab certificates boring.
_NOT_BEFORE = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(2045, 1, 1, tzinfo=datetime.UTC)


def x509_name(attributes: dict[str, str]) -> x509.Name:
    """Build a Name from attributes listed in printed (RFC 4514) order."""
    rdns: list[x509.NameAttribute[str]] = []
    for key, value in reversed(list(attributes.items())):
        oid = _ATTRIBUTE_OIDS.get(key.upper())
        if oid is None:
            raise LabError(f"unsupported certificate name attribute {key!r}")
        rdns.append(x509.NameAttribute(oid, value))
    return x509.Name(rdns)


@dataclass(frozen=True)
class _Issued:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


class CertificateFactory:
    """Generates certificates and server SSL contexts, caching each by its spec."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._authorities: dict[str, _Issued] = {}
        self._leaves: dict[str, _Issued] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}

    @staticmethod
    def _cache_key(spec: TlsSpec) -> str:
        return json.dumps(spec.model_dump(mode="json"), sort_keys=False)

    def certificate(self, spec: TlsSpec) -> x509.Certificate:
        return self._leaf(spec).certificate

    def server_context(self, spec: TlsSpec) -> ssl.SSLContext:
        key = self._cache_key(spec)
        with self._lock:
            cached = self._contexts.get(key)
        if cached is not None:
            return cached
        leaf = self._leaf(spec)
        chain = [leaf.certificate]
        if spec.issuer is not None:
            chain.append(self._authority(spec.issuer).certificate)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # Cameras speak old TLS; let a scanner built for them negotiate anything.
        with contextlib.suppress(ssl.SSLError):  # depends on the OpenSSL build
            context.set_ciphers("ALL:@SECLEVEL=0")
        _load_chain(context, leaf.key, chain)
        with self._lock:
            self._contexts.setdefault(key, context)
            return self._contexts[key]

    def _authority(self, issuer: dict[str, str]) -> _Issued:
        key = json.dumps(issuer)
        with self._lock:
            cached = self._authorities.get(key)
        if cached is not None:
            return cached
        private_key = ec.generate_private_key(ec.SECP256R1())
        name = x509_name(issuer)
        certificate = (
            _builder(name, name, private_key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(private_key, hashes.SHA256())
        )
        issued = _Issued(private_key, certificate)
        with self._lock:
            return self._authorities.setdefault(key, issued)

    def _leaf(self, spec: TlsSpec) -> _Issued:
        key = self._cache_key(spec)
        with self._lock:
            cached = self._leaves.get(key)
        if cached is not None:
            return cached
        private_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509_name(spec.subject)
        if spec.issuer is None:
            issuer_name, signing_key = subject, private_key
        else:
            authority = self._authority(spec.issuer)
            issuer_name, signing_key = authority.certificate.subject, authority.key
        builder = _builder(subject, issuer_name, private_key.public_key())
        if spec.san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(entry) for entry in spec.san]),
                critical=False,
            )
        certificate = builder.sign(signing_key, hashes.SHA256())
        issued = _Issued(private_key, certificate)
        with self._lock:
            return self._leaves.setdefault(key, issued)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
    )


def _general_name(entry: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(entry))
    except ValueError:
        return x509.DNSName(entry)


def _load_chain(
    context: ssl.SSLContext, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]
) -> None:
    """``load_cert_chain`` only reads files: write a private temp file, load it, delete it."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
    descriptor, path = tempfile.mkstemp(prefix="provscan-lab-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)


#: Process-wide cache: every Lab in a process reuses the same generated material.
CERTIFICATES = CertificateFactory()
