"""What one discovery message says about the device that sent it."""

from __future__ import annotations

from dataclasses import dataclass

from provscan.model import Observation


@dataclass(frozen=True)
class Sighting:
    """A discovery message mapped: its observations and the identity it claims.

    ``message`` names the kind of message (``sadp ProbeMatch``, ``wsd Hello``, …; passive
    analysis reports it as ``discovery.protocol``). The hints are as the device states them:
    ``mac`` normalised, ``address`` not validated.
    """

    message: str
    observations: tuple[Observation, ...]
    mac: str | None = None
    serial: str | None = None
    address: str | None = None
    hostname: str | None = None
