"""Syslog senders: RFC 5424 messages over UDP (RFC 5426), TCP with octet counting (RFC 6587)
and TLS (RFC 5425, the same framing), one connection per batch."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path

from provscan.alerts.formats import MAX_DATAGRAM, BodyFormat, body, octet_frame, rfc5424
from provscan.alerts.interface import DeliveryError, Sender, SinkConfigError, check_destination
from provscan.config import SyslogSink, split_host_port
from provscan.store.events import Event

#: Seconds to connect and to hand over one batch.
SYSLOG_TIMEOUT_SECONDS = 10.0


def client_context(ca_file: Path | None, verify: bool = True) -> ssl.SSLContext:
    """A TLS client context: the system's CAs or ``ca_file``, certificate and name checked
    unless ``verify`` is off."""
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise SinkConfigError(f"cannot use CA file {ca_file}: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SyslogSender(Sender):
    kind = "syslog"

    def __init__(self, sink: SyslogSink, *, timeout: float = SYSLOG_TIMEOUT_SECONDS) -> None:
        self.name = sink.name
        self.batch_size = sink.batch_size
        self.host, self.port = split_host_port(sink.address)
        self.protocol = sink.protocol
        self.format: BodyFormat = sink.format
        self.facility = sink.facility
        self.timeout = timeout
        self.server_name = sink.tls_server_name or self.host
        self.context = (
            client_context(sink.tls_ca_file, sink.tls_verify) if sink.protocol == "tls" else None
        )

    def describe(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"syslog {self.protocol}://{host}:{self.port} ({self.format})"

    def message(self, event: Event) -> bytes:
        message = rfc5424(
            event, body(event, self.format), facility=self.facility, procid=os.getpid()
        )
        if self.protocol == "udp" and len(message) > MAX_DATAGRAM and self.format == "json":
            compact = body(event, self.format, compact=True)
            message = rfc5424(event, compact, facility=self.facility, procid=os.getpid())
        return message

    def send(self, events: Sequence[Event]) -> None:
        if not events:
            return
        check_destination(self.host)
        messages = [self.message(event) for event in events]
        try:
            if self.protocol == "udp":
                self._send_udp(messages)
            else:
                self._send_stream(messages)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DeliveryError(reason or type(exc).__name__) from exc

    def _address(self, kind: socket.SocketKind) -> tuple[socket.AddressFamily, tuple[object, ...]]:
        family, _, _, _, address = socket.getaddrinfo(self.host, self.port, type=kind)[0]
        return family, address

    def _send_udp(self, messages: list[bytes]) -> None:
        # UDP has no acknowledgement: a datagram that left is all the sender can know.
        family, address = self._address(socket.SOCK_DGRAM)
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(address)
            for message in messages:
                sock.send(message[:65000])

    def _send_stream(self, messages: list[bytes]) -> None:
        payload = b"".join(octet_frame(message) for message in messages)
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as raw:
            if self.context is not None:
                with self.context.wrap_socket(raw, server_hostname=self.server_name) as tls:
                    tls.sendall(payload)
                    _close_cleanly(tls)
            else:
                raw.sendall(payload)
                _close_cleanly(raw)


#: Seconds to wait, after the last frame, for the receiver to close or reset.
LINGER_SECONDS = 2.0


def _close_cleanly(sock: socket.socket) -> None:
    """Half-close and wait a moment for the receiver's close: a receiver that reset the
    connection (data buffered but never read) surfaces here as an error instead of being
    counted as delivered. A receiver that keeps the connection open took the frames."""
    sock.settimeout(LINGER_SECONDS)
    try:
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass
    except (TimeoutError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        pass
