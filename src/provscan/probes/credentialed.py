"""Credentialed, read-only collection of model, serial and firmware (``--credentials``).

The scheduler runs these probes only on hosts for which the credentials file has an entry
(:meth:`Probe.applies_to_host`). Each API is tried in turn, and the probe stops at the first
that answers with device information. What it sends (one connection per request,
``Connection: close``, every read capped):

1. Hikvision ISAPI: ``GET /ISAPI/System/deviceInfo`` without credentials; on a ``401`` with
   a Digest challenge, the same request once with an RFC 7616 Digest ``Authorization``
   (MD5, ``qop=auth``). When it answers, ``GET /ISAPI/System/Network/EZVIZ`` the same way
   (whether the Hik-Connect/EZVIZ cloud platform is enabled).
2. Dahua HTTP CGI: ``GET /cgi-bin/magicBox.cgi?action=getSystemInfo`` and
   ``?action=getSoftwareVersion`` (Digest as above), then
   ``GET /cgi-bin/configManager.cgi?action=getConfig&name=T2UServer`` (whether Dahua P2P is
   enabled; a *getConfig*, never a *setConfig*).
3. ONVIF: ``POST /onvif/device_service`` with ``GetDeviceInformation`` and a WS-Security
   UsernameToken (PasswordDigest) — the read-only call ONVIF defines for this.

Never sent: Basic authentication over plain HTTP (the password would travel in clear text),
any write (``setConfig``, ``PUT``, ``DELETE``), any exploit path. Nothing from the credential
(user name or password) goes into an observation. A rejected credential is one observation
(``credentialed.auth = rejected``) and the probe does not retry it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from provscan.credentials import Credential, CredentialStore
from provscan.errors import ProtocolError
from provscan.knowledge.device_api import load_device_api
from provscan.model import Observation
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


class CredentialedHttpProbe(Probe):
    """Model, serial and firmware through the device's own management API (credentials)."""

    name = "credentialed"
    default_ports = frozenset({80, 81, 88, 8080, 8081, 8899})
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
        port = ctx.port
        observations: list[Observation] = []

        def note(api: str, outcome: str) -> None:
            observations.append(Observation(protocol, port, "credentialed.auth", outcome, api))

        # 1. Hikvision ISAPI
        try:
            response, sent = await get_with_digest(ctx, ISAPI_DEVICE_INFO, credential, tls=self.tls)
        except ProbeError:
            response, sent = None, False
        if response is not None and sent:
            note("hikvision-isapi", "accepted" if response.status == 200 else "rejected")
        if response is not None and response.status == 200 and b"DeviceInfo" in response.body:
            detail = f"credentialed {ISAPI_DEVICE_INFO}"
            observations += [
                Observation(protocol, port, o.field, o.value, detail)
                for o in observe_http.isapi_observations(response.body, port, detail)
            ]
            try:
                ezviz, _ = await get_with_digest(ctx, ISAPI_EZVIZ, credential, tls=self.tls)
                if ezviz.status == 200:
                    observations += observe_http.ezviz_observations(
                        ezviz.body, port, ISAPI_EZVIZ, protocol
                    )
            except ProbeError:
                pass
            return observations

        # 2. Dahua HTTP CGI
        try:
            response, sent = await get_with_digest(ctx, DAHUA_SYSTEM_INFO, credential, tls=self.tls)
        except ProbeError:
            response, sent = None, False
        if response is not None and sent:
            note("dahua-cgi", "accepted" if response.status == 200 else "rejected")
        if response is not None and response.status == 200:
            info = parse_cgi_values(response.body)
            observations += observe_dahua.system_info_observations(
                info, port, DAHUA_SYSTEM_INFO, protocol
            )
            if info:
                await self._dahua_extras(ctx, credential, protocol, observations)
                return observations

        # 3. ONVIF GetDeviceInformation with a UsernameToken
        observations += await self._onvif(ctx, credential, protocol)
        return observations

    async def _dahua_extras(
        self,
        ctx: ProbeContext,
        credential: Credential,
        protocol: str,
        observations: list[Observation],
    ) -> None:
        for path, key, field_name in (
            (DAHUA_SOFTWARE_VERSION, "version", "dahua.cgi.firmware"),
            (DAHUA_P2P_CONFIG, "table.T2UServer.Enable", "dahua.cgi.p2p_enabled"),
        ):
            try:
                response, _ = await get_with_digest(ctx, path, credential, tls=self.tls)
            except ProbeError:
                continue
            if response.status == 200:
                values = parse_cgi_values(response.body)
                observations += observe_dahua.cgi_value_observations(
                    values, key, field_name, ctx.port, path, protocol
                )

    async def _onvif(
        self, ctx: ProbeContext, credential: Credential, protocol: str
    ) -> list[Observation]:
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
                tls=self.tls,
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


class CredentialedHttpsProbe(CredentialedHttpProbe):
    name = "credentialed-tls"
    default_ports = frozenset({443, 8443})
    order = 46
    tls = True


def credentialed_probes(credentials: CredentialStore) -> Sequence[Probe]:
    """The credentialed probes for a store (none when it is empty)."""
    if not credentials:
        return ()
    return (CredentialedHttpProbe(credentials), CredentialedHttpsProbe(credentials))
