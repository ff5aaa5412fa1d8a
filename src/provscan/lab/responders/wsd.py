"""ONVIF WS-Discovery responder (UDP 3702): answers a Probe with ProbeMatches.

Scope layouts follow knowledge/fingerprint-signals.md: Hikvision ``name/HIKVISION%20<model>``,
``hardware/<model>``, ``MAC/<mac>``, ``location/city/hangzhou`` (§2); Dahua
``location/country/<c>``, ``name/<Brand>``, ``hardware/<model>``, ``Profile/Streaming``,
``type/Network_Video_Transmitter``, ``extension/unique_identifier`` (§3). A Probe whose
Types the device does not serve gets no answer (WS-Discovery 2005/04 §5.3).

``service.options``::

    types: [dn:NetworkVideoTransmitter, tds:Device]
    scopes: [onvif://www.onvif.org/name/{model}]   # {serial} {mac} {mac_plain} {model} filled
    xaddrs_path: /onvif/device_service
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from provscan.errors import ProtocolError
from provscan.lab.responders._io import fill_identity
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import wsdiscovery as wire

MULTICAST_GROUP = wire.WSD_MULTICAST_GROUP


class WsdOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    types: list[str] = Field(default_factory=lambda: ["dn:NetworkVideoTransmitter", "tds:Device"])
    scopes: list[str] = Field(default_factory=list)
    xaddrs_path: str = "/onvif/device_service"


def validate_options(options: dict[str, object]) -> None:
    WsdOptions.model_validate(options)


def answer(data: bytes, device: DeviceSpec, service: ServiceSpec) -> bytes | None:
    try:
        probe = wire.parse_probe(data)
    except ProtocolError:
        return None
    options = WsdOptions.model_validate(service.options)
    served = {t.rsplit(":", 1)[-1] for t in options.types}
    if probe.types and not {t.rsplit(":", 1)[-1] for t in probe.types} <= served:
        return None
    scopes = [fill_identity(s, device).replace(" ", "%20") for s in options.scopes]
    if not scopes:
        scopes = [
            f"onvif://www.onvif.org/name/{(device.identity.brand or 'ONVIF').replace(' ', '%20')}",
            f"onvif://www.onvif.org/hardware/{device.identity.model or 'unknown'}",
        ]
    endpoint = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'provscan-lab:' + device.id)}"
    match = wire.ProbeMatch(
        endpoint=endpoint,
        types=tuple(options.types),
        scopes=tuple(scopes),
        xaddrs=(f"http://{device.address}{options.xaddrs_path}",),
        metadata_version="1",
    )
    return wire.build_probe_matches(probe.message_id, [match])
