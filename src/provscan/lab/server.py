"""The lab engine: serves every personality's services on its loopback address.

One asyncio server per (device address, service port). Each connection runs the responder
registered for the service's protocol inside a guard: a responder that raises is logged and
its connection closed, a connection that outlives ``connection_lifetime_s`` is cut, and the
lab itself never stops serving because of one device. Every connection is also recorded
(device, port, first bytes received) so tests can assert what a scan actually sent.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, SupportsIndex, cast

import yaml
from pydantic import ValidationError

from provscan.errors import LabError
from provscan.lab.certs import CERTIFICATES
from provscan.lab.responders import (
    get_responder,
    get_udp_module,
    is_udp_protocol,
    known_protocols,
    known_udp_protocols,
)
from provscan.lab.spec import DeviceSpec, PersonalityFile, ServiceSpec

logger = logging.getLogger("provscan.lab")

#: How many connection records a lab keeps (oldest dropped first).
RECORD_LIMIT = 10_000
#: Bytes of each connection's first input kept in its record.
RECORD_BYTES = 1024
#: A connection older than this is closed whatever its responder is doing.
CONNECTION_LIFETIME_S = 300.0
#: How long ``stop()`` waits for responders to finish after cancelling them.
STOP_GRACE_S = 5.0

PersonalitySource = str | Path | DeviceSpec | PersonalityFile


# --- personalities ---------------------------------------------------------------------


def bundled_personality_paths() -> list[Path]:
    """The personality files shipped with provscan, sorted by name."""
    folder = resources.files("provscan.lab") / "personalities"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def load_personality_file(path: str | Path) -> PersonalityFile:
    """Parse and validate one personality YAML file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return PersonalityFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise LabError(f"cannot load lab personality file {path}: {exc}") from exc


def _resolve_source(source: str | Path) -> Path:
    path = Path(source)
    if path.exists():
        return path
    # A bare family name ("hikvision") picks the bundled file of that name.
    for candidate in bundled_personality_paths():
        if candidate.stem == str(source):
            return candidate
    raise LabError(f"no lab personality file or bundled family named {source!r}")


def load_devices(personalities: Iterable[PersonalitySource] | None = None) -> list[DeviceSpec]:
    """Devices from files, bundled family names, PersonalityFiles or DeviceSpecs.

    ``None`` means every bundled personality file.
    """
    sources: Iterable[PersonalitySource] = (
        bundled_personality_paths() if personalities is None else personalities
    )
    devices: list[DeviceSpec] = []
    for source in sources:
        if isinstance(source, DeviceSpec):
            devices.append(source)
        elif isinstance(source, PersonalityFile):
            devices.extend(source.devices)
        else:
            devices.extend(load_personality_file(_resolve_source(source)).devices)
    validate_devices(devices)
    return devices


def validate_devices(devices: Sequence[DeviceSpec]) -> None:
    """Reject duplicate ids/endpoints, unknown protocols and bad responder options."""
    protocols = set(known_protocols())
    seen_ids: set[str] = set()
    seen_endpoints: set[tuple[str, int]] = set()
    for device in devices:
        if device.id in seen_ids:
            raise LabError(f"duplicate lab device id {device.id!r}")
        seen_ids.add(device.id)
        for service in device.services:
            endpoint = (device.address, service.port)
            if endpoint in seen_endpoints:
                raise LabError(f"two lab services on {device.address}:{service.port}")
            seen_endpoints.add(endpoint)
            if service.protocol not in protocols:
                raise LabError(
                    f"device {device.id}: unknown protocol {service.protocol!r} "
                    f"(known: {', '.join(sorted(protocols))})"
                )
            _validate_options(device, service)
        seen_udp: set[int] = set()
        for service in device.discovery:
            if not is_udp_protocol(service.protocol):
                raise LabError(
                    f"device {device.id}: unknown discovery protocol {service.protocol!r} "
                    f"(known: {', '.join(known_udp_protocols())})"
                )
            if service.port in seen_udp:
                raise LabError(f"two lab UDP services on {device.address}:{service.port}")
            seen_udp.add(service.port)
            _validate_options(device, service)


