"""Shapes of lab personality files (data, one YAML file per family under ``personalities/``).

A personality says who the device really is (``identity``), what a correct scan must
conclude (``expect``), where each response is modeled from (``sources``) and which
services it runs. Service ``options`` are interpreted by the responder registered for
the service's ``protocol`` (see ``provscan.lab.responders``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identity(_Strict):
    manufacturer: str | None = None
    brand: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    mac: str | None = None
    device_type: str | None = None


class Expectation(_Strict):
    """What a correct scan of this device reports. ``None`` means "not asserted"."""

    manufacturer: str | None = None
    brand: str | None = None
    restricted: bool | None = None
    model: str | None = None
    #: For hostile devices: the scan must finish; nothing else is asserted.
    hostile: bool = False


class TlsSpec(_Strict):
    #: Subject attributes, e.g. {"CN": "www.hikvision.com", "O": "HIKVISION", "C": "CN"}.
    subject: dict[str, str]
    #: Issuer attributes; omitted = self-signed.
    issuer: dict[str, str] | None = None
    san: list[str] = Field(default_factory=list)


class ServiceSpec(_Strict):
    port: int = Field(ge=1, le=65535)
    protocol: str
    tls: TlsSpec | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class DeviceSpec(_Strict):
    id: str
    address: str
    description: str
    identity: Identity
    expect: Expectation
    sources: list[str] = Field(min_length=1)
    #: TCP services (each one an open port a scan must find).
    services: list[ServiceSpec] = Field(default_factory=list)
    #: UDP discovery services (sadp, dhdiscover, wsd, ssdp, mdns): answered, never "open ports".
    discovery: list[ServiceSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _serves_something(self) -> DeviceSpec:
        if not self.services and not self.discovery:
            raise ValueError(f"lab device {self.id} has neither services nor discovery")
        return self

    @field_validator("address")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if not ipaddress.ip_address(value).is_loopback:
            raise ValueError(f"lab devices live on loopback only, not {value}")
        return value


class PersonalityFile(_Strict):
    family: str
    devices: list[DeviceSpec]
