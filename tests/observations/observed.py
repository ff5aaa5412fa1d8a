"""Helpers shared by the observation-layer tests (importable as ``observed``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from provscan.knowledge.schema import HttpEndpoint
from provscan.model import Observation
from provscan.probes.interface import Probe

#: The addresses of captured conversations (data only: nothing is sent anywhere).
CLIENT, SERVER, CLIENT_PORT = "10.0.0.5", "10.0.0.64", 40000

#: (protocol, port, field, value): an observation without its input-specific detail.
Key = tuple[str, int | None, str, str]


def keys(observations: Iterable[Observation]) -> list[Key]:
    return [(o.protocol, o.port, o.field, o.value) for o in observations]


def distinct(observations: Iterable[Observation]) -> set[Key]:
    """What a host table keeps: one entry per (protocol, port, field, value)."""
    return set(keys(observations))


#: What a scripted device answers to the bytes written on one connection.
Script = Callable[[bytes], bytes]


class RunProbe(Protocol):
    """The ``run_probe`` fixture: a probe's observations of a scripted device."""

    def __call__(
        self, probe: Probe, port: int, script: Script, certificate: bytes | None = None
    ) -> list[Observation]: ...


class Converse(Protocol):
    """The ``converse`` fixture: what passive analysis of one conversation reports, by host."""

    def __call__(
        self,
        port: int,
        client: bytes,
        server: bytes,
        endpoints: Mapping[str, HttpEndpoint] | None = None,
        path_prefixes: Mapping[str, str] | None = None,
    ) -> dict[str, list[Observation]]: ...
