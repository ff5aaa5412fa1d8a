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
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from provscan.commands.common import (
    AsOption,
    DbOption,
    FailOnRestrictedOption,
    ForceOption,
    FormatOption,
    NoDbOption,
    OutputOption,
    PolicyOption,
    SiteOption,
    check_store,
    emit,
    epilog,
    fail_for,
    finish,
    guard_output,
    output_format,
    parse_policy_ids,
    resolve_acting_as,
    target_files,
)
from provscan.commands.options_output import VerboseOption
from provscan.model import ScanResult

if TYPE_CHECKING:
    # Imported when the command runs: every command line registers this command, and the
    # discovery protocols (zeroconf among them) cost start-up time (issue 14).
    from provscan.discovery.interface import DiscoveryResult
    from provscan.discovery.runner import DiscoverySettings

#: ``--timeout``'s default: provscan.discovery.runner.DEFAULT_TIMEOUT_S (a test checks).
DEFAULT_TIMEOUT_S = 2.0


def build_result(
    result: "DiscoveryResult",
    *,
    started: datetime,
    target_specs: Sequence[str],
    policy_ids: Sequence[str] | None = None,
    acting_as: Sequence[str] = (),
) -> ScanResult:
    """Identify every discovered host (one device record each), posture included (the
    pipeline's; a site's sensor runs the same)."""
    from provscan.pipeline import identify_discovered

    return identify_discovered(
        result,
        started=started,
        target_specs=target_specs,
        policy_ids=policy_ids,
        acting_as=acting_as,
    )


async def run_discover(
    targets: Sequence[str], settings: "DiscoverySettings", *, allow_public: bool = False
) -> "DiscoveryResult":
    from provscan.discovery.runner import (
        MAX_UNICAST_TARGETS,
        discover_addresses,
        discover_segments,
        segments_for,
    )

    if targets:
        from provscan.errors import TargetError
        from provscan.targets import build_targets

        target_set = build_targets(targets, allow_public=allow_public)
        count = target_set.count()
        if count > MAX_UNICAST_TARGETS:
            # Refused before anything is sent: discovery would skip them all and report an
            # empty result that looks like a clean range.
            raise TargetError(
                f"the targets name {count} addresses; unicast discovery probes at most "
                f"{MAX_UNICAST_TARGETS} at a time: split them, or use `provscan scan`, which "
                "sweeps large ranges"
            )
        addresses = [address for address, _ in target_set]
        return await discover_addresses(addresses, settings)
    return await discover_segments(segments_for(settings), settings)


def register(app: typer.Typer) -> None:
    from provscan.errors import ProvscanError

    @app.command(
        short_help="Find devices that announce themselves (ONVIF, SADP, mDNS, …).",
        epilog=epilog(
            "provscan discover --iface eth0 --timeout 2",
            "provscan discover 127.77.20.10-14 --timeout 0.5 --no-db -f csv",
            "provscan discover 127.77.20.10-14 --as ca:federal-institution --no-db",
            stores_scan=True,
            fail_on_restricted=True,
        ),
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
        fmt: FormatOption = None,
        output: OutputOption = None,
        force: ForceOption = False,
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
        from provscan.commands.knowledge import warn_if_stale
        from provscan.discovery.runner import DiscoverySettings

        started = datetime.now(UTC)
        settings = DiscoverySettings(timeout_s=timeout, interface=iface, loopback_timeout_s=timeout)
        try:
            fmt = output_format(fmt, output)
            guard_output(output, target_files(targets), db=db, force=force)
            check_store(db, no_db)
            warn_if_stale()
            policy_ids = parse_policy_ids(policy)
            org_types = resolve_acting_as(acting_as, policy_ids)
            found = asyncio.run(run_discover(targets or [], settings, allow_public=allow_public))
            specs = targets or [iface or "attached segments"]
            result = build_result(
                found,
                started=started,
                target_specs=specs,
                policy_ids=policy_ids,
                acting_as=org_types,
            )
            emit(result, fmt, output, db, no_db, verbose=verbose, site=site, command="discover")
        except ProvscanError as exc:
            raise fail_for(exc) from None
        finish(result, fail_on_restricted)
