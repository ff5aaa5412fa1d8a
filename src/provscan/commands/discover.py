"""``provscan discover``: devices that announce themselves, without a port scan.

Same device-record contract, ``--format``, ``--output`` and storage as ``provscan scan``;
the scan's kind is ``active`` with the note "discovery only". Without targets it multicasts and broadcasts on attached
segments (``--iface`` or every up, multicast-capable, non-loopback interface); with
targets it sends unicast probes to them only.
"""

# No ``from __future__ import annotations`` here: typer reads the command's annotations at
# registration, and they name classes imported inside ``register`` (cli.py imports this
# module while it is itself being imported).
import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer

from provscan import __version__
from provscan.commands.common import (
    AsOption,
    DbOption,
    FailOnRestrictedOption,
    FormatOption,
    NoDbOption,
    OutputFormat,
    OutputOption,
    PolicyOption,
    SiteOption,
    emit,
    epilog,
    fail_for,
    finish,
    guard_output,
    parse_policy_ids,
    resolve_acting_as,
    target_files,
)
from provscan.commands.options_output import VerboseOption
from provscan.discovery.interface import DiscoveryResult
from provscan.discovery.runner import (
    DEFAULT_TIMEOUT_S,
    DiscoverySettings,
    discover_addresses,
    discover_segments,
    segments_for,
)
from provscan.model import Device, HostEvidence, ScanInfo, ScanResult

DISCOVERY_PORTS = (1900, 3702, 5353, 37020, 37810)


def build_result(
    result: DiscoveryResult,
    *,
    started: datetime,
    target_specs: Sequence[str],
    policy_ids: Sequence[str] | None = None,
    acting_as: Sequence[str] = (),
) -> ScanResult:
    """Identify every discovered host (one device record each), posture included."""
    from provscan.identify import Identifier
    from provscan.knowledge.loader import load_knowledge

    knowledge = load_knowledge()
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    identifier = Identifier(knowledge, policies, acting_as=acting_as)
    devices: list[Device] = [
        identifier.device(
            HostEvidence(
                host.address,
                observations=host.observations,
                mac=host.mac,
                notes=(*host.notes, f"discovery: {', '.join(host.protocols)}"),
            )
        )
        for host in result.hosts
    ]
    info = ScanInfo(
        scan_id=str(uuid.uuid4()),
        kind="active",  # the contract's kinds: discovery sends probes, so it is active
        started_at=started,
        finished_at=datetime.now(UTC),
        targets=tuple(target_specs),
        ports=DISCOVERY_PORTS,
        policies=tuple(p.id for p in policies),
        tool_version=__version__,
        hosts_scanned=len(result.hosts),
        hosts_responding=len(result.hosts),
        notes=("discovery only: no port scan", *result.notes),
    )
    return identifier.finish(ScanResult(info, tuple(devices)))


async def run_discover(
    targets: Sequence[str], settings: DiscoverySettings, *, allow_public: bool = False
) -> DiscoveryResult:
    if targets:
        from provscan.targets import build_targets

        addresses = [address for address, _ in build_targets(targets, allow_public=allow_public)]
        return await discover_addresses(addresses, settings)
    return await discover_segments(segments_for(settings), settings)


def register(app: typer.Typer) -> None:
    from provscan.errors import ProvscanError

    @app.command(
        epilog=epilog(
            "provscan discover --iface eth0 --timeout 2",
            "provscan discover 127.77.20.10-14 --timeout 0.5 --no-db -f csv",
            "provscan discover 127.77.20.10-14 --as ca:federal-institution --no-db",
        )
    )
    def discover(
        targets: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="TARGET",
                help="Addresses to probe by unicast (default: multicast/broadcast on segments).",
            ),
        ] = None,
        iface: Annotated[
            str | None,
            typer.Option(
                "--iface", metavar="NAME", help="Interface to discover on (default: all attached)."
            ),
        ] = None,
        timeout: Annotated[
            float,
            typer.Option(
                "--timeout",
                min=0.1,
                max=60.0,
                metavar="SECONDS",
                help="Seconds to wait for replies.",
            ),
        ] = DEFAULT_TIMEOUT_S,
        policy: PolicyOption = None,
        acting_as: AsOption = None,
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
        db: DbOption = None,
        no_db: NoDbOption = False,
        site: SiteOption = None,
        allow_public: Annotated[
            bool, typer.Option("--allow-public", help="Allow public unicast targets.")
        ] = False,
        fail_on_restricted: FailOnRestrictedOption = False,
        verbose: VerboseOption = False,
    ) -> None:
        """Find devices that announce themselves (ONVIF, SADP, DHDiscover, SSDP/UPnP, mDNS, ARP)."""
        started = datetime.now(UTC)
        settings = DiscoverySettings(timeout_s=timeout, interface=iface, loopback_timeout_s=timeout)
        try:
            guard_output(output, target_files(targets), db=db)
            policy_ids = parse_policy_ids(policy)
            org_types = resolve_acting_as(acting_as)
            found = asyncio.run(run_discover(targets or [], settings, allow_public=allow_public))
            specs = targets or [iface or "attached segments"]
            result = build_result(
                found,
                started=started,
                target_specs=specs,
                policy_ids=policy_ids,
                acting_as=org_types,
            )
            emit(result, fmt, output, db, no_db, verbose=verbose, site=site)
        except ProvscanError as exc:
            raise fail_for(exc) from None
        finish(result, fail_on_restricted)