def _validate_options(device: DeviceSpec, service: ServiceSpec) -> None:
    """Let responders that can check their options do so before anything listens."""
    try:
        if is_udp_protocol(service.protocol):
            module = get_udp_module(service.protocol)
        else:
            responder = get_responder(service.protocol)
            module = sys.modules[getattr(responder, "__module__", "")]
    except Exception as exc:  # a responder module missing or broken fails per connection
        logger.warning("lab responder %s unavailable: %s", service.protocol, exc)
        return
    check = getattr(module, "validate_options", None)
    if check is None:
        return
    try:
        check(service.options)
    except (ValidationError, ValueError) as exc:
        raise LabError(
            f"device {device.id}: bad options for {service.protocol} on port {service.port}: {exc}"
        ) from exc


def generate_bench_lab(
    n_devices: int, base: str = "127.88.0.0", *, include_hostile: bool = False
) -> list[DeviceSpec]:
    """Clone bundled personalities onto ``n_devices`` sequential loopback addresses.

    The first clone sits at ``base + 1`` (so ``ip_network(base/…).hosts()`` covers all of
    them); personalities are taken round-robin in bundled order.
    """
    if n_devices < 0:
        raise ValueError("n_devices must be >= 0")
    templates = [
        device for device in load_devices(None) if include_hostile or not device.expect.hostile
    ]
    first = ipaddress.ip_address(base) + 1
    clones: list[DeviceSpec] = []
    for index in range(n_devices):
        template = templates[index % len(templates)]
        address = first + index
        if not address.is_loopback:
            raise ValueError(f"bench lab would leave loopback at device {index}: {address}")
        clones.append(
            template.model_copy(
                update={"id": f"bench-{index:04d}-{template.id}", "address": str(address)}
            )
        )
    return clones


# --- recording -------------------------------------------------------------------------


#: Why a device's port could not be bound: the lab listens on the devices' real ports.
LOW_PORTS_DENIED = "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"


@dataclass(frozen=True)
class LabRequest:
    """One connection a lab device received, with the first bytes the client sent."""

    device_id: str
    address: str
    port: int
    protocol: str
    first_bytes: bytes
    received_at: float

    @property
    def first_line(self) -> str:
        """The first line sent (e.g. an HTTP request line), latin-1, without CRLF."""
        return self.first_bytes.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")


class Endpoint(NamedTuple):
    device_id: str
    address: str
    port: int
    protocol: str


