"""Bounded TCP and TLS connections: the only place provscan opens sockets to devices.

Every read is capped in bytes and idle time, and every connection has a hard deadline, so
that a hostile device (one that streams forever, drips a byte a second or never answers)
costs at most ``per_connection_deadline_s`` and ``read_byte_cap`` bytes. The scheduler
(:mod:`provscan.engine`) decides when a connection may be opened; this module how.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import ssl
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from provscan.transport.interface import ProbeClosed, ProbeRefused, ProbeTimeout
from provscan.transport.limits import ScanLimits

T = TypeVar("T")


def _insecure_tls_context() -> ssl.SSLContext:
    """A client context that accepts any certificate: we identify devices, not trust them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Cameras run old TLS stacks; allow what OpenSSL allows at security level 0.
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    # Old cameras speak TLS 1.0; Python deprecates naming it, so lower the floor quietly.
    with warnings.catch_warnings(), contextlib.suppress(ValueError, AttributeError):
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return context


_TLS_CONTEXT = _insecure_tls_context()


class BoundedStream:
    """A :class:`provscan.transport.interface.Stream` over asyncio streams."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: ScanLimits,
        deadline: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._limits = limits
        self._deadline = deadline
        self._bytes_read = 0
        self._truncated = False

    @property
    def bytes_read(self) -> int:
        return self._bytes_read

    @property
    def truncated(self) -> bool:
        return self._truncated

    def _timeout(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeTimeout("connection deadline reached")
        return min(remaining, self._limits.read_timeout_s)

    async def _guard(self, awaitable: Awaitable[T]) -> T:
        try:
            timeout = self._timeout()
        except ProbeTimeout:
            # the read or drain the caller made is never started: closed here, or it would be
            # collected un-awaited (a RuntimeWarning under load, when deadlines pass)
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise
        try:
            return await asyncio.wait_for(awaitable, timeout=timeout)
        except TimeoutError as exc:
            raise ProbeTimeout("no data before the read timeout") from exc
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise ProbeClosed(f"connection reset: {exc}") from exc
        except ssl.SSLError as exc:
            raise ProbeClosed(f"TLS error: {exc.reason or exc}") from exc

    def _budget(self, wanted: int) -> int:
        left = self._limits.read_byte_cap - self._bytes_read
        if left <= 0:
            self._truncated = True
            return 0
        return min(wanted, left)

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._guard(self._writer.drain())

    async def read_some(self, max_bytes: int = 65536) -> bytes:
        budget = self._budget(max_bytes)
        if budget == 0:
            return b""
        data = await self._guard(self._reader.read(budget))
        self._bytes_read += len(data)
        return data

    async def read_exactly(self, n: int) -> bytes:
        if self._budget(n) < n:
            self._truncated = True
            raise ProbeClosed(f"reading {n} bytes would pass the byte cap")
        try:
            data = await self._guard(self._reader.readexactly(n))
        except asyncio.IncompleteReadError as exc:
            self._bytes_read += len(exc.partial)
            raise ProbeClosed(f"peer closed after {len(exc.partial)} of {n} bytes") from exc
        self._bytes_read += len(data)
        return data

    async def _collect(self, stop: Callable[[bytearray], bool], limit: int | None) -> bytes:
        cap = (
            self._limits.read_byte_cap if limit is None else min(limit, self._limits.read_byte_cap)
        )
        buffer = bytearray()
        while len(buffer) < cap and not stop(buffer):
            try:
                chunk = await self.read_some(min(65536, cap - len(buffer)))
            except ProbeTimeout:
                if buffer:
                    break
                raise
            if not chunk:
                break
            buffer += chunk
        if len(buffer) >= cap:
            self._truncated = True
        return bytes(buffer)

    async def read_until(self, marker: bytes, limit: int | None = None) -> bytes:
        return await self._collect(lambda buf: marker in buf, limit)

    async def read_to_eof(self, limit: int | None = None) -> bytes:
        return await self._collect(lambda buf: False, limit)

    def peer_certificate(self) -> bytes | None:
        ssl_object = self._writer.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        der: bytes | None = ssl_object.getpeercert(binary_form=True)
        return der

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), timeout=0.5)


async def open_bounded(
    address: str,
    port: int,
    limits: ScanLimits,
    *,
    tls: bool = False,
    server_hostname: str | None = None,
) -> BoundedStream:
    """Connect (and optionally complete a TLS handshake) within the connect timeout."""
    deadline = time.monotonic() + limits.per_connection_deadline_s
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                address,
                port,
                ssl=_TLS_CONTEXT if tls else None,
                server_hostname=(server_hostname or "") if tls else None,
                limit=min(limits.read_byte_cap, 1 << 20),
            ),
            timeout=limits.connect_timeout_s * (2 if tls else 1),
        )
    except TimeoutError as exc:
        raise ProbeTimeout("connect or TLS handshake timed out") from exc
    except ConnectionRefusedError as exc:
        raise ProbeRefused("connection refused") from exc
    except ssl.SSLError as exc:
        raise ProbeClosed(f"TLS handshake failed: {exc.reason or exc}") from exc
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise ProbeRefused(exc.strerror or str(exc)) from exc
        if exc.errno == errno.ECONNRESET and not tls:
            raise ResetAfterConnect("connection reset right after the handshake") from exc
        raise ProbeClosed(f"connect failed: {exc}") from exc
    return BoundedStream(reader, writer, limits, deadline)


class ResetAfterConnect(ProbeClosed):
    """The TCP handshake completed and the peer reset at once.

    A reset *in reply to* a SYN is ECONNREFUSED; ECONNRESET while connecting means a listener
    accepted, so the port is open. Whether the reset arrives before the event loop resumes
    the connect is a race, so without this distinction the same device is counted
    differently from one run to the next.
    """
