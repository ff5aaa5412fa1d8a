"""The documented-factory-account check (``--check-default-credentials`` only; off by default).

It runs after a device is attributed, because which accounts exist depends on the maker
(``knowledge/data/default_accounts.yaml``, each account with its source). For each account
that applies, on one HTTP(S) port of the device:

- ``GET`` the account's read-only check path without credentials (Hikvision
  ``/ISAPI/Security/userCheck``, Dahua ``/cgi-bin/magicBox.cgi?action=getMachineName``);
- when that is a ``401``, the same ``GET`` **once** with the account (Digest when offered;
  Basic only for these public factory defaults, never for a user's credentials).

It stops at the first account that works and at the first sign of a lockout (HTTP 403, 423,
429 or 503, or a reply that mentions a lock), and never retries an account. Accounts the
documentation says cannot log in over the network, and accounts that only exist on older
firmware than the device is known to run, are skipped without a request.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from provscan.knowledge.accounts import DefaultAccount
from provscan.knowledge.device_api import load_device_api
from provscan.knowledge.versions import compare, parse_firmware
from provscan.model import Device, Observation
from provscan.probes.credentialed import digest_challenge, makers_of
from provscan.probes.http import fetch
from provscan.probes.interface import Probe, ProbeContext, ProbeError
from provscan.wire.digest import digest_authorization
from provscan.wire.http1 import HttpResponse

#: The read-only request each documented account is tried on, by ``DefaultAccount.check``
#: (knowledge/data/device_api.yaml, ``use: default_account_check``).
CHECK_PATHS: dict[str, str] = load_device_api().paths_for("default_account_check")
#: Status codes that mean "stop now": forbidden, locked, too many requests, unavailable.
LOCKOUT_STATUSES = frozenset({403, 423, 429, 503})
#: HTTP ports tried, in order (one port per device).
PLAIN_PORTS = (80, 8080, 81, 88, 8081, 8899)
TLS_PORTS = (443, 8443)
#: Hikvision's userCheck reply counts the attempts left before a lock.
_RETRY_LOGIN = re.compile(rb"<retrylogintime>\s*(\d+)\s*</retrylogintime>")
_LOCKED = re.compile(rb"\blocked\b|user\s+lock")


def lockout_sign(response: HttpResponse) -> str | None:
    """Why a reply looks like a lockout, a rate limit or one failure away from one; or None."""
    if response.status in LOCKOUT_STATUSES:
        return f"HTTP {response.status}"
    text = response.body[:4096].lower()
    if b"<lockstatus>lock</lockstatus>" in text:
        return "lockStatus=lock"
    retries = _RETRY_LOGIN.search(text)
    if retries is not None and int(retries.group(1)) <= 1:
        return f"retryLoginTime={int(retries.group(1))}"
    if b"<lockstatus>" not in text and _LOCKED.search(text):
        return "reply says locked"
    return None


def account_applies(account: DefaultAccount, device: Device) -> str | None:
    """None when the account should be tried on ``device``; otherwise why it is skipped."""
    if not account.network_login:
        return "documented as local login only"
    if account.firmware_before and device.firmware:
        known = parse_firmware(device.firmware)
        bound = parse_firmware(account.firmware_before)
        if known is not None and bound is not None:
            order = compare(known, bound, "version")
            if order is not None and order >= 0:
                return f"firmware {device.firmware} is not older than {account.firmware_before}"
    return None


class DefaultAccountProbe(Probe):
    """Tries a device's documented factory accounts, once each, on one port."""

    name = "default-credentials"
    order = 90

    def __init__(
        self,
        accounts: Sequence[DefaultAccount],
        *,
        tls: bool = False,
        skipped: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.accounts = tuple(accounts)
        self.tls = tls
        self.skipped = tuple(skipped)

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        protocol = "https" if self.tls else "http"
        observations = [
            Observation(protocol, ctx.port, "default_credentials.skipped", account_id, why)
            for account_id, why in self.skipped
        ]
        for account in self.accounts:
            path = CHECK_PATHS[account.check]
            try:
                first = await fetch(ctx, "GET", path, tls=self.tls)
            except ProbeError as exc:
                observations.append(
                    Observation(
                        protocol, ctx.port, "default_credentials.error", account.id, str(exc)[:100]
                    )
                )
                break
            sign = lockout_sign(first)
            if sign is not None:
                observations.append(
                    Observation(protocol, ctx.port, "default_credentials.lockout", sign, path)
                )
                break
            if first.status != 401:
                observations.append(
                    Observation(
                        protocol,
                        ctx.port,
                        "default_credentials.skipped",
                        account.id,
                        f"{path} answered {first.status} without credentials",
                    )
                )
                continue
            authorization = self._authorization(first, path, account)
            if authorization is None:
                continue
            try:
                second = await fetch(ctx, "GET", path, tls=self.tls, authorization=authorization)
            except ProbeError:
                break
            sign = lockout_sign(second)
            if second.status == 200 and sign is None:
                observations.append(
                    Observation(
                        protocol, ctx.port, "default_credentials.accepted", account.id, path
                    )
                )
                break
            observations.append(
                Observation(protocol, ctx.port, "default_credentials.rejected", account.id, path)
            )
            if sign is not None:
                observations.append(
                    Observation(protocol, ctx.port, "default_credentials.lockout", sign, path)
                )
                break
        return observations

    @staticmethod
    def _authorization(response: HttpResponse, path: str, account: DefaultAccount) -> str | None:
        challenge = digest_challenge(response)
        if challenge is not None:
            return digest_authorization(
                challenge,
                method="GET",
                uri=path,
                username=account.username,
                password=account.password,
                cnonce=secrets.token_hex(8),
            )
        if any(v.lower().startswith("basic") for v in response.header_all("WWW-Authenticate")):
            token = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
            return f"Basic {token}"
        return None


@dataclass(frozen=True)
class DefaultCredentialCheck:
    """Plans the default-account probe for an attributed device (the scheduler runs it)."""

    accounts: Sequence[DefaultAccount]

    def plan(self, device: Device) -> list[tuple[Probe, int]]:
        makers = makers_of(device)
        relevant = [a for a in self.accounts if makers & set(a.vendors)]
        if not relevant:
            return []
        tried: list[DefaultAccount] = []
        skipped: list[tuple[str, str]] = []
        for account in relevant:
            why = account_applies(account, device)
            if why is None:
                tried.append(account)
            else:
                skipped.append((account.id, why))
        for port in PLAIN_PORTS:
            if port in device.open_ports:
                return [(DefaultAccountProbe(tried, skipped=skipped), port)]
        for port in TLS_PORTS:
            if port in device.open_ports:
                return [(DefaultAccountProbe(tried, tls=True, skipped=skipped), port)]
        return []