class _RecordingReader(asyncio.StreamReader):
    """A StreamReader that remembers the first bytes fed to it (after TLS decryption)."""

    def __init__(self, on_first_data: Any, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self._on_first_data = on_first_data
        self.seen_data = False

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:
        if not self.seen_data:
            data = bytes(data)
            if data:
                self.seen_data = True
                self._on_first_data(data[:RECORD_BYTES])
        super().feed_data(data)


class _TrackedProtocol(asyncio.StreamReaderProtocol):
    """Keeps each live transport in a set so ``Lab.stop()`` can close stragglers."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        on_connect: Any,
        loop: asyncio.AbstractEventLoop,
        live: set[asyncio.BaseTransport],
    ) -> None:
        super().__init__(reader, on_connect, loop=loop)
        self._live = live
        self._tracked: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._tracked = transport
        self._live.add(transport)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._tracked is not None:
            self._live.discard(self._tracked)
        super().connection_lost(exc)


# --- the lab ---------------------------------------------------------------------------


class Lab:
    """Emulated devices on loopback addresses. Use ``start()``/``stop()`` in one event loop,
    or :func:`run_lab_in_thread` from synchronous code."""

    def __init__(
        self,
        personalities: Iterable[PersonalitySource] | None = None,
        *,
        record_limit: int = RECORD_LIMIT,
        connection_lifetime_s: float = CONNECTION_LIFETIME_S,
    ) -> None:
        self.devices: list[DeviceSpec] = load_devices(personalities)
        self.connection_lifetime_s = connection_lifetime_s
        self._record: collections.deque[LabRequest] = collections.deque(maxlen=record_limit)
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[Any]] = set()
        self._transports: set[asyncio.BaseTransport] = set()
        self._udp_transports: list[asyncio.DatagramTransport] = []
        self._running = False
        self._stopping = False

    # -- public API

    @property
    def running(self) -> bool:
        return self._running

    @property
    def record(self) -> list[LabRequest]:
        """A snapshot of the connections received so far, oldest first (bounded)."""
        return list(self._record)

    def clear_record(self) -> None:
        self._record.clear()

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(device.id, device.address, service.port, service.protocol)
            for device in self.devices
            for service in (*device.services, *device.discovery)
        ]

    def device(self, device_id: str) -> DeviceSpec:
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    async def start(self) -> None:
        """Listen on every endpoint. Raises LabError naming the address:port that failed."""
        if self._running:
            return
        loop = asyncio.get_running_loop()
        try:
            for device in self.devices:
                for service in device.services:
                    self._servers.append(await self._serve(loop, device, service))
                for service in device.discovery:
                    self._udp_transports.append(await self._serve_udp(loop, device, service))
        except BaseException:
            await self._close_servers()
            raise
        self._running = True
        logger.info("lab listening on %d endpoints", len(self._servers))

    async def stop(self) -> None:
        """Stop listening, cancel open connections and wait for them to close."""
        self._stopping = True
        # Let connections the loop has already accepted get their transports first: on
        # Python 3.11 a transport created after Server.close() fails an assertion and leaks
        # its socket.
        for _ in range(3):
            await asyncio.sleep(0)
        for server in self._servers:
            server.close()
        # A connection accepted just before close() may not have reached its handler yet:
        # keep cancelling handlers and aborting transports until none is left.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE_S
        while loop.time() < deadline:
            await asyncio.sleep(0.01)
            tasks = list(self._connections)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for transport in list(self._transports):
                if isinstance(transport, asyncio.Transport):
                    transport.abort()
                else:
                    transport.close()
            if not tasks and not self._transports:
                break
        await self._close_servers()
        self._running = False
        self._stopping = False

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- internals

    async def _close_servers(self) -> None:
        udp, self._udp_transports = self._udp_transports, []
        for transport in udp:
            transport.close()
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for server in servers:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), STOP_GRACE_S)

    async def _serve(
        self, loop: asyncio.AbstractEventLoop, device: DeviceSpec, service: ServiceSpec
    ) -> asyncio.Server:
        ssl_context = CERTIFICATES.server_context(service.tls) if service.tls else None

        def protocol_factory() -> asyncio.StreamReaderProtocol:
            reader = _RecordingReader(
                lambda data: self._remember(device, service, data), 2**16, loop
            )

            async def on_connect(
                reader_: asyncio.StreamReader, writer: asyncio.StreamWriter
            ) -> None:
                await self._handle(reader_, writer, device, service)

            return _TrackedProtocol(reader, on_connect, loop, self._transports)

        try:
            # Equivalent to asyncio.start_server(host=device.address, ...), with a reader
            # that records the first bytes of each connection.
            return await loop.create_server(
                protocol_factory,
                host=device.address,
                port=service.port,
                ssl=ssl_context,
                reuse_address=True,
                backlog=256,
            )
        except PermissionError as exc:
            raise LabError(
                f"cannot bind lab device {device.id} on {device.address}:{service.port}: "
                f"{LOW_PORTS_DENIED}"
            ) from exc
        except OSError as exc:
            reason = {
                errno.EADDRINUSE: (
                    "address already in use (is the lab already running? `provscan lab down` "
                    "stops it; or scan the running lab: `provscan scan 127.77.0.0/16`)"
                ),
                errno.EADDRNOTAVAIL: "address not available (is it a loopback alias here?)",
                errno.EACCES: LOW_PORTS_DENIED,
            }.get(exc.errno or 0, str(exc))
            raise LabError(
                f"cannot bind lab device {device.id} on {device.address}:{service.port}: {reason}"
            ) from exc

    async def _serve_udp(
        self, loop: asyncio.AbstractEventLoop, device: DeviceSpec, service: ServiceSpec
    ) -> asyncio.DatagramTransport:
        """One UDP responder. On loopback it binds the device address (unicast only). On any
        other address it must run inside a test network namespace: it then binds the
        port on the device's interface only and joins the protocol's multicast group there."""
        module = get_udp_module(service.protocol)
        sock = _udp_socket(device, service, getattr(module, "MULTICAST_GROUP", None))
        lab = self

        class _Responder(asyncio.DatagramProtocol):
            transport: asyncio.DatagramTransport | None = None

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)

            def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
                lab._remember(device, service, data[:RECORD_BYTES])
                try:
                    reply = module.answer(data, device, service)
                except Exception:  # one bad datagram never stops the lab
                    logger.exception("lab UDP responder %s failed", service.protocol)
                    return
                if reply is not None and self.transport is not None:
                    self.transport.sendto(reply, addr)

        transport, _ = await loop.create_datagram_endpoint(_Responder, sock=sock)
        return transport

    def _remember(self, device: DeviceSpec, service: ServiceSpec, data: bytes) -> None:
        self._record.append(
            LabRequest(
                device_id=device.id,
                address=device.address,
                port=service.port,
                protocol=service.protocol,
                first_bytes=data,
                received_at=time.time(),
            )
        )

    async def _handle(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        device: DeviceSpec,
        service: ServiceSpec,
    ) -> None:
        """The per-connection guard around a responder."""
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            if self._stopping:
                return
            peer = writer.get_extra_info("peername")
            device_on_loopback = ipaddress.ip_address(device.address).is_loopback
            if peer and device_on_loopback and not ipaddress.ip_address(peer[0]).is_loopback:
                # Cannot happen while we bind loopback only; refuse loudly if it ever does.
                # (Devices placed off loopback exist only inside test network namespaces.)
                logger.error("lab refused non-loopback peer %s", peer[0])
                return
            responder = get_responder(service.protocol)
            async with asyncio.timeout(self.connection_lifetime_s):
                await responder(reader, writer, device, service)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # clients hang up and time out all the time; that is not a lab fault
        except asyncio.CancelledError:
            # Lab stopping. End the connection task normally: on Python 3.11 a cancelled
            # StreamReaderProtocol callback task makes asyncio log a spurious error.
            pass
        except Exception:
            logger.exception(
                "lab responder %s failed for %s on port %d",
                service.protocol,
                device.id,
                service.port,
            )
        finally:
            if isinstance(reader, _RecordingReader) and not reader.seen_data:
                self._remember(device, service, b"")
            if task is not None:
                self._connections.discard(task)
            if not writer.is_closing():
                writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


# --- a lab in a background thread ------------------------------------------------------


@contextlib.contextmanager
def run_lab_in_thread(
    personalities: Iterable[PersonalitySource] | None = None, **lab_options: Any
) -> Iterator[Lab]:
    """Run a lab's event loop in a daemon thread for the duration of the ``with`` block."""
    lab = Lab(personalities, **lab_options)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(lab.start())
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        # Finalise the loop's async generators here, in its own thread: run from the caller's
        # thread it fails when that thread has an event loop running (a test's), leaving the
        # coroutine never awaited (a RuntimeWarning at some later, unrelated point).
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())

    thread = threading.Thread(target=run, name="provscan-lab", daemon=True)
    thread.start()
    started.wait()
    try:
        if failure:
            raise failure[0]
        yield lab
    finally:
        if not failure:
            asyncio.run_coroutine_threadsafe(lab.stop(), loop).result(timeout=STOP_GRACE_S + 10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()


# --- daemon helpers for the CLI --------------------------------------------------------

PID_FILE = "lab.pid"
STATE_FILE = "lab.json"
LOG_FILE = "lab.log"
UP_TIMEOUT_S = 60.0
DOWN_TIMEOUT_S = 10.0
#: Labs this process spawned, kept so they are reaped (and Popen never warns) on lab_down.
_SPAWNED: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class LabStatus:
    running: bool
    pid: int | None
    state_dir: Path
    endpoints: list[Endpoint]


def write_state(state_dir: Path, lab: Lab) -> None:
    """Write the pidfile and the endpoint list (atomically, state last)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / PID_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
    state = {
        "pid": os.getpid(),
        "started_at": time.time(),
        "endpoints": [endpoint._asdict() for endpoint in lab.endpoints()],
    }
    temporary = state_dir / (STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(state, indent=1), encoding="utf-8")
    temporary.replace(state_dir / STATE_FILE)


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _is_lab_process(pid: int) -> bool:
    """True if ``pid`` is alive and is a provscan lab (guards against recycled pids)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return b"provscan.lab" in cmdline.read_bytes()
        except OSError:
            return False
    return True


def _clear_state(state_dir: Path) -> None:
    for name in (PID_FILE, STATE_FILE):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / name).unlink()


