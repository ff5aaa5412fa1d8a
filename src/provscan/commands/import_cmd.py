"""``provscan import FILE...``: identify devices from what other tools saw (nmap, masscan,
a CMDB CSV, DHCP leases, a switch's MAC table), sending nothing."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from provscan.commands.common import (
    AsOption,
    DbOption,
    FailOnRestrictedOption,
    ForceOption,
    FormatOption,
    NmapFallbackOption,
    NoDbOption,
    OutputOption,
    PolicyOption,
    QuietOption,
    SiteOption,
    check_store,
    emit,
    epilog,
    fail_for,
    finish,
    guard_output,
    nmap_fallback,
    output_format,
    parse_policy_ids,
    resolve_acting_as,
    stderr,
)
from provscan.errors import ProvscanError
from provscan.importers import ImportFormat

FromOption = Annotated[
    ImportFormat | None,
    typer.Option(
        "--from",
        metavar="nmap-xml|masscan-json|csv|dhcp-leases|mac-table",
        help="The format of every FILE (default: detected from each file's first bytes).",
        case_sensitive=False,
    ),
]


#: Notes shown on stderr: what was left out of an import, and why.
_SHOWN_NOTES = (
    " skipped",
    "truncated",
    "only the first",
    " is not a",
    "more malformed",
    "; not read: ",
)


def register(app: typer.Typer) -> None:
    @app.command(
        "import",
        short_help="Identify devices from other tools' files (nothing is sent).",
        epilog=epilog(
            "provscan import scan.xml",
            "provscan import masscan.json --from masscan-json -f json -o imported.json",
            "provscan import assets.csv --site hq --as us:federal-contractor",
            'provscan import register.xlsx --ip-col "Adresse IP" --maker-col Fabricant',
            "provscan import assets.xlsx --sheet Cameras --site hq",
            "provscan import dhcpd.leases switch1-mac-table.txt --site hq",
            "nmap -sV -oX lab.xml 127.77.1.10 && provscan import lab.xml --no-db",
            stores_scan=True,
            fail_on_restricted=True,
        ),
    )
    def import_(
        files: Annotated[
            list[str],
            typer.Argument(
                metavar="FILE",
                help=(
                    "nmap XML (-oX), masscan JSON (-oJ) or list (-oL), a CSV or XLSX table "
                    "with an IP or MAC column (--from csv), ISC dhcpd.leases or dnsmasq "
                    "leases, a MAC address table. The "
                    "records of all files are joined on MAC (a MAC table with DHCP leases)."
                ),
            ),
        ],
        from_format: FromOption = None,
        policy: PolicyOption = None,
        acting_as: AsOption = None,
        fmt: FormatOption = None,
        output: OutputOption = None,
        force: ForceOption = False,
        db: DbOption = None,
        no_db: NoDbOption = False,
        site: SiteOption = None,
        fail_on_restricted: FailOnRestrictedOption = False,
        quiet: QuietOption = False,
        use_nmap_fallback: NmapFallbackOption = True,
        ip_col: Annotated[
            str | None,
            typer.Option(
                "--ip-col",
                metavar="COLUMN",
                help="A table's IP address column: header name, number or letter "
                "(default: found by its header).",
            ),
        ] = None,
        mac_col: Annotated[
            str | None,
            typer.Option("--mac-col", metavar="COLUMN", help="A table's MAC address column."),
        ] = None,
        maker_col: Annotated[
            str | None,
            typer.Option("--maker-col", metavar="COLUMN", help="A table's maker (brand) column."),
        ] = None,
        model_col: Annotated[
            str | None,
            typer.Option("--model-col", metavar="COLUMN", help="A table's model column."),
        ] = None,
        sheet: Annotated[
            str | None,
            typer.Option(
                "--sheet",
                metavar="NAME",
                help="The sheet of an XLSX workbook to read (default: the first; a note "
                "names the others).",
            ),
        ] = None,
    ) -> None:
        """Identify devices from what other tools saw (nothing is sent; no address read from
        a file is ever contacted). Stored like a scan, marked with its source; an import
        proves no absence, so it never marks a device missing."""
        from provscan.commands.knowledge import warn_if_stale
        from provscan.pipeline import run_import

        try:
            fmt = output_format(fmt, output)
            guard_output(output, files, db=db, force=force)
            check_store(db, no_db)
            warn_if_stale()
            policy_ids = parse_policy_ids(policy)
            org_types = resolve_acting_as(acting_as, policy_ids)
            result = run_import(
                [(name, from_format) for name in files],
                policy_ids=policy_ids,
                acting_as=org_types,
                service_probes=nmap_fallback(use_nmap_fallback),
                columns={
                    role: spec
                    for role, spec in (
                        ("ip", ip_col),
                        ("mac", mac_col),
                        ("maker", maker_col),
                        ("model", model_col),
                    )
                    if spec is not None
                },
                sheet=sheet,
            )
            if not quiet:
                for note in result.info.notes:
                    if any(marker in note for marker in _SHOWN_NOTES):
                        stderr.print(f"[yellow]provscan: note:[/] {escape(note)}", highlight=False)
            emit(result, fmt, output, db, no_db, site=site)
        except ProvscanError as exc:
            raise fail_for(exc) from None
        finish(result, fail_on_restricted)
