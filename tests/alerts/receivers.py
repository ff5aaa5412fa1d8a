"""Real receivers on 127.0.0.1 for the sender tests: syslog over UDP, TCP and TLS (octet
counting), and an HTTP webhook, each recording what arrived; plus a throwaway test CA."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"

# RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG]
RFC5424 = re.compile(
    rb"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<proc>\S+) "
    rb"(?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?$",
    re.DOTALL,
)


@dataclass(frozen=True)
class Syslog:
    priority: int
    timestamp: str
    hostname: str
    app: str
    procid: str
    msgid: str
    structured: str
    message: str
    had_bom: bool

    def params(self) -> dict[str, str]:
        return {
            key: re.sub(r"\\(.)", r"\1", value)
            for key, value in re.findall(r' (\w+)="((?:[^"\\]|\\.)*)"', self.structured)
        }


def parse_rfc5424(data: bytes) -> Syslog:
    match = RFC5424.match(data)
    assert match, f"not an RFC 5424 message: {data[:200]!r}"
    message = match.group("msg") or b""
    bom = message.startswith(b"\xef\xbb\xbf")
    return Syslog(
        int(match.group("pri")),
        match.group("ts").decode(),
        match.group("host").decode(),
        match.group("app").decode(),
        match.group("proc").decode(),
        match.group("msgid").decode(),
        match.group("sd").decode(),
        (message[3:] if bom else message).decode("utf-8"),
        bom,
    )


def split_octet_frames(stream: bytes) -> list[bytes]:
    """RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG, repeated; the stream must end on a frame."""
    frames = []
    rest = stream
    while rest:
        length, space, rest = rest.partition(b" ")
        assert space and length.isdigit() and not length.startswith(b"0"), rest[:40]
        size = int(length)
        assert len(rest) >= size, "truncated frame"
        frames.append(rest[:size])
        rest = rest[size:]
    return frames


@dataclass
class Received:
    messages: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def add(self, items: list[bytes]) -> None:
        with self.arrived:
            self.messages.extend(items)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@contextmanager
def udp_syslog(port: int = 0) -> Iterator[tuple[int, Received]]:
    received = Received()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            received.add([self.request[0]])

    with socketserver.ThreadingUDPServer((LOOPBACK, port), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1], received
        finally:
            server.shutdown()


class _ReusingTCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


@contextmanager
def tcp_syslog(
    port: int = 0, context: ssl.SSLContext | None = None
) -> Iterator[tuple[int, Received]]:
    """A syslog receiver reading octet-counted frames until the sender closes."""
    received = Received()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            sock.settimeout(10)
            if context is not None:
                sock = context.wrap_socket(sock, server_side=True)
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except (ssl.SSLError, OSError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            received.add(split_octet_frames(b"".join(chunks)))
            sock.close()

    with _ReusingTCPServer((LOOPBACK, port), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1], received
        finally:
            server.shutdown()


@dataclass
class WebhookLog:
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: Answer this status to the next N requests (then 200).
    fail_next: list[int] = field(default_factory=list)


@contextmanager
def webhook_receiver(
    port: int = 0, context: ssl.SSLContext | None = None
) -> Iterator[tuple[str, WebhookLog]]:
    log = WebhookLog()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                status = log.fail_next.pop(0) if log.fail_next else 200
                log.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": json.loads(body),
                        "status": status,
                    }
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((LOOPBACK, port), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if context is not None else "http"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://{LOOPBACK}:{server.server_address[1]}/hook", log
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class ThrowawayCA:
    ca_file: Path
    server_context: ssl.SSLContext


def make_test_ca(directory: Path, server_name: str = LOOPBACK) -> ThrowawayCA:
    """A CA and a server certificate for ``server_name`` (an IP SAN), EC P-256."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provscan test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(server_name))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "server.pem"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return ThrowawayCA(ca_file, context)
