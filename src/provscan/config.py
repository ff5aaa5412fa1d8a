"""The user's configuration file: who they are, and the inventory and case settings.

``config.toml`` in ``platformdirs.user_config_dir("provscan")``, or the file named by the
``PROVSCAN_CONFIG`` environment variable. A missing default file means the defaults; a
named file that is missing, or any file that is not valid TOML or holds an unknown key or
a bad value, is a :class:`ConfigError` (one line, exit 2 at the command line)::

    [organisation]
    as = ["ca:federal-institution"]   # the same ids as --as (provscan policies --as-types)

    [inventory]
    gone_after_scans = 3              # a device missing from this many scans in a row is gone

    [cases]
    sla_days_restricted = 90          # days to close a case about a restricted device
    sla_days_priority1 = 30           # days to close a case about a priority-1 action

    [[alerts.syslog]]                 # events to a SIEM (README "Alerts to the SIEM")
    name = "siem"
    address = "127.0.0.1:6514"
    protocol = "tls"                  # udp | tcp | tls
    format = "cef"                    # json | cef
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from provscan.errors import InputError

#: The environment variable that names another configuration file.
CONFIG_ENV = "PROVSCAN_CONFIG"
CONFIG_FILENAME = "config.toml"


class ConfigError(InputError):
    """The configuration file cannot be used (exit 2)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OrganisationSettings(_Section):
    """Who the user is: org type ids as for ``--as`` (checked when a command uses them)."""

    acting_as: tuple[str, ...] = Field(default=(), alias="as")


class InventorySettings(_Section):
    #: A device missing from this many scans in a row is reported gone.
    gone_after_scans: int = Field(default=3, ge=1, strict=True)


class CasesSettings(_Section):
    #: Days to close a case about a restricted device.
    sla_days_restricted: int = Field(default=90, ge=1, strict=True)
    #: Days to close a case about a priority-1 remediation.
    sla_days_priority1: int = Field(default=30, ge=1, strict=True)


