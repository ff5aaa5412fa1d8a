"""Device credentials for ``provscan scan --credentials FILE`` (YAML or TOML).

::

    default: {username: admin, password: "..."}          # any host not matched below
    subnets:
      "10.1.20.0/24": {username: viewer, password: "..."}  # most specific subnet wins
    devices:
      "10.1.20.7": {username: admin, password: "..."}      # one host beats any subnet

(TOML: ``[default]``, ``[subnets."10.1.20.0/24"]``, ``[devices."10.1.20.7"]``.)

Passwords are never logged, never stored in the database and never written to a report:
:class:`Credential` hides its password from ``repr``, problems in the file are reported by
position and type only (never the value), and probes put nothing from a credential into
their observations.
"""

from __future__ import annotations

import ipaddress
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provscan.errors import InputError

#: Largest credentials file read (a credentials file is a few lines).
MAX_FILE_BYTES = 1024 * 1024


class CredentialsError(InputError):
    """The credentials file is missing, unreadable or malformed (values never quoted)."""


@dataclass(frozen=True)
class Credential:
    username: str
    password: str = field(repr=False)
    #: Where it came from ("device 10.0.0.5", "subnet 10.0.0.0/24", "default"): safe to show.
    scope: str = "default"


@dataclass(frozen=True)
class CredentialStore:
    """Lookup of the credential for a host: device entry, then most specific subnet, then default."""

    devices: Mapping[str, Credential] = field(default_factory=dict)
    subnets: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Credential], ...] = ()
    default: Credential | None = None
    #: Problems worth a warning (e.g. the file is readable by everyone).
    warnings: tuple[str, ...] = ()

    def for_host(self, address: str) -> Credential | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return self.devices.get(address) or self.default
        exact = self.devices.get(str(ip))
        if exact is not None:
            return exact
        best: tuple[int, Credential] | None = None
        for network, credential in self.subnets:
            if (
                ip.version == network.version
                and ip in network
                and (best is None or network.prefixlen > best[0])
            ):
                best = (network.prefixlen, credential)
        if best is not None:
            return best[1]
        return self.default

    def __bool__(self) -> bool:
        return bool(self.devices or self.subnets or self.default)


def _credential(raw: Any, where: str, scope: str) -> Credential:
    if not isinstance(raw, Mapping):
        raise CredentialsError(f"{where}: expected a table with username and password")
    unknown = set(raw) - {"username", "password"}
    if unknown:
        raise CredentialsError(f"{where}: unknown keys {sorted(str(k) for k in unknown)}")
    username, password = raw.get("username"), raw.get("password")
    if not isinstance(username, str) or not username:
        raise CredentialsError(f"{where}: username must be a non-empty string")
    if not isinstance(password, str):
        raise CredentialsError(f"{where}: password must be a string (quote numbers)")
    return Credential(username, password, scope)


def parse_credentials(document: Any) -> CredentialStore:
    """Build a store from the parsed file (a mapping). Raises CredentialsError."""
    if not isinstance(document, Mapping):
        raise CredentialsError("the credentials file must be a mapping at the top level")
    unknown = set(document) - {"default", "subnets", "devices"}
    if unknown:
        raise CredentialsError(f"unknown top-level keys {sorted(str(k) for k in unknown)}")
    default = (
        _credential(document["default"], "default", "default") if "default" in document else None
    )
    devices: dict[str, Credential] = {}
    for key, raw in (document.get("devices") or {}).items():
        try:
            address = str(ipaddress.ip_address(str(key)))
        except ValueError:
            raise CredentialsError(f"devices: {key!s:.60} is not an IP address") from None
        devices[address] = _credential(raw, f"devices.{address}", f"device {address}")
    subnets = []
    for key, raw in (document.get("subnets") or {}).items():
        try:
            network = ipaddress.ip_network(str(key), strict=False)
        except ValueError:
            raise CredentialsError(f"subnets: {key!s:.60} is not a CIDR") from None
        subnets.append((network, _credential(raw, f"subnets.{network}", f"subnet {network}")))
    return CredentialStore(devices, tuple(subnets), default)


def load_credentials(path: Path) -> CredentialStore:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) credentials file."""
    try:
        info = path.stat()
        if path.is_dir():
            raise CredentialsError(f"credentials file {path} is a directory")
        with path.open("rb") as handle:  # bounded even for devices and pipes (size 0)
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise CredentialsError(f"credentials file not found: {path}") from None
    except OSError as exc:
        raise CredentialsError(
            f"cannot read credentials file {path}: {exc.strerror or exc}"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise CredentialsError(f"credentials file {path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CredentialsError(
            f"credentials file {path} is not UTF-8 text (expected YAML or TOML)"
        ) from None
    if "\x00" in text:
        raise CredentialsError(f"credentials file {path} is not a text file (it holds NUL bytes)")
    try:
        if path.suffix.lower() == ".toml":
            document: Any = tomllib.loads(text)
        else:
            document = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        # Parser messages can quote the offending line (a password): give the position only.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CredentialsError(f"{path}: not valid YAML/TOML{where}") from None
    store = parse_credentials(document)
    warnings = []
    if info.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        warnings.append(
            f"credentials file {path} is readable by every user (mode "
            f"{stat.S_IMODE(info.st_mode):o}); restrict it with chmod 600"
        )
    elif info.st_mode & stat.S_IRGRP:
        warnings.append(f"credentials file {path} is readable by its group; consider chmod 600")
    return CredentialStore(store.devices, store.subnets, store.default, tuple(warnings))
