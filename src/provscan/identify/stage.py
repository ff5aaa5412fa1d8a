"""The identification stage: attribution, then policy, then (scan-wide) posture."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from provscan.attribution.attribute import Attribution, Attributor
from provscan.fingerprints.service_probes import ServiceProbes
from provscan.knowledge.loader import Knowledge, PostureKnowledge, load_posture_knowledge
from provscan.knowledge.schema import Policy
from provscan.model import Device, HostEvidence, Observation, ScanResult
from provscan.policy.evaluate import FindingsMemo, judge, judged_for, maker_countries
from provscan.posture.assess import PostureOptions, assess_scan


class Identifier:
    """Turns host evidence into judged devices for one run of one input.

    ``posture`` (default on) adds vulnerabilities, exposure and remediation in :meth:`finish`:
    it is scan-wide because one host's evidence can expose another (a router's UPnP mapping
    to a camera).

    ``service_probes`` (nmap's match lines, read from the user's installation) are a
    low-certainty fallback for a device none of provscan's own rules attributed: what they
    make of its replies is added as ``nmap.*`` observations and the device attributed again,
    with a note (decision 0023).
    """

    def __init__(
        self,
        knowledge: Knowledge,
        policies: Sequence[Policy],
        *,
        posture: bool = True,
        posture_knowledge: PostureKnowledge | None = None,
        acting_as: Sequence[str] = (),
        service_probes: ServiceProbes | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.service_probes = service_probes
        self.policies = tuple(policies)
        #: Who the user said they are (``--as`` org type ids); empty: every measure counts.
        self.acting_as = tuple(acting_as)
        self._countries = maker_countries(knowledge.vendors)
        #: The findings of each (maker, device type, country), for this run's policies and
        #: ``acting_as``: thousands of devices of a few makers (issue 14).
        self._findings: FindingsMemo = {}
        self._attributor = Attributor(knowledge)
        self._posture = (posture_knowledge or load_posture_knowledge()) if posture else None
        #: The judging day: the run's start (a measure in force only later binds nobody yet).
        self.on = date.today()

    @property
    def posture_knowledge(self) -> PostureKnowledge | None:
        return self._posture

    def device(self, host: HostEvidence) -> Device:
        """Who made this host's device, and which selected measures restrict it."""
        attribution = self._attribute(host, host.observations)
        observations, notes = host.observations, host.notes
        if self.service_probes is not None and not _names_a_maker(attribution):
            found = self.service_probes.observations(
                [o for attempt in host.attempts for o in attempt.observations]
                + list(host.observations)
            )
            if found:
                observations = (*host.observations, *found)
                attribution = self._attribute(host, observations)
                notes = (*notes, *_fallback_notes(found))
        device = dataclasses.replace(
            attribution.device,
            notes=(*attribution.device.notes, *notes),
            phones_home=(*attribution.device.phones_home, *host.phones_home),
            observations=observations,
        )
        return judge(
            device,
            self.policies,
            countries=self._countries,
            acting_as=self.acting_as,
            memo=self._findings,
            on=self.on,
        )

    def _attribute(self, host: HostEvidence, observations: Sequence[Observation]) -> Attribution:
        return self._attributor.attribute(
            host.address,
            sorted(host.open_ports),
            host.attempts,
            mac=host.mac,
            hostname=host.hostname,
            extra_observations=observations,
        )

    def devices(self, hosts: Sequence[HostEvidence]) -> list[Device]:
        return [self.device(host) for host in hosts]

    def stamp(self, result: ScanResult) -> ScanResult:
        """The result with ``acting_as``, ``judged_for`` and the knowledge's version and
        as-of date recorded in its scan info."""
        version, as_of = _knowledge_stamp()
        return dataclasses.replace(
            result,
            info=dataclasses.replace(
                result.info,
                acting_as=self.acting_as,
                judged_for=judged_for(self.acting_as, self.policies),
                knowledge_version=version,
                knowledge_as_of=as_of,
            ),
        )

    def finish(self, result: ScanResult) -> ScanResult:
        """Posture across the whole result (none when posture is off), ``acting_as`` recorded."""
        result = self.stamp(result)
        if self._posture is None:
            return result
        options = PostureOptions(policies=tuple(p.id for p in self.policies))
        return assess_scan(result, self._posture, options)


def _names_a_maker(attribution: Attribution) -> bool:
    """Whether any claim names a maker or brand, even one not established: the fallback is for
    devices nothing identifies, never a way round a restricted candidate under review."""
    return any(claim.field in ("manufacturer", "brand") for claim in attribution.claims)


def _fallback_notes(found: Sequence[Observation]) -> list[str]:
    """One note per port nmap's lines named a product on (low certainty, where from)."""
    notes: list[str] = []
    for port in dict.fromkeys(o.port for o in found):
        on_port = [o for o in found if o.port == port]
        label = " ".join(o.value for o in on_port if o.field in ("nmap.product", "nmap.extrainfo"))
        where = on_port[0].detail.removeprefix("nmap fallback: ")
        notes.append(
            f"nmap fallback (low certainty; no provscan rule named the maker): port {port} "
            f"matched {where}: {label or on_port[0].value}"
        )
    return notes


def _knowledge_stamp() -> tuple[str | None, str | None]:
    """The active knowledge's version and as-of date (from its manifest); (None, None) when
    the manifest cannot be read (the scan is judged all the same)."""
    from provscan.errors import ProvscanError
    from provscan.knowledge.packs import active_pack

    try:
        pack = active_pack()
    except ProvscanError:
        return None, None
    return pack.version, pack.as_of