#: A sink's name: it keys the sink's place in the event outbox, so it must stay stable.
SINK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def split_host_port(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); ValueError with the reason."""
    text = address.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError("an IPv6 address is written [address]:port")
        port_text = rest[1:]
        ipaddress.IPv6Address(host)
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host or ":" in host:
            raise ValueError("expected host:port (IPv6: [address]:port)")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"port {port_text!r} is not 1-65535")
    return host, int(port_text)


class _Sink(_Section):
    #: The sink's name in ``provscan events`` and in the outbox cursor.
    name: str = Field(pattern=SINK_NAME_PATTERN)
    #: Events sent to the receiver in one go (one connection, one request, one write).
    batch_size: int = Field(default=100, ge=1, le=1000, strict=True)


class SyslogSink(_Sink):
    """A syslog receiver (RFC 5424): UDP (RFC 5426), TCP (RFC 6587 octet counting) or TLS
    (RFC 5425), with JSON or CEF message bodies."""

    address: str
    protocol: Literal["udp", "tcp", "tls"] = "udp"
    format: Literal["json", "cef"] = "json"
    #: Syslog facility number (13: log audit).
    facility: int = Field(default=13, ge=0, le=23, strict=True)
    #: TLS: the CA certificate file that signed the receiver's (default: the system's CAs).
    tls_ca_file: Path | None = None
    #: TLS: check the receiver's certificate and name. Off only for a lab receiver.
    tls_verify: bool = True
    #: TLS: the name the receiver's certificate must carry (default: the address's host).
    tls_server_name: str | None = None

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        split_host_port(value)
        return value.strip()

    @model_validator(mode="after")
    def _tls_only(self) -> SyslogSink:
        tls_set = self.tls_ca_file is not None or self.tls_server_name or not self.tls_verify
        if tls_set and self.protocol != "tls":
            raise ValueError("tls_ca_file, tls_verify and tls_server_name need protocol = 'tls'")
        return self


class FileSink(_Sink):
    """Events appended as JSON lines to a file (for log shippers), created private."""

    path: Path


class WebhookSink(_Sink):
    """Events POSTed as JSON to an HTTP(S) endpoint, retried with back-off."""

    url: str
    #: The header that carries the secret (e.g. "Authorization"), whose value is read from
    #: ``secret_env`` or ``secret_file`` — never written in this file.
    secret_header: str | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: Retries after the first attempt (connection errors, timeouts, 429 and 5xx answers).
    retries: int = Field(default=3, ge=0, le=10, strict=True)
    #: First back-off; each retry doubles it (with random jitter), at most 60 s.
    backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    #: TLS: the CA certificate file for an https URL (default: the system's CAs).
    tls_ca_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be http:// or https:// with a host")
        if parts.username or parts.password:
            raise ValueError("url must not hold a user or password (use secret_header)")
        return value.strip()

    @model_validator(mode="after")
    def _secret(self) -> WebhookSink:
        if self.secret_env is not None and self.secret_file is not None:
            raise ValueError("give secret_env or secret_file, not both")
        has_secret = self.secret_env is not None or self.secret_file is not None
        if has_secret != (self.secret_header is not None):
            raise ValueError("secret_header goes with secret_env or secret_file")
        if self.secret_header is not None and not _HEADER_NAME.match(self.secret_header):
            raise ValueError(f"secret_header {self.secret_header!r} is not a header name")
        if self.secret_env is not None and not _ENV_NAME.match(self.secret_env):
            raise ValueError(f"secret_env {self.secret_env!r} is not an environment variable")
        return self


class AlertsSettings(_Section):
    """Where events (new restricted devices, cases opened, reopened, overdue, verified) go."""

    syslog: tuple[SyslogSink, ...] = ()
    file: tuple[FileSink, ...] = ()
    webhook: tuple[WebhookSink, ...] = ()
    #: Deliver pending events after each stored scan (a failure there is a warning).
    send_after_scan: bool = True

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsSettings:
        seen: set[str] = set()
        for sink in self.sinks():
            if sink.name in seen:
                raise ValueError(f"two sinks are named {sink.name!r}; names must be unique")
            seen.add(sink.name)
        return self

    def sinks(self) -> tuple[SyslogSink | FileSink | WebhookSink, ...]:
        return (*self.syslog, *self.file, *self.webhook)


class Settings(_Section):
    """The whole configuration file, every section optional."""

    organisation: OrganisationSettings = OrganisationSettings()
    inventory: InventorySettings = InventorySettings()
    cases: CasesSettings = CasesSettings()
    alerts: AlertsSettings = AlertsSettings()


#: Environment variables already warned about, with their value: one warning a process.
_WARNED: set[tuple[str, str]] = set()


def whole_number_problem(
    name: str, text: str, minimum: int, maximum: int | None, unit: str = ""
) -> str | None:
    """Why ``text``, the value of environment variable ``name``, is not a whole number (of
    ``unit``) from ``minimum`` (to ``maximum``); None when it is one."""
    value = int(text) if text.isdigit() and text.isascii() else None
    if value is not None and value >= minimum and (maximum is None or value <= maximum):
        return None
    wanted = f"{minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
    return f"{name}={text!r} is not a whole number{f' of {unit}' if unit else ''} ({wanted})"


def env_whole_number(
    name: str, *, default: str, minimum: int = 1, maximum: int | None = None
) -> int | None:
    """The whole number environment variable ``name`` holds; None when it is unset or empty,
    and when its value is no whole number from ``minimum`` (to ``maximum``): then, once per
    process and value, a one-line warning on standard error naming the variable and
    ``default``, what is used instead (the commands' own convention for a setting that does
    not stop the work; a command whose subject the variable is raises instead, as
    ``provscan knowledge status`` does for ``PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS``)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    problem = whole_number_problem(name, text, minimum, maximum)
    if problem is None:
        return int(text)
    if (name, text) not in _WARNED:
        _WARNED.add((name, text))
        # The core has no warning channel to the command line; this is its format (one line).
        print(f"provscan: warning: {problem}: ignored, using {default}", file=sys.stderr)
    return None


def config_path() -> Path:
    """The configuration file in use: ``$PROVSCAN_CONFIG``, else the user config dir's."""
    override = os.environ.get(CONFIG_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("provscan")) / CONFIG_FILENAME


def load_config(path: Path | None = None) -> Settings:
    """The settings in ``path`` (default :func:`config_path`); defaults when the default
    file does not exist. Raises :class:`ConfigError` with a one-line reason."""
    named = path is not None or bool(os.environ.get(CONFIG_ENV, "").strip())
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise ConfigError(f"config file {path} not found") from None
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"config file {path} cannot be read: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"config file {path}: {where}: {first['msg']}{more}") from None
