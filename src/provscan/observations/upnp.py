"""UPnP (HTTP after SSDP): a device description and IGD port mappings -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.wire import upnp

PROTOCOL = "upnp"
#: The field of :func:`mappings_read_observation`.
MAPPINGS_READ_FIELD = "upnp.port_mappings_read"
#: UpnpDevice attribute -> observation field, in the order they are reported.
DESCRIPTION_FIELDS = (
    ("manufacturer", "upnp.manufacturer"),
    ("model_name", "upnp.model_name"),
    ("model_number", "upnp.model_number"),
    ("serial_number", "upnp.serial"),
    ("udn", "upnp.udn"),
    ("friendly_name", "upnp.friendly_name"),
    ("device_type", "upnp.device_type"),
    ("manufacturer_url", "upnp.manufacturer_url"),
)


def description_observations(device: upnp.UpnpDevice, port: int) -> list[Observation]:
    """The root device's identity fields (``port``: where the description was served)."""
    observations = []
    for attribute, field in DESCRIPTION_FIELDS:
        value = getattr(device, attribute)
        if value:
            observations.append(Observation(PROTOCOL, port, field, value))
    return observations


def port_mapping_observation(mapping: upnp.PortMapping, port: int) -> Observation:
    """One IGD port mapping (``TCP *:8080 -> 192.168.0.64:80 (description)``)."""
    return Observation(PROTOCOL, port, "upnp.port_mapping", mapping.summary())


def mappings_read_observation(count: int, port: int) -> Observation:
    """The IGD's port mapping table was read to its end (``count`` entries, maybe none): a
    mapping that is not among them is gone (remediation cases read this, store.cases)."""
    return Observation(PROTOCOL, port, MAPPINGS_READ_FIELD, str(count))
