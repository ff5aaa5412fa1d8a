"""Credentialed, read-only collection of model, serial and firmware (``--credentials``).

Only hosts the credentials file names get a credentialed request. What is sent depends on
what the device is, and the device is identified first (from the unauthenticated probes of
the same host):

- **A maker's API goes only to that maker's devices.** :class:`CredentialedApiCheck` is a
  device check (the scheduler plans it from the identified device, after identification, like
  the default-account check): it sends a request of ``knowledge/data/device_api.yaml`` only
  when the device's manufacturer or brand is one of that request's ``vendors`` (a documented
  relabel is attributed to its maker, e.g. an Amcrest camera to Dahua). A device of another
  maker, or of no identified maker, gets none of them.

  1. Hikvision ISAPI: ``GET /ISAPI/System/deviceInfo`` without credentials; on a ``401`` with
     a Digest challenge, the same request once with an RFC 7616 Digest ``Authorization``
     (MD5, ``qop=auth``). When it answers, ``GET /ISAPI/System/Network/EZVIZ`` the same way
     (whether the Hik-Connect/EZVIZ cloud platform is enabled).
  2. Dahua HTTP CGI: ``GET /cgi-bin/magicBox.cgi?action=getSystemInfo`` and
     ``?action=getSoftwareVersion`` (Digest as above), then
     ``GET /cgi-bin/configManager.cgi?action=getConfig&name=T2UServer`` (whether Dahua P2P is
     enabled; a *getConfig*, never a *setConfig*).

  3. The APIs read from data (``fields`` in device_api.yaml): Axis VAPIX ``param.cgi``
     (``action=list``), Hanwha SUNAPI ``deviceinfo`` (``action=view``), Uniview LAPI
     ``/LAPI/V1.0/System/DeviceInfo`` (Digest as above) and Reolink ``api.cgi?cmd=GetDevInfo``
     (the credential in the query string, as Reolink documents it: sent only over TLS). One
     :class:`DeviceApiProbe` per API and port; its replies are read by :func:`read_fields`.

- **ONVIF is the standard's, not a maker's**: :class:`CredentialedHttpProbe` sends
  ``POST /onvif/device_service`` with ``GetDeviceInformation`` and a WS-Security
  UsernameToken (PasswordDigest) — the read-only call ONVIF defines for this — on the HTTP
  ports of the hosts the credentials cover, whatever their maker, and records the reply only
  when it is an ONVIF envelope.

Never sent: Basic authentication over plain HTTP (the password would travel in clear text),
any write (``setConfig``, ``PUT``, ``DELETE``), any exploit path. Nothing from the credential
(user name or password) goes into an observation. A rejected credential is one observation
(``credentialed.auth = rejected``) and the probe does not retry it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from provscan.credentials import Credential, CredentialStore
from provscan.errors import ProtocolError
from provscan.knowledge.device_api import DeviceApiRequest, load_device_api
from provscan.model import Device, Observation
from provscan.observations import dahua as observe_dahua
from provscan.observations import http as observe_http
from provscan.observations import onvif as observe_onvif
from provscan.probes.http import fetch
from provscan.probes.interface import Probe, ProbeContext, ProbeError
from provscan.wire import onvif as onvif_wire
from provscan.wire.dahua import parse_cgi_values
from provscan.wire.digest import (
    DigestChallenge,
    digest_authorization,
    onvif_request_with_token,
    parse_digest_challenge,
    username_token_header,
)
from provscan.wire.http1 import HttpResponse

#: The makers' read-only API requests, each with its source (knowledge/data/device_api.yaml).
_API = load_device_api()
ISAPI_DEVICE_INFO = _API.path("hikvision_isapi_deviceinfo")
ISAPI_EZVIZ = _API.path("hikvision_isapi_ezviz")
DAHUA_SYSTEM_INFO = _API.path("dahua_cgi_systeminfo")
DAHUA_SOFTWARE_VERSION = _API.path("dahua_cgi_softwareversion")
DAHUA_P2P_CONFIG = _API.path("dahua_cgi_p2p_config")
#: Every request this module may send, for the README and the safety tests.
REQUESTS: tuple[tuple[str, str], ...] = (
    ("GET", ISAPI_DEVICE_INFO),
    ("GET", ISAPI_EZVIZ),
    ("GET", DAHUA_SYSTEM_INFO),
    ("GET", DAHUA_SOFTWARE_VERSION),
    ("GET", DAHUA_P2P_CONFIG),
    ("POST", onvif_wire.DEVICE_SERVICE_PATH),
)
#: The requests of the makers' APIs read from data (device_api.yaml ``fields``), by API.
DATA_API_REQUESTS: dict[str, tuple[tuple[str, str], ...]] = {
    api: tuple((request.method, request.path) for request in requests)
    for api, requests in _API.data_apis().items()
}
#: A reply body read for fields is capped (JSON and key=value replies are a few KiB).
MAX_FIELD_REPLY_BYTES = 64 * 1024
MAX_FIELD_VALUE_CHARS = 200


def digest_challenge(response: HttpResponse) -> DigestChallenge | None:
    """The first usable Digest challenge of a 401 reply, or None."""
    for value in response.header_all("WWW-Authenticate"):
        try:
            challenge = parse_digest_challenge(value)
        except ProtocolError:
            continue
        if challenge is not None:
            return challenge
    return None


async def get_with_digest(
    ctx: ProbeContext,
    path: str,
    credential: Credential,
    *,
    tls: bool,
) -> tuple[HttpResponse, bool]:
    """GET ``path``; on a Digest 401, once more with credentials. (response, credential_sent)."""
    first = await fetch(ctx, "GET", path, tls=tls)
    if first.status != 401:
        return first, False
    challenge = digest_challenge(first)
    if challenge is None:
        return first, False  # Basic only (or nothing usable): never send it in clear text
    authorization = digest_authorization(
        challenge,
        method="GET",
        uri=path,
        username=credential.username,
        password=credential.password,
        cnonce=secrets.token_hex(8),
    )
    return await fetch(ctx, "GET", path, tls=tls, authorization=authorization), True


#: HTTP ports the credentialed requests are sent to (every one the device has open).
PLAIN_PORTS = (80, 81, 88, 8080, 8081, 8899)
TLS_PORTS = (443, 8443)
#: The first request of each maker API (its device information): who may receive the API.
HIKVISION_API = "hikvision_isapi_deviceinfo"
DAHUA_API = "dahua_cgi_systeminfo"


def makers_of(device: Device) -> set[str]:
    """The maker names a device is known by: its manufacturer and its brand."""
    return {name for name in (device.manufacturer, device.brand) if name}


def request_allowed(request_id: str, makers: set[str]) -> bool:
    """Whether a device known by ``makers`` may receive the device-API request ``request_id``."""
    return bool(makers & set(_API.request(request_id).vendors))


class CredentialedHttpProbe(Probe):
    """ONVIF GetDeviceInformation with a UsernameToken (the standard's call; any maker)."""

    name = "credentialed"
    default_ports = frozenset(PLAIN_PORTS)
    order = 45
    tls = False

    def __init__(self, credentials: CredentialStore | None = None) -> None:
        self.credentials = credentials or CredentialStore()

    def applies_to_host(self, address: str) -> bool:
        return self.credentials.for_host(address) is not None

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        credential = self.credentials.for_host(ctx.address)
        if credential is None:
            return []
        protocol = "https" if self.tls else "http"
        return await onvif_device_information(ctx, credential, protocol, tls=self.tls)


class CredentialedHttpsProbe(CredentialedHttpProbe):
    name = "credentialed-tls"
    default_ports = frozenset(TLS_PORTS)
    order = 46
    tls = True


async def onvif_device_information(
    ctx: ProbeContext, credential: Credential, protocol: str, *, tls: bool
) -> list[Observation]:
    """``GetDeviceInformation`` with a WS-Security UsernameToken; [] unless ONVIF answers."""
    header = username_token_header(
        credential.username,
        credential.password,
        secrets.token_bytes(16),
        datetime.now(UTC),
    )
    body = onvif_request_with_token("<tds:GetDeviceInformation/>", header)
    try:
        response = await fetch(
            ctx,
            "POST",
            onvif_wire.DEVICE_SERVICE_PATH,
            tls=tls,
            body=body,
            content_type=onvif_wire.CONTENT_TYPE,
        )
    except ProbeError:
        return []
    if b"Envelope" not in response.body[:4096]:
        return []
    try:
        reply = onvif_wire.parse_response(response.body)
    except ProtocolError:
        return []
    found = [
        Observation(
            protocol,
            ctx.port,
            "credentialed.auth",
            "accepted" if reply.device_information is not None else "rejected",
            "onvif",
        )
    ]
    if reply.device_information is not None:
        found += observe_onvif.device_information_observations(
            reply.device_information, ctx.port, "GetDeviceInformation (credentialed)"
        )
    return found


class MakerApiProbe(Probe):
    """One maker's management API with the user's credential, on one port of its device.

    Planned by :class:`CredentialedApiCheck` only for a device of that maker; each follow-up
    request is sent only when its own ``vendors`` include the device's maker too.
    """

    order = 45

    def __init__(
        self, api: str, credential: Credential, makers: set[str], *, tls: bool = False
    ) -> None:
        self.api = api
        self.credential = credential
        self.makers = frozenset(makers)
        self.tls = tls
        self.name = f"credentialed-{'hikvision' if api == HIKVISION_API else 'dahua'}" + (
            "-tls" if tls else ""
        )

    def _allowed(self, request_id: str) -> bool:
        return request_allowed(request_id, set(self.makers))

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        if not self._allowed(self.api):  # planned for another maker: send nothing
            return []
        if self.api == HIKVISION_API:
            return await self._hikvision(ctx)
        return await self._dahua(ctx)

    def _note(self, observations: list[Observation], port: int, api: str, ok: bool) -> None:
        protocol = "https" if self.tls else "http"
        outcome = "accepted" if ok else "rejected"
        observations.append(Observation(protocol, port, "credentialed.auth", outcome, api))

    async def _hikvision(self, ctx: ProbeContext) -> list[Observation]:
        protocol = "https" if self.tls else "http"
        port = ctx.port
        observations: list[Observation] = []
        try:
            response, sent = await get_with_digest(
                ctx, ISAPI_DEVICE_INFO, self.credential, tls=self.tls
            )
        except ProbeError:
            return observations
        if sent:
            self._note(observations, port, "hikvision-isapi", response.status == 200)
        if response.status != 200 or b"DeviceInfo" not in response.body:
            return observations
        detail = f"credentialed {ISAPI_DEVICE_INFO}"
        observations += [
            Observation(protocol, port, o.field, o.value, detail)
            for o in observe_http.isapi_observations(response.body, port, detail)
        ]
        if self._allowed("hikvision_isapi_ezviz"):
            try:
                ezviz, _ = await get_with_digest(ctx, ISAPI_EZVIZ, self.credential, tls=self.tls)
                if ezviz.status == 200:
                    observations += observe_http.ezviz_observations(
                        ezviz.body, port, ISAPI_EZVIZ, protocol
                    )
            except ProbeError:
                pass
        return observations

    async def _dahua(self, ctx: ProbeContext) -> list[Observation]:
        protocol = "https" if self.tls else "http"
        port = ctx.port
        observations: list[Observation] = []
        try:
            response, sent = await get_with_digest(
                ctx, DAHUA_SYSTEM_INFO, self.credential, tls=self.tls
            )
        except ProbeError:
            return observations
        if sent:
            self._note(observations, port, "dahua-cgi", response.status == 200)
        if response.status != 200:
            return observations
        info = parse_cgi_values(response.body)
        observations += observe_dahua.system_info_observations(
            info, port, DAHUA_SYSTEM_INFO, protocol
        )
        if not info:
            return observations
        for request_id, path, key, field_name in (
            ("dahua_cgi_softwareversion", DAHUA_SOFTWARE_VERSION, "version", "dahua.cgi.firmware"),
            (
                "dahua_cgi_p2p_config",
                DAHUA_P2P_CONFIG,
                "table.T2UServer.Enable",
                "dahua.cgi.p2p_enabled",
            ),
        ):
            if not self._allowed(request_id):
                continue
            try:
                reply, _ = await get_with_digest(ctx, path, self.credential, tls=self.tls)
            except ProbeError:
                continue
            if reply.status == 200:
                values = parse_cgi_values(reply.body)
                observations += observe_dahua.cgi_value_observations(
                    values, key, field_name, port, path, protocol
                )
        return observations


def _json_at(document: object, path: str) -> object:
    """The value at a dotted path (``0.value.DevInfo.model``; digits index lists), or None."""
    value = document
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def read_fields(request: DeviceApiRequest, body: bytes) -> dict[str, str]:
    """Observation field -> value for the ``fields`` of ``request`` found in a reply body.

    ``key_value``: ``key=value`` lines, or a flat JSON object (SUNAPI answers either way);
    ``json``: dotted paths. Only text and numbers are kept; anything else is skipped.
    """
    text = bytes(body[:MAX_FIELD_REPLY_BYTES])
    document: object = None
    stripped = text.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            document = json.loads(stripped.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):  # RecursionError: a hostile "[[[[..." reply
            document = None
    values: dict[str, str] = {}
    if request.format == "key_value" and document is None:
        lines = parse_cgi_values(text)
        for read in request.fields:
            if lines.get(read.key):
                values[read.field] = lines[read.key][:MAX_FIELD_VALUE_CHARS]
        return values
    for read in request.fields:
        found = (
            _json_at(document, read.key)
            if request.format == "json"
            else (document.get(read.key) if isinstance(document, dict) else None)
        )
        if isinstance(found, (str, int, float)) and not isinstance(found, bool):
            text_value = str(found).strip()
            if text_value:
                values[read.field] = text_value[:MAX_FIELD_VALUE_CHARS]
    return values


def request_target(request: DeviceApiRequest, credential: Credential) -> str:
    """The path to send: credential placeholders filled (URL-encoded) for ``query_over_tls``."""
    if request.auth != "query_over_tls":
        return request.path
    return request.path.replace("{username}", quote(credential.username, safe="")).replace(
        "{password}", quote(credential.password, safe="")
    )


class DeviceApiProbe(Probe):
    """One maker API read from data (device_api.yaml ``fields``), on one port of its device.

    Planned by :class:`CredentialedApiCheck` only for a device of that maker; every request
    is checked against the device's makers again before it is sent, and one whose credential
    travels in the query string is sent only over TLS.
    """

    order = 45

    def __init__(
        self, api: str, credential: Credential, makers: set[str], *, tls: bool = False
    ) -> None:
        self.api = api
        self.requests = _API.data_apis()[api]
        self.credential = credential
        self.makers = frozenset(makers)
        self.tls = tls
        self.name = f"credentialed-{api}" + ("-tls" if tls else "")

    def sendable(self, request: DeviceApiRequest) -> bool:
        """Whether this port may carry ``request`` to this device."""
        if not request_allowed(request.id, set(self.makers)):
            return False
        return self.tls or request.auth != "query_over_tls"

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        protocol = "https" if self.tls else "http"
        observations: list[Observation] = []
        sendable = [request for request in self.requests if self.sendable(request)]
        for index, request in enumerate(sendable):
            first = index == 0
            try:
                response, sent = await self._send(ctx, request)
            except ProbeError:
                if first:
                    return observations
                continue
            values = read_fields(request, response.body) if response.status == 200 else {}
            if first and sent:
                outcome = "accepted" if values else "rejected"
                observations.append(
                    Observation(protocol, ctx.port, "credentialed.auth", outcome, self.api)
                )
            detail = f"credentialed {request.path}"
            observations += [
                Observation(protocol, ctx.port, field_name, value, detail)
                for field_name, value in values.items()
            ]
            if first and not values:
                return observations  # the API did not answer: no follow-ups
        return observations

    async def _send(
        self, ctx: ProbeContext, request: DeviceApiRequest
    ) -> tuple[HttpResponse, bool]:
        if request.auth == "query_over_tls":
            target = request_target(request, self.credential)
            return await fetch(ctx, "GET", target, tls=True), True
        return await get_with_digest(ctx, request.path, self.credential, tls=self.tls)


@dataclass(frozen=True)
class CredentialedApiCheck:
    """Plans the makers' credentialed API requests from the identified device.

    A device whose manufacturer or brand is not one of an API's ``vendors`` gets none of its
    requests; one without credentials in the store gets nothing.
    """

    credentials: CredentialStore

    def plan(self, device: Device) -> list[tuple[Probe, int]]:
        credential = self.credentials.for_host(device.ip)
        if credential is None:
            return []
        makers = makers_of(device)
        apis = [api for api in (HIKVISION_API, DAHUA_API) if request_allowed(api, makers)]
        jobs: list[tuple[Probe, int]] = []
        for api in apis:
            for port in PLAIN_PORTS:
                if port in device.open_ports:
                    jobs.append((MakerApiProbe(api, credential, makers), port))
            for port in TLS_PORTS:
                if port in device.open_ports:
                    jobs.append((MakerApiProbe(api, credential, makers, tls=True), port))
        for name, requests in _API.data_apis().items():
            if not request_allowed(requests[0].id, makers):
                continue
            for port in PLAIN_PORTS:
                probe = DeviceApiProbe(name, credential, makers)
                if port in device.open_ports and probe.sendable(requests[0]):
                    jobs.append((probe, port))
            for port in TLS_PORTS:
                if port in device.open_ports:
                    jobs.append((DeviceApiProbe(name, credential, makers, tls=True), port))
        return jobs


def credentialed_probes(credentials: CredentialStore) -> Sequence[Probe]:
    """The per-port credentialed probes for a store (ONVIF only; none when it is empty)."""
    if not credentials:
        return ()
    return (CredentialedHttpProbe(credentials), CredentialedHttpsProbe(credentials))


def credentialed_checks(credentials: CredentialStore) -> Sequence[CredentialedApiCheck]:
    """The device checks that send the makers' API requests (none when the store is empty)."""
    if not credentials:
        return ()
    return (CredentialedApiCheck(credentials),)