def lab_status(state_dir: str | Path) -> LabStatus:
    state_dir = Path(state_dir)
    pid = _read_pid(state_dir)
    if pid is None or not _is_lab_process(pid):
        return LabStatus(False, None, state_dir, [])
    endpoints: list[Endpoint] = []
    try:
        state = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
        endpoints = [Endpoint(**entry) for entry in state["endpoints"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return LabStatus(True, pid, state_dir, endpoints)


def lab_up(
    state_dir: str | Path,
    personalities: Sequence[str | Path] | None = None,
    *,
    bench_devices: int = 0,
    timeout_s: float = UP_TIMEOUT_S,
) -> int:
    """Start ``python -m provscan.lab`` detached; return its pid once every server listens.

    If a lab already runs for ``state_dir`` its pid is returned unchanged.
    """
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    current = lab_status(state_dir)
    if current.running and current.pid is not None:
        return current.pid
    _clear_state(state_dir)
    command = [sys.executable, "-m", "provscan.lab", "--state-dir", str(state_dir)]
    for personality in personalities or ():
        command += ["--personality", str(personality)]
    if bench_devices:
        command += ["--bench-devices", str(bench_devices)]
    log_path = state_dir / LOG_FILE
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _SPAWNED[process.pid] = process
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (state_dir / STATE_FILE).exists():
            return process.pid
        if process.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            _SPAWNED.pop(process.pid, None)
            raise LabError(f"lab exited with status {process.returncode}:\n{tail}")
        time.sleep(0.05)
    process.terminate()
    process.wait(timeout=DOWN_TIMEOUT_S)
    _SPAWNED.pop(process.pid, None)
    raise LabError(f"lab did not start listening within {timeout_s:.0f} s (log: {log_path})")


def lab_down(state_dir: str | Path, *, timeout_s: float = DOWN_TIMEOUT_S) -> bool:
    """Stop the lab started by :func:`lab_up`. Returns False if none was running."""
    state_dir = Path(state_dir)
    pid = _read_pid(state_dir)
    if pid is None or not _is_lab_process(pid):
        _clear_state(state_dir)
        return False
    os.kill(pid, signal.SIGTERM)
    child = _SPAWNED.pop(pid, None)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _is_lab_process(pid):
        if child is not None:
            child.poll()  # reaps our own child so it does not linger as a zombie
        time.sleep(0.05)
    if _is_lab_process(pid):
        os.kill(pid, signal.SIGKILL)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=timeout_s)
    _clear_state(state_dir)
    return True


# --- UDP sockets and relocation (discovery responders) -------------------------------


def _udp_socket(device: DeviceSpec, service: ServiceSpec, group: str | None) -> socket.socket:
    from provscan.discovery.netif import in_test_network_namespace, interface_with_address

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if ipaddress.ip_address(device.address).is_loopback:
            sock.bind((device.address, service.port))
        else:
            if not in_test_network_namespace():
                raise LabError(
                    f"lab device {device.id} on {device.address}: non-loopback lab addresses "
                    "are served only inside a test network namespace"
                )
            interface = interface_with_address(device.address)
            if interface is None:
                raise LabError(f"no interface holds lab address {device.address}")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
            sock.bind(("", service.port))  # unicast, broadcast and multicast on that interface
            if group is not None:
                membership = socket.inet_aton(group) + socket.inet_aton(device.address)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise LabError(
            f"cannot bind lab UDP {service.protocol} for {device.id} on "
            f"{device.address}:{service.port}: {exc}"
        ) from exc
    except BaseException:
        sock.close()
        raise
    return sock


def relocate_devices(devices: Sequence[DeviceSpec], placements: dict[str, str]) -> list[DeviceSpec]:
    """Serve only the devices named in ``placements`` ({device id: address}), at those addresses.

    A non-loopback address is accepted only inside a test network namespace (the network
    namespace tests build), so the lab never answers on a real network.
    """
    from provscan.discovery.netif import in_test_network_namespace

    by_id = {device.id: device for device in devices}
    relocated: list[DeviceSpec] = []
    for device_id, address in placements.items():
        if device_id not in by_id:
            raise LabError(f"no lab device {device_id!r} to place")
        parsed = ipaddress.ip_address(address)
        if not parsed.is_loopback and not in_test_network_namespace():
            raise LabError(
                f"refusing to place {device_id} on {address}: outside loopback the lab runs "
                "only inside a test network namespace"
            )
        relocated.append(by_id[device_id].model_copy(update={"address": address}))
    validate_devices(relocated)
    return relocated
