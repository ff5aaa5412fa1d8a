"""What one reassembled TCP conversation says about its server and its client.

The protocol is recognised from the bytes, not the port (HTTP on 8000, RTSP on 10554 and
TLS anywhere are common); the port only decides between binary vendor protocols that have
no magic of their own. Replies are parsed by :mod:`provscan.wire` and mapped by the
observation layer (:mod:`provscan.observations`) the active probes use, so a passive
observation has the same field and value as the active one and the same fingerprints apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable
from urllib.parse import unquote

from provscan.errors import ProtocolError
from provscan.knowledge.schema import HttpEndpoint
from provscan.model import AttemptStatus, Observation
from provscan.observations import banner as observe_banner
from provscan.observations import dahua as observe_dahua
from provscan.observations import hik_sdk as observe_hik_sdk
from provscan.observations import http as observe_http
from provscan.observations import onvif as observe_onvif
from provscan.observations import rtsp as observe_rtsp
from provscan.observations import tls as observe_tls
from provscan.observations import upnp as observe_upnp
from provscan.observations import xiongmai as observe_xiongmai
from provscan.passive.reassembly import Direction, Flow
from provscan.wire import dahua, xiongmai
from provscan.wire import http1 as http_wire
from provscan.wire import onvif as onvif_wire
from provscan.wire import rtsp as rtsp_wire
from provscan.wire import upnp as upnp_wire
from provscan.wire.tls import client_hello_sni, looks_like_tls, parse_certificate, server_handshake

#: Request/response pairs read from one conversation (keep-alive connections).
MAX_MESSAGES_PER_FLOW = 16
#: Longest request context (``GET /path``) kept in an observation's detail.
MAX_CONTEXT_CHARS = 200
#: Bytes of a server-first stream read as its banner (the active banner probe reads 1 KiB).
BANNER_BYTES = 4096

_HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ")
_RTSP_METHODS = (b"OPTIONS ", b"DESCRIBE ", b"SETUP ", b"PLAY ", b"TEARDOWN ", b"GET_PARAMETER ")
PORT_HIK_SDK = 8000
PORT_XIONGMAI = 34567
DVRIP_PORTS = frozenset({37777, 5000})


class FactSink(Protocol):
    """Where conversation facts go (the host table)."""

    def observe(
        self, ip: str, observation: Observation, packet: int, time: float, detail: str | None = None
    ) -> None: ...

    def contacted(self, ip: str, name: str, how: str, packet: int, time: float) -> None: ...

    def attempt(
        self, ip: str, port: int, probe: str, status: AttemptStatus, error: str
    ) -> None: ...

    def catch_all(self, ip: str, port: int, status: int) -> None: ...


@runtime_checkable
class ControlSink(Protocol):
    """A sink that also keeps the control answers of HTTP servers (the host table does; a
    sink without :meth:`control` gets none)."""

    def control(
        self, ip: str, port: int, request: str, status: int, packet: int, time: float
    ) -> None: ...


#: A vendor endpoint's "exists but protected" answers. In a capture one counts as the vendor's
#: (its ``http.endpoint`` rule) only beside a control answer of the same server
#: (:data:`CONTROL_STATUSES`): without one the server may answer every path so.
PROTECTED_STATUSES = frozenset({401, 403})
#: Answers to a path no vendor endpoint names that make it a control for the vendor paths'
#: "exists but protected" answers (:data:`PROTECTED_STATUSES`): the server is seen not to
#: answer every path alike (a "no such page" status, as the live canary's, or a page). The
#: live probe's set (:data:`provscan.observations.http.CONTROL_STATUSES`).
CONTROL_STATUSES = observe_http.CONTROL_STATUSES
#: Request headers that carry credentials: a request with one is no control (a server that
#: asks every anonymous request for a password answers an authenticated one with 200 or 404).
CREDENTIAL_HEADERS = ("Authorization", "Cookie")


@dataclass(frozen=True)
class DirectoryControls:
    """The vendor endpoints that need a *directory control* (``directory_control`` in
    ``http_endpoints.yaml``: ``/cgi-bin/``, which generic servers protect as a whole) and
    how a capture shows one: the same server answered another request in that directory.

    The stream analyser reports such an answer as a control (:meth:`ControlSink.control`,
    the call the root controls use) and the host table files it under its directory
    (:meth:`directory_of`); the table learns these from the analyser (:class:`DirectorySink`).
    """

    #: The directory (``/cgi-bin/``) of each endpoint path that has a directory control.
    by_endpoint: Mapping[str, str]
    #: provscan's own control path in each such directory (the live probe asks it).
    requests: Mapping[str, str]
    #: The vendor endpoints' paths without their queries: never a control of a directory.
    vendor_paths: frozenset[str]

    @classmethod
    def of(cls, endpoints: Mapping[str, HttpEndpoint]) -> DirectoryControls:
        """Those of ``endpoints`` (by path, as the HTTP probe requests them)."""
        by_endpoint: dict[str, str] = {}
        requests: dict[str, str] = {}
        for path, endpoint in endpoints.items():
            if endpoint.directory_control:
                directory = endpoint.directory_control.rpartition("/")[0] + "/"
                by_endpoint[path] = directory
                requests.setdefault(directory, endpoint.directory_control)
        vendor_paths = frozenset(path.split("?", 1)[0] for path in endpoints)
        return cls(by_endpoint, requests, vendor_paths)

    def directory_of(self, path: str) -> str | None:
        """The directory with a directory control that ``path`` (a request's, query and all)
        lies in, when it is no vendor endpoint's path and names no other directory (``..``,
        ``.``, ``//`` or a backslash: a server may resolve it elsewhere); else None."""
        if not self.requests:
            return None
        part = path.split("?", 1)[0]
        if part in self.vendor_paths:
            return None
        for directory in self.requests:
            if part.startswith(directory):
                plain = unquote(part)
                if "//" in plain or "\\" in plain or {".", ".."} & set(plain.split("/")):
                    return None
                return directory
        return None


@runtime_checkable
class DirectorySink(Protocol):
    """A control sink that files a directory's control answers apart (the host table): the
    stream analyser tells it which directories have one when it is made."""

    def directory_controls(self, directories: DirectoryControls) -> None: ...


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    offset: int
    #: The first value of each header by lowercased name (made once per request).
    first: Mapping[str, str]


def _head_end(data: bytes, start: int) -> tuple[int, int] | None:
    """(end of head, start of body) of the message starting at ``start``."""
    crlf = data.find(b"\r\n\r\n", start)
    lf = data.find(b"\n\n", start)
    if crlf < 0 and lf < 0:
        return None
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, crlf + 4
    return lf, lf + 2


_Response = TypeVar("_Response")


def _content_length(first: Mapping[str, str]) -> int:
    value = (first.get("content-length") or "").strip()
    # ASCII digits only: '²' (a Latin-1 byte) is a digit to str.isdigit and not to int()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else 0


def parse_requests(data: bytes) -> Iterator[Request]:
    """HTTP or RTSP requests of a client stream, in order (heads only; bodies skipped)."""
    position = 0
    for _ in range(MAX_MESSAGES_PER_FLOW):
        while position < len(data) and data[position : position + 1] in (b"\r", b"\n"):
            position += 1
        bounds = _head_end(data, position)
        if bounds is None:
            return
        head_end, body_start = bounds
        lines = data[position:head_end].decode("latin-1").replace("\r\n", "\n").split("\n")
        parts = lines[0].split(" ")
        if len(parts) < 3:
            return
        headers: list[tuple[str, str]] = []
        for line in lines[1:64]:
            key, colon, value = line.partition(":")
            if colon:
                headers.append((key.strip(), value.strip()))
        first = {key.lower(): value for key, value in reversed(headers)}
        yield Request(parts[0], parts[1], headers, position, first)
        position = body_start + _content_length(first)


def _response_spans(data: bytes) -> Iterator[tuple[int, int, tuple[int, int] | None]]:
    """(offset, end, head bounds) of each response of a server stream, framed by
    Content-Length: it is ``data[offset:end]``; the bounds are :func:`_head_end`'s (None
    when its head has no end)."""
    position = 0
    for _ in range(MAX_MESSAGES_PER_FLOW):
        while position < len(data) and data[position : position + 1] in (b"\r", b"\n"):
            position += 1
        if position >= len(data):
            return
        bounds = _head_end(data, position)
        if bounds is None:
            yield position, len(data), None
            return
        head_end, body_start = bounds
        head = data[position:head_end].decode("latin-1")
        lowered = head.lower()
        length: int | None = None
        if "content-length" in lowered:  # (only the lines that name it can)
            for line in lowered.split("\n")[1:]:
                if "content-length" not in line:
                    continue
                key, colon, value = line.partition(":")
                digits = value.strip()
                if (
                    colon
                    and key.strip() == "content-length"
                    and digits.isascii()
                    and digits.isdigit()
                ):
                    length = int(digits[:12])
        status_code = head[9:12] if len(head) >= 12 else ""
        # RTSP (RFC 2326 s.12.14, RFC 7826 s.18.17): no Content-Length means no body, so a
        # reply without one is followed by the next (the 401 after an OPTIONS reply).
        bodiless = head.startswith("RTSP/") or status_code.startswith("1")
        if length is None and not (bodiless or status_code in ("204", "304")):
            yield position, len(data), bounds  # chunked or close-delimited: the last one
            return
        end = body_start + (length or 0)
        yield position, end, bounds
        position = end


def _parsed_responses(
    data: bytes, parse: Callable[[bytes], _Response]
) -> tuple[list[tuple[int, _Response]], str]:
    """(offset, response) of each response of a server stream up to the first that does not
    parse, and what was wrong with that one ("" when all parsed)."""
    parsed: list[tuple[int, _Response]] = []
    for index, (offset, end, _) in enumerate(_response_spans(data)):
        try:
            parsed.append((offset, parse(data[offset:end])))
        except ProtocolError as exc:
            return parsed, f"response {index + 1}: {exc}"
    return parsed, ""


def _parsed_http_responses(
    data: bytes,
) -> tuple[list[tuple[int, http_wire.HttpResponse]], str]:
    """:func:`_parsed_responses` with :func:`provscan.wire.http1.parse_response`, each head
    split where its span's was found (the same split: ``split_head``'s earliest blank line,
    a bare ``\\n\\r\\n`` included) rather than searched for again over the body."""
    parsed: list[tuple[int, http_wire.HttpResponse]] = []
    for index, (offset, end, bounds) in enumerate(_response_spans(data)):
        try:
            if bounds is None or data[offset] in b" \t":
                # no head end, or whitespace that parse_response strips first: its own way
                response = http_wire.parse_response(data[offset:end])
            else:
                head_end, body_start = bounds
                bare = data.find(b"\n\r\n", offset, head_end + 2)
                if bare >= 0:  # an LF line, then a CRLF blank line: split_head ends there
                    head_end, body_start = bare, bare + 3
                head = data[offset:head_end]
                response = http_wire.parse_split_response(head, data[body_start:end])
            parsed.append((offset, response))
        except ProtocolError as exc:
            return parsed, f"response {index + 1}: {exc}"
    return parsed, ""


def _path_only(target: str) -> str:
    """``http://host:80/a?b`` (proxy form) → ``/a?b``; origin-form targets stay as they are."""
    if target.startswith(("http://", "https://", "rtsp://")):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"
    return target


class StreamAnalyser:
    """Turns a finished :class:`Flow` into observations about its two hosts."""

    def __init__(
        self,
        sink: FactSink,
        endpoints: Mapping[str, HttpEndpoint],
        path_prefixes: Mapping[str, str],
    ) -> None:
        self.sink = sink
        #: Where control answers go (None: the sink does not keep them).
        self._control = sink.control if isinstance(sink, ControlSink) else None
        #: Vendor endpoints (``http_endpoints.yaml``) by path, as the HTTP probe requests them.
        self.endpoints = dict(endpoints)
        #: Body extractor by path prefix (``http_endpoints.yaml`` ``passive_path_prefixes``)
        #: for replies to requests no endpoint names.
        self.path_prefixes = dict(path_prefixes)
        # the longest prefix first: the most specific one wins
        self._by_prefix = sorted(self.path_prefixes.items(), key=lambda item: -len(item[0]))
        #: The directories whose vendor endpoints need a control in the same directory.
        self.directories = DirectoryControls.of(self.endpoints)
        if isinstance(sink, DirectorySink):
            sink.directory_controls(self.directories)

    def implied_extractor(self, path: str) -> str | None:
        """How to read a reply to a request no vendor endpoint names, by its path's longest
        prefix in the knowledge (None: no vendor reader)."""
        for prefix, extractor in self._by_prefix:
            if path.startswith(prefix):
                return extractor
        return None

    # -- helpers ------------------------------------------------------------------------

    def _emit(
        self,
        ip: str,
        observations: list[Observation],
        direction: Direction,
        offset: int,
        context: str = "",
    ) -> None:
        number, time = direction.packet_at(offset)
        observe = self.sink.observe
        for observation in observations:
            detail = observation.detail
            if context and context not in detail:
                detail = f"{context}; {detail}" if detail else context
            # The detail goes beside the observation (no copy; the host table keeps it).
            observe(ip, observation, number, time, detail)

    def _attempt(self, flow: Flow, probe: str, status: AttemptStatus, error: str = "") -> None:
        if flow.to_client.gap or flow.to_server.gap:
            gap = "a hole in the TCP stream was never filled (lost or unseen segments)"
            error = f"{error}; {gap}" if error else gap
            if status is AttemptStatus.OK:
                status = AttemptStatus.TRUNCATED
        elif flow.to_client.snaplen_cut:
            cut = "the capture's snaplen cut the reply"
            error = f"{error}; {cut}" if error else cut
            if status is AttemptStatus.OK:
                status = AttemptStatus.TRUNCATED
        self.sink.attempt(flow.server_ip, flow.server_port, probe, status, error)

    # -- dispatch -----------------------------------------------------------------------

    def analyse(self, flow: Flow) -> None:
        """Analyse one conversation. A parser bug on hostile bytes costs that flow only."""
        try:
            self._analyse(flow)
        except Exception as exc:  # a device's bytes must never stop the analysis
            self.sink.attempt(
                flow.server_ip,
                flow.server_port,
                "passive-stream",
                AttemptStatus.ERROR,
                f"unexpected {type(exc).__name__} while parsing: {exc}"[:300],
            )

    def _analyse(self, flow: Flow) -> None:
        client = flow.to_server.data
        server = flow.to_client.data
        if looks_like_tls(client) or looks_like_tls(server):
            self._tls(flow, client, server)
        elif server.startswith(b"HTTP/") or (not server and client.startswith(_HTTP_METHODS)):
            self._http(flow, client, server)
        elif server.startswith(b"RTSP/") or (
            not server and client.startswith(_RTSP_METHODS) and b"RTSP/1" in client[:512]
        ):
            self._rtsp(flow, client, server)
        elif server.startswith(dahua.DHIP_PREFIX):
            self._dhip(flow, server)
        elif server:
            self._binary(flow, client, server)

    # -- TLS ----------------------------------------------------------------------------

    def _tls(self, flow: Flow, client: bytes, server: bytes) -> None:
        name = client_hello_sni(client)
        if name:
            number, time = flow.to_server.first_packet, flow.to_server.first_time
            for observation in observe_tls.client_hello_observations(
                name, flow.server_port, flow.server_ip
            ):
                self.sink.observe(flow.client_ip, observation, number, time)
            self.sink.contacted(flow.client_ip, name, "TLS SNI", number, time)
        if not server:
            return
        handshake = server_handshake(server)
        if handshake.is_tls13:
            self._attempt(
                flow, "passive-tls", AttemptStatus.OK, "TLS 1.3: the certificate is encrypted"
            )
            return
        if not handshake.certificates:
            self._attempt(flow, "passive-tls", AttemptStatus.TRUNCATED, "no certificate seen")
            return
        try:  # cryptography parses some fields lazily: ValueError may come late
            certificate = parse_certificate(handshake.certificates[0])
            observations = observe_tls.certificate_observations(certificate, flow.server_port)
        except (ProtocolError, ValueError) as exc:
            self._attempt(flow, "passive-tls", AttemptStatus.MALFORMED, str(exc))
            return
        self._emit(flow.server_ip, observations, flow.to_client, 0)
        self._attempt(flow, "passive-tls", AttemptStatus.OK)

    # -- HTTP ---------------------------------------------------------------------------

    def _http(self, flow: Flow, client: bytes, server: bytes) -> None:
        requests = list(parse_requests(client))
        for request in requests:
            path = _path_only(request.target)
            context = f"{request.method} {path}"[:MAX_CONTEXT_CHARS]
            self._emit(
                flow.client_ip,
                observe_http.request_observations(
                    request.headers, flow.server_port, f"to {flow.server_ip}", request.first
                ),
                flow.to_server,
                request.offset,
                context,
            )
            host = request.first.get("host")
            if host:
                number, time = flow.to_server.packet_at(request.offset)
                self.sink.contacted(
                    flow.client_ip, host.rsplit(":", 1)[0], "HTTP Host", number, time
                )
        if not server:
            return
        responses, error = _parsed_http_responses(server)
        # (status, directory or None) reported as controls for this conversation: the first
        # answer of each status, and the first of each status in each directory that has a
        # directory control (it counts for the status too: the root controls are as before).
        controls: set[tuple[int, str | None]] = set()
        for index, (offset, response) in enumerate(responses):
            asked = requests[index] if index < len(requests) else None
            method = asked.method if asked else "?"
            path = _path_only(asked.target) if asked else "?"
            self._http_response(flow, response, method, path, offset)
            if (
                asked is not None
                and self._control is not None
                and response.status in CONTROL_STATUSES
                and path not in self.endpoints
                and (response.status, self.directories.directory_of(path)) not in controls
                and not any(asked.first.get(name.lower()) for name in CREDENTIAL_HEADERS)
            ):
                controls.add((response.status, None))
                controls.add((response.status, self.directories.directory_of(path)))
                number, time = flow.to_client.packet_at(offset)
                line = f"{method} {path}"[:MAX_CONTEXT_CHARS]
                self._control(flow.server_ip, flow.server_port, line, response.status, number, time)
        if responses:
            self._attempt(flow, "passive-http", AttemptStatus.OK, error)
        else:
            self._attempt(flow, "passive-http", AttemptStatus.MALFORMED, error or "no response")

    def _http_response(
        self, flow: Flow, response: http_wire.HttpResponse, method: str, path: str, offset: int
    ) -> None:
        port = flow.server_port
        endpoint = self.endpoints.get(path)
        context = f"{method} {path}"[:MAX_CONTEXT_CHARS]
        observations = [
            o
            for o in observe_http.response_observations(response, port, path)
            if o.field != "http.body" or endpoint is None or endpoint.extractor == "text"
        ]
        if path == observe_http.CANARY_PATH and observe_http.is_catch_all(response.status):
            self.sink.catch_all(flow.server_ip, port, response.status)
        if endpoint is not None and method == endpoint.method:
            observations.append(
                observe_http.endpoint_observation(method, path, response.status, port, endpoint.id)
            )
        extractor = endpoint.extractor if endpoint is not None else self.implied_extractor(path)
        body = response.body
        if extractor in observe_http.BODY_EXTRACTORS:
            observations += observe_http.extractor_observations(extractor, body, port, path)
        elif b"Envelope" in body[:4096]:
            observations += _onvif_observations(port, response)
        elif b"urn:schemas-upnp-org:device-1-0" in body[:4096]:
            observations += _upnp_observations(port, body)
        if path == "/favicon.ico":
            observations += observe_http.favicon_observations(response, port)
        number, time = flow.to_client.packet_at(offset)
        observe = self.sink.observe
        for observation in observations:
            detail = (
                context if observation.detail in (path, "") else f"{context}; {observation.detail}"
            )
            observe(flow.server_ip, observation, number, time, detail)

    # -- RTSP ---------------------------------------------------------------------------

    def _rtsp(self, flow: Flow, client: bytes, server: bytes) -> None:
        methods = []
        for request in parse_requests(client):
            methods.append(request.method)
            self._emit(
                flow.client_ip,
                observe_rtsp.request_observations(
                    request.headers, flow.server_port, f"to {flow.server_ip}"
                ),
                flow.to_server,
                request.offset,
                request.method,
            )
        if not server:
            return
        responses, error = _parsed_responses(server, rtsp_wire.parse_response)
        for index, (offset, response) in enumerate(responses):
            method = methods[index] if index < len(methods) else "?"
            self._emit(
                flow.server_ip,
                observe_rtsp.response_observations(flow.server_port, method, response),
                flow.to_client,
                offset,
            )
        status = AttemptStatus.OK if responses else AttemptStatus.MALFORMED
        self._attempt(flow, "passive-rtsp", status, error)

    # -- Dahua DHIP/DVRIP, Hikvision SDK, Xiongmai, banners -----------------------------

    def _dhip(self, flow: Flow, server: bytes) -> None:
        port = flow.server_port
        header = server[: dahua.HEADER_BYTES]
        observations = [observe_dahua.reply_observation(port, header)]
        status, error = AttemptStatus.OK, ""
        try:
            parsed = dahua.parse_dhip_header(header)
            payload = server[dahua.HEADER_BYTES : dahua.HEADER_BYTES + parsed.payload_length]
            reply = dahua.parse_login_reply(payload)
        except ProtocolError as exc:
            status, error = AttemptStatus.MALFORMED, str(exc)
        else:
            observations += observe_dahua.login_reply_observations(port, reply)
        self._emit(flow.server_ip, observations, flow.to_client, 0)
        self._attempt(flow, "passive-dahua-dvrip", status, error)

    def _binary(self, flow: Flow, client: bytes, server: bytes) -> None:
        port = flow.server_port
        observations: list[Observation] = []
        probe = "passive-banner"
        status, error = AttemptStatus.OK, ""
        if port == PORT_HIK_SDK:
            probe = "passive-hik-sdk"
            observations += observe_hik_sdk.reply_observations(port, server)
        elif port == PORT_XIONGMAI:
            probe = "passive-xiongmai"
            try:
                header = xiongmai.parse_header(server[: xiongmai.HEADER_BYTES])
            except ProtocolError as exc:
                status, error = AttemptStatus.MALFORMED, f"not a Sofia reply: {exc}"
            else:
                start = xiongmai.HEADER_BYTES
                message = xiongmai.SofiaMessage(header, server[start : start + header.data_length])
                observations += observe_xiongmai.reply_observations(port, server[:start], message)
        elif port in DVRIP_PORTS:
            probe = "passive-dahua-dvrip"
            observations.append(observe_dahua.reply_observation(port, server))
        elif not client or flow.to_client.first_packet < flow.to_server.first_packet:
            # The server spoke first: a banner (telnet, FTP, SSH, DVR consoles). It is in the
            # first bytes; the rest of a long stream (video picked up mid-way) is not read.
            detail = f"{len(server)} bytes seen"
            observations += observe_banner.banner_observations(port, server[:BANNER_BYTES], detail)
        else:
            return  # an unknown protocol: nothing to say, nothing to report
        self._emit(flow.server_ip, observations, flow.to_client, 0)
        self._attempt(flow, probe, status, error)


def _upnp_observations(port: int, body: bytes) -> list[Observation]:
    """A UPnP device description (what ``provscan discover`` fetches after SSDP)."""
    try:
        device = upnp_wire.parse_description(body)
    except ProtocolError:
        return []
    return observe_upnp.description_observations(device, port)


def _onvif_observations(port: int, response: http_wire.HttpResponse) -> list[Observation]:
    """A SOAP reply of the ONVIF device service; the call is judged by the answer."""
    try:
        reply = onvif_wire.parse_response(response.body)
    except ProtocolError:
        return []
    operation = (
        "GetDeviceInformation" if reply.device_information is not None else "GetSystemDateAndTime"
    )
    return observe_onvif.response_observations(port, operation, response.status, reply)
