"""``provscan netbox pull`` and ``provscan netbox push``: NetBox's devices screened into the
inventory, and the findings written back as a tag and a custom field (only with --apply)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from provscan.commands.common import (
    AsOption,
    DbOption,
    ExitCode,
    FailOnRestrictedOption,
    ForceOption,
    FormatOption,
    NoDbOption,
    OutputOption,
    PolicyOption,
    check_store,
    emit,
    epilog,
    fail_for,
    finish,
    guard_output,
    open_db,
    output_console,
    output_format,
    parse_policy_ids,
    resolve_acting_as,
    stderr,
    warn,
)
from provscan.commands.common import _store as store_result  # emit's own store step
from provscan.errors import ProvscanError

if TYPE_CHECKING:
    from provscan.commands.common import OutputFormat
    from provscan.model import ScanResult
    from provscan.netbox.client import NetBoxClient, NetBoxDevice

netbox_app = typer.Typer(
    short_help="Read devices from NetBox; write findings back.",
    name="netbox",
    help="Read devices from NetBox into the inventory; write findings back.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_EXIT_CODES: list[ExitCode] = [
    (0, "done"),
    (1, "NetBox could not be reached or refused a request, or the database failed"),
    (2, "bad argument (a URL, an unreadable token file, an --output naming an input)"),
]


def _epilog(*examples: str, fail_on_restricted: bool = False) -> str:
    restricted = (3, "a restricted device was found and --fail-on-restricted was given")
    return epilog(*examples, codes=[*_EXIT_CODES, *([restricted] if fail_on_restricted else [])])


UrlOption = Annotated[
    str,
    typer.Option("--url", metavar="URL", help="NetBox's address, e.g. https://netbox.example.org."),
]
TokenFileOption = Annotated[
    Path,
    typer.Option(
        "--token-file",
        metavar="FILE",
        help="File holding the API token (never on the command line; chmod 600).",
    ),
]
NetBoxSiteOption = Annotated[
    str | None,
    typer.Option(
        "--site",
        metavar="SLUG",
        help="Only devices of this NetBox site (default: every site; pull files each device "
        "under its own NetBox site in the inventory).",
    ),
]
NetBoxQuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No summary line on stderr (errors and warnings are still said)."
    ),
]
CaFileOption = Annotated[
    Path | None,
    typer.Option("--ca-file", metavar="FILE", help="CA certificate for NetBox's HTTPS."),
]


class PushFormat(StrEnum):
    table = "table"
    json = "json"


def _client(url: str, token_file: Path, ca_file: Path | None) -> NetBoxClient:
    from provscan.netbox.client import NetBoxClient, read_token

    token, warnings = read_token(token_file)
    for warning in warnings:
        warn(warning)
    return NetBoxClient(url, token, ca_file=ca_file)


def pull(
    url: UrlOption,
    token_file: TokenFileOption,
    site: NetBoxSiteOption = None,
    policy: PolicyOption = None,
    acting_as: AsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
    no_db: NoDbOption = False,
    fail_on_restricted: FailOnRestrictedOption = False,
    ca_file: CaFileOption = None,
    quiet: NetBoxQuietOption = False,
) -> None:
    """Read NetBox's devices and screen them like a procurement list into the inventory.

    Manufacturer and device type (model) name the maker, as `provscan screen` does; the
    primary IP (IPv4, else IPv6), serial, name and site go with each device. Each device is
    filed under its NetBox site (addresses are per site in the inventory): one import per
    site when several are pulled at once. Devices without a primary IP are counted and left
    out. The import proves no absence (nothing goes missing because NetBox does not list it).
    """
    from provscan.identify import Identifier
    from provscan.netbox.pull import by_site, combined, screen_devices
    from provscan.screening.run import bundled_identifier

    try:
        fmt = output_format(fmt, output)
        guard_output(output, [token_file], db=db, force=force)
        check_store(db, no_db)
        policy_ids = parse_policy_ids(policy)
        org_types = resolve_acting_as(acting_as, policy_ids)
        client = _client(url, token_file, ca_file)
        with client:
            devices = client.devices(site)
        identifier = bundled_identifier()
        policies = identifier.knowledge.select_policies(policy_ids)
        stage = Identifier(identifier.knowledge, policies, acting_as=org_types)
        # Without --site every device keeps its own NetBox site (one import per site), never
        # none: the inventory keys addresses by site, and a later scan of the site matches.
        groups = {site: devices} if site is not None or not devices else by_site(devices)
        parts: list[tuple[str | None, ScanResult]] = []
        skipped: list[NetBoxDevice] = []
        for slug, members in groups.items():
            part, left_out = screen_devices(
                members, client.shown, identifier, stage, policies, site=slug
            )
            parts.append((slug, part))
            skipped += left_out
        if len(parts) == 1:
            the_site, result = parts[0]
            emit(result, fmt, output, db, no_db, site=the_site)
        else:
            result = combined(parts, client.shown, skipped)
            _emit_by_site(parts, result, fmt, output, db, no_db)
        sites = [slug for slug, part in parts if part.devices]
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if not quiet:
        restricted = sum(d.restricted for d in result.devices)
        named = [slug for slug in sites if slug is not None]
        where = f" (site{'s' * (len(named) > 1)} {', '.join(named)})" if named else ""
        stderr.print(
            f"NetBox {escape(client.shown)}: {len(devices)} device(s) read, "
            f"{len(result.devices)} screened into the inventory{escape(where)}, "
            f"{restricted} restricted"
            + (f"; {len(skipped)} without a primary IP left out" if skipped else ""),
            highlight=False,
        )
    finish(result, fail_on_restricted)


def _emit_by_site(
    parts: list[tuple[str | None, ScanResult]],
    result: ScanResult,
    fmt: OutputFormat,
    output: Path | None,
    db: str | None,
    no_db: bool,
) -> None:
    """Store each site's import at its site (unless ``no_db``), then write the one report of
    them all (``result``); as :func:`~provscan.commands.common.emit`, what was stored stays
    stored when the output fails, and a store that fails still gets the report written."""
    stored: list[tuple[str, str, str | None]] = []
    failure: ProvscanError | None = None
    if not no_db:
        for slug, part in parts:
            if not part.devices:  # only devices without a primary IP: nothing to store
                continue
            try:
                scan_id, where = store_result(part, db, slug, ())
            except ProvscanError as exc:
                failure = exc
                break
            stored.append((scan_id, where, slug))
    try:
        emit(result, fmt, output, db, True, command="netbox pull")
    finally:
        for scan_id, where, slug in stored:
            stderr.print(
                f"[dim]stored scan {escape(scan_id)} in {escape(where)}"
                f" (site {escape(slug or '(none)')})[/]",
                highlight=False,
            )
    if failure is not None:
        raise failure


def _changes_table(changes: list[dict[str, object]], console: Console) -> None:
    table = Table(title=None)
    for column in ("NetBox id", "name", "tag", "provscan_status"):
        table.add_column(column)
    for change in changes:
        before = change["status_before"]
        after = change["status_after"]
        status = f"{before or '(empty)'} -> {after}" if before != after else str(after)
        tag = change["tag"]
        table.add_row(
            str(change["netbox_id"]),
            escape(str(change["name"])),
            {"add": "+provscan-restricted", "remove": "-provscan-restricted"}.get(str(tag), ""),
            escape(status),
        )
    console.print(table)


def push(
    url: UrlOption,
    token_file: TokenFileOption,
    site: NetBoxSiteOption = None,
    apply_changes: Annotated[
        bool,
        typer.Option("--apply", help="Write the changes (default: show them, write nothing)."),
    ] = False,
    fmt: Annotated[
        PushFormat, typer.Option("--format", "-f", metavar="table|json", help="Output format.")
    ] = PushFormat.table,
    db: DbOption = None,
    ca_file: CaFileOption = None,
    quiet: NetBoxQuietOption = False,
) -> None:
    """Write findings back to NetBox: the tag provscan-restricted and the custom field
    provscan_status (restricted, binding measures, case), for devices pulled before.

    Without --apply nothing is written: the changes are shown. With it, the tag and the
    custom field are created when missing (NetBox 4), then each changed device is patched;
    other tags are kept.
    """
    from provscan.netbox.push import apply, links, plan

    try:
        client = _client(url, token_file, ca_file)
        with open_db(db, must_exist=True) as store:
            linked = links(store, client.shown)
            inventory = {d.device_id: d for d in store.inventory()}
        with client:
            devices = client.devices(site)
            changes = plan(devices, linked, inventory)
            made = apply(client, changes.changes) if apply_changes and changes.changes else []
    except ProvscanError as exc:
        raise fail_for(exc) from None
    shown = [change.to_json() for change in changes.changes]
    console = output_console()
    if fmt is PushFormat.json:
        document = {
            "netbox": client.shown,
            "applied": apply_changes,
            "changes": shown,
            "unchanged": changes.unchanged,
            "not_in_inventory": [item.id for item in changes.unmatched],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif shown:
        _changes_table(shown, console)
    for thing in made:  # what was written to NetBox is always said, even with --quiet
        stderr.print(f"created {escape(thing)} in NetBox", highlight=False)
    if quiet:
        return
    verb = "written" if apply_changes else "to write (nothing written; --apply writes)"
    stderr.print(
        f"NetBox {escape(client.shown)}: {len(shown)} device(s) {verb}, "
        f"{changes.unchanged} already up to date, {len(changes.unmatched)} not in the "
        "inventory (pull them first; devices without a primary IP are never pulled)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    netbox_app.command(
        short_help="Read NetBox's devices and screen them into the inventory.",
        name="pull",
        epilog=_epilog(
            "provscan netbox pull --url https://netbox.example.org --token-file ~/.netbox-token",
            "provscan netbox pull --url https://netbox.example.org --token-file T --site hq -f json",
            fail_on_restricted=True,
        ),
    )(pull)
    netbox_app.command(
        short_help="Write findings back to NetBox (a tag and a custom field).",
        name="push",
        epilog=_epilog(
            "provscan netbox push --url https://netbox.example.org --token-file T   (shows)",
            "provscan netbox push --url https://netbox.example.org --token-file T --apply",
        ),
    )(push)
    app.add_typer(netbox_app)
