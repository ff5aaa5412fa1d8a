"""The firmware-variant lab devices, moved to a /16 of their own for the posture tests.

The credentialed and default-account scans of the posture tests must never show up in the
session lab's record: its tests assert that an ordinary scan sends no credentials at all.
"""

from __future__ import annotations

import os

from helpers import SESSION_DEVICES

from provscan.lab.spec import DeviceSpec

#: 230-249: outside the session labs' 130-229 (helpers.SESSION_OCTET).
POSTURE_OCTET = 230 + os.getpid() % 20


def _moved(device: DeviceSpec) -> DeviceSpec:
    parts = device.address.split(".")
    parts[1] = str(POSTURE_OCTET)
    return device.model_copy(update={"address": ".".join(parts)})


POSTURE_DEVICES: list[DeviceSpec] = [
    _moved(device)
    for device in SESSION_DEVICES
    if device.id.startswith(("hik-fw-", "dahua-fw-", "amcrest-fw-"))
]
