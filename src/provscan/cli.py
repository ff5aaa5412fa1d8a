"""The command line. It parses arguments, picks concrete parts and listens to scan events."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from provscan import __version__
from provscan.commands.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
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
    UsageProblem,
    check_store,
    emit,
    epilog,
    fail,
    fail_for,
    finish,
    guard_output,
    nmap_fallback,
    output_console,
    output_format,
    parse_policy_ids,
    resolve_acting_as,
    scan_coverage,
    scan_observer,
    stderr,
    target_files,
    warn,
)
from provscan.commands.options_output import VerboseOption, interrupted
from provscan.errors import ProvscanError, TargetError
from provscan.transport.limits import DEFAULT_PORTS, ScanLimits

if TYPE_CHECKING:
    from collections.abc import Iterable

    from provscan.credentials import CredentialStore
    from provscan.knowledge.schema import Policy

# Arguments already name their kind in words (TARGET, FILE, BRAND MODEL); typer 0.29 would
# append the Python annotation ("<list[str]>") to them in --help, which helps nobody.
typer.core.TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]

app = typer.Typer(
    name="provscan",
    help="Find devices made by restricted surveillance vendors (incl. OEM relabels) on networks you own.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain click help: option types in words (metavars), no boxes, and greppable text.
    rich_markup_mode=None,
    add_completion=True,
)
lab_app = typer.Typer(
    short_help="The built-in device lab: emulated devices on loopback.",
    help="The built-in device lab: emulated devices on loopback addresses.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(lab_app, name="lab")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"provscan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """provscan: which devices on our networks were made by a restricted vendor?"""


def _load_credentials(path: Path | None) -> CredentialStore | None:
    """The credentials file, with a warning when others can read it (values never shown)."""
    if path is None:
        return None
    from provscan.credentials import CredentialsError, load_credentials

    try:
        store = load_credentials(path)
    except CredentialsError as exc:
        raise UsageProblem(str(exc)) from None
    for warning in store.warnings:
        warn(warning)
    return store


@app.command(
    short_help="Scan targets: each device's real maker, flag restricted vendors.",
    epilog=epilog(
        "provscan scan 127.77.1.0/24                  (the lab; put your own ranges here)",
        "provscan scan 127.77.1.0/24 127.77.4.0/24 --exclude 127.77.4.14 --policy ca,us",
        "provscan scan 127.77.1.0/24 --as ca:federal-institution",
        "provscan scan @examples/lab-targets.txt -f json -o scan.json --fail-on-restricted",
        "provscan scan 127.77.1.10 --ports 80,443,554,8000 --rate 50",
        stores_scan=True,
        partial=True,
        fail_on_restricted=True,
    ),
)
def scan(
    targets: Annotated[
        list[str],
        typer.Argument(
            metavar="TARGET",
            help="IPs, CIDRs, ranges (a-b), host names, IPv6 literals or @file lists.",
        ),
    ],
    ports: Annotated[
        str | None,
        typer.Option(
            "--ports",
            "-p",
            metavar="PORTS",
            help="Ports to scan, e.g. 80,443,8000-8010 (default: camera port set).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude", metavar="TARGET", help="Targets to skip (same syntax; repeatable)."
        ),
    ] = None,
    policy: PolicyOption = None,
    acting_as: AsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
    no_db: NoDbOption = False,
    site: SiteOption = None,
    fail_on_restricted: FailOnRestrictedOption = False,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            min=0.0,
            metavar="PER_SECOND",
            help="Max new connections per second (0 = unlimited).",
        ),
    ] = 0.0,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", min=1, max=4096, metavar="N", help="Global connection limit."
        ),
    ] = ScanLimits.global_connection_limit,
    per_host: Annotated[
        int,
        typer.Option(
            "--per-host", min=1, max=64, metavar="N", help="Connections at once per host."
        ),
    ] = ScanLimits.per_host_connection_limit,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.05,
            max=120.0,
            metavar="SECONDS",
            help="Per-connection deadline.",
        ),
    ] = ScanLimits.per_connection_deadline_s,
    host_timeout: Annotated[
        float,
        typer.Option(
            "--host-timeout",
            min=0.1,
            max=3600.0,
            metavar="SECONDS",
            help="Per-host deadline.",
        ),
    ] = ScanLimits.per_host_deadline_s,
    max_hosts: Annotated[
        int,
        typer.Option(
            "--max-hosts", min=1, metavar="N", help="Refuse target sets larger than this."
        ),
    ] = 65536,
    allow_public: Annotated[
        bool,
        typer.Option(
            "--allow-public",
            help="Allow public (internet-routable) targets you are authorised to scan.",
        ),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    use_nmap_fallback: NmapFallbackOption = True,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            metavar="FILE",
            help="YAML/TOML file of device credentials (per IP, per subnet, default) to read "
            "model, serial and firmware through the devices' own APIs. Never logged or stored.",
        ),
    ] = None,
    check_default_credentials: Annotated[
        bool,
        typer.Option(
            "--check-default-credentials",
            help="Try each documented factory account once (read-only request; stops at the "
            "first lockout sign). Off by default.",
        ),
    ] = False,
    snmp_community: Annotated[
        str | None,
        typer.Option(
            "--snmp-community",
            metavar="COMMUNITY",
            help="SNMP read community: one read-only GET of sysDescr and sysObjectID over UDP "
            "161, sent to the named targets only. Default: PROVSCAN_SNMP_COMMUNITY, else no "
            "SNMP at all. Never stored or printed.",
        ),
    ] = None,
    no_discovery: Annotated[
        bool,
        typer.Option(
            "--no-discovery",
            help="Skip discovery (WS-Discovery, SADP, DHDiscover, SSDP/UPnP, mDNS, ARP) on "
            "attached segments and loopback targets.",
        ),
    ] = False,
    iface: Annotated[
        str | None,
        typer.Option("--iface", metavar="NAME", help="Run discovery only on this interface."),
    ] = None,
    sweep_engine: Annotated[
        str,
        typer.Option(
            "--sweep-engine",
            metavar="auto|builtin|nmap",
            # the numbers: AUTO_NMAP_FROM, PARALLEL_FROM and MAX_WORKERS (engine/sweep.py,
            # transport/sweep_workers.py), kept out of the import of the CLI
            help="How open ports are found before probing: builtin (batched connects; "
            "without --rate, from 2048 addresses, in one worker process per CPU, at most 4, "
            "one when every CPU is busy; PROVSCAN_SWEEP_WORKERS=N decides instead) or nmap's "
            "connect scan, handed only the checked addresses; auto: builtin, except on a "
            "machine with one CPU for 4096 or more addresses without --rate, where it is nmap "
            "when installed. --rate, --exclude, --timeout and the scope rules hold for both.",
        ),
    ] = "auto",
) -> None:
    """Scan targets, identify each device's real maker and flag restricted vendors."""
    from provscan.commands.knowledge import warn_if_stale
    from provscan.discovery.runner import DiscoverySettings, is_warning
    from provscan.engine.sweep import choose_sweeper
    from provscan.pipeline import run_interruptibly, run_scan
    from provscan.targets import build_targets, parse_ports

    try:
        fmt = output_format(fmt, output)
        guard_output(
            output,
            [*target_files(targets), *target_files(exclude), credentials],
            db=db,
            force=force,
        )
        check_store(db, no_db)
        warn_if_stale()
        try:
            port_list = parse_ports(ports) if ports is not None else DEFAULT_PORTS
            target_set = build_targets(
                targets, exclude or [], allow_public=allow_public, max_hosts=max_hosts
            )
        except TargetError as exc:
            raise UsageProblem(str(exc)) from exc
        choose_sweeper(sweep_engine)  # unknown, or nmap and not installed: exit 2 before any work
        limits = dataclasses.replace(
            ScanLimits(),
            global_connection_limit=concurrency,
            per_host_connection_limit=min(per_host, concurrency),
            per_connection_deadline_s=timeout,
            connect_timeout_s=min(ScanLimits.connect_timeout_s, timeout),
            read_timeout_s=min(ScanLimits.read_timeout_s, timeout),
            per_host_deadline_s=host_timeout,
            rate_per_second=rate,
        )
        policy_ids = parse_policy_ids(policy)
        org_types = resolve_acting_as(acting_as, policy_ids)
        credential_store = _load_credentials(credentials)
        observer = scan_observer(quiet)
        # The first Ctrl-C stops the scan: what it learned is printed and stored, marked
        # incomplete, and the exit is 130; a second Ctrl-C exits at once.
        result, cut_short = run_interruptibly(
            lambda stop: run_scan(
                target_set,
                targets,
                port_list,
                policy_ids=policy_ids,
                limits=limits,
                observer=observer,
                credentials=credential_store,
                check_default_credentials=check_default_credentials,
                discovery=None if no_discovery else DiscoverySettings(interface=iface),
                stop=stop,
                sweep_engine=sweep_engine,
                acting_as=org_types,
                snmp_community=snmp_community or None,
                service_probes=nmap_fallback(use_nmap_fallback),
            )
        )
        # A note that devices may be missing (discovery skipped) is said on stderr too: a
        # "note:" line among others is easy to miss, and -f json keeps it inside the document.
        for note in result.info.notes:
            if is_warning(note):
                warn(note)
        emit(
            result,
            fmt,
            output,
            db,
            no_db,
            verbose=verbose,
            site=site,
            # The coverage is for the store only (it imports the inventory and SQLAlchemy).
            coverage=() if no_db else scan_coverage(target_set),
        )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if cut_short:
        raise interrupted(result.info.hosts_scanned, target_set.size_upper_bound)
    finish(result, fail_on_restricted)


@app.command(
    short_help="Run the built-in lab, scan it and print the findings.",
    epilog=epilog(
        "provscan demo",
        "provscan demo -f json -o demo.json --no-db",
        "provscan demo -v",
        stores_scan=True,
        partial=True,
        fail_on_restricted=True,
    ),
)
def demo(
    fmt: FormatOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
    no_db: NoDbOption = False,
    quiet: QuietOption = False,
    fail_on_restricted: FailOnRestrictedOption = False,
    verbose: VerboseOption = False,
    use_nmap_fallback: NmapFallbackOption = True,
) -> None:
    """Start the built-in device lab, scan it, print the findings and stop the lab."""
    from provscan.lab.server import run_lab_in_thread
    from provscan.model import address_sort_key
    from provscan.pipeline import run_interruptibly, run_scan
    from provscan.targets import build_targets

    try:
        fmt = output_format(fmt, output)
        guard_output(output, [], db=db, force=force)
        check_store(db, no_db)
        with run_lab_in_thread() as lab:
            addresses = sorted({d.address for d in lab.devices}, key=address_sort_key)
            stderr.print(
                f"[bold]lab up:[/] {len(lab.devices)} emulated devices on {len(addresses)} loopback addresses",
                highlight=False,
            )
            limits = dataclasses.replace(
                ScanLimits(), per_connection_deadline_s=4.0, per_host_deadline_s=20.0
            )
            target_set = build_targets(addresses)
            observer = scan_observer(quiet)
            result, cut_short = run_interruptibly(  # Ctrl-C: as for `provscan scan`
                lambda stop: run_scan(
                    target_set,
                    addresses,
                    DEFAULT_PORTS,
                    limits=limits,
                    observer=observer,
                    stop=stop,
                    service_probes=nmap_fallback(use_nmap_fallback),
                )
            )
        # stored like `provscan scan` of the same addresses: a complete demo covers them, so
        # a later scan or demo can show a device missing and verify a case
        emit(
            result,
            fmt,
            output,
            db,
            no_db,
            verbose=verbose,
            coverage=() if no_db else scan_coverage(target_set),
        )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if cut_short:
        raise interrupted(result.info.hosts_scanned, len(addresses))
    finish(result, fail_on_restricted)


class PolicyFormat(StrEnum):
    table = "table"
    json = "json"


@app.command(
    short_help="The bundled policies: their measures, whom they bind, citations.",
    epilog=epilog(
        "provscan policies",
        "provscan policies --format json > policies.json",
        "provscan policies --as-types            (the organisation types --as accepts)",
    ),
)
def policies(
    fmt: Annotated[
        PolicyFormat,
        typer.Option("--format", "-f", metavar="table|json", help="Output format."),
    ] = PolicyFormat.table,
    as_types: Annotated[
        bool,
        typer.Option(
            "--as-types",
            metavar="",
            help="List the organisation types (JURISDICTION:ORGTYPE) that --as accepts.",
        ),
    ] = False,
) -> None:
    """List the bundled jurisdiction policies, their measures, whom they bind and citations."""
    from provscan.knowledge.loader import load_knowledge

    try:
        knowledge = load_knowledge()
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if as_types:
        _print_org_types(knowledge.policies.values(), fmt)
        return
    if fmt is PolicyFormat.json:
        document = {"policies": [p.model_dump(mode="json") for p in knowledge.policies.values()]}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    from rich.padding import Padding
    from rich.text import Text

    # One block per measure, grouped by policy: readable at 80 columns (a seven-column table
    # is not); -f json has every field.
    console = output_console(highlight=False)
    for policy in knowledge.policies.values():
        console.print(Text.assemble((policy.id, "bold"), f"  {policy.jurisdiction}"))
        for measure in policy.measures:
            categories = [
                f"{'/'.join(c.device_types)} made "
                + (
                    f"in {'/'.join(c.made_in)}"
                    if c.made_in
                    else f"outside {'/'.join(c.made_outside)}"
                )
                for c in measure.categories
            ]
            restricts = "restricts" if measure.restricts else "restricts nothing"
            binds = ", ".join(measure.org_types) or f"nobody ({measure.binds})"
            lines = [
                (2, measure.title, "bold" if measure.restricts else ""),
                (4, f"{measure.effect} ({restricts}), since {measure.effective}", ""),
                (4, f"binds: {binds}", ""),
                *([(4, f"only if {measure.applies_if}", "")] if measure.applies_if else []),
                (4, f"names: {', '.join([*measure.families, *categories])}", ""),
                (4, measure.citation, "dim"),
                # the official text, so a reader can check the measure (-f json: all sources)
                (4, f"link: {measure.link or 'none found (sources: -f json)'}", "dim"),
            ]
            for indent, words, style in lines:
                console.print(Padding(Text(words, style=style), (0, 0, 0, indent), expand=False))
        console.print()


def _print_org_types(policies: Iterable[Policy], fmt: PolicyFormat) -> None:
    """The --as vocabulary: id and description, in the order the policies declare them."""
    from provscan.knowledge.policies import EVERYONE

    rows = [
        (org_type.id, org_type.description)
        for policy in policies
        for org_type in policy.org_types
        if org_type.id.partition(":")[2] != EVERYONE
    ]
    if fmt is PolicyFormat.json:
        document = {"org_types": [{"id": i, "description": d} for i, d in rows]}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    from provscan.commands.common import wrap_words

    # Each description wraps between words under itself, within the terminal's width (a
    # newcomer found lines of 136 characters at 80 columns); the ids are never broken.
    width = max(len(org_id) for org_id, _ in rows)
    terminal = Console().width
    for org_id, description in rows:
        for line in wrap_words(f"{org_id:<{width}}  {description}", terminal, indent=width + 2):
            typer.echo(line)
    typer.echo("")
    for line in wrap_words(
        "Use: --as ID[,ID...] (or [organisation] as = [...] in the config file).", terminal
    ):
        typer.echo(line)


def _state_dir(state_dir: Path | None) -> Path:
    if state_dir is not None:
        return state_dir
    from platformdirs import user_state_dir

    return Path(user_state_dir("provscan")) / "lab"


@lab_app.command("up")
def lab_up(
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="Where the lab keeps its pid and state.")
    ] = None,
) -> None:
    """Start the lab in the background."""
    from provscan.lab.server import lab_up as start

    try:
        pid = start(_state_dir(state_dir))
    except ProvscanError as exc:
        raise fail(str(exc)) from None
    down = "provscan lab down"
    if state_dir is not None:
        import shlex

        down += f" --state-dir {shlex.quote(str(state_dir))}"
    typer.echo(f"lab running (pid {pid}); `provscan lab list` shows its devices, `{down}` stops it")


@lab_app.command("down")
def lab_down(state_dir: Annotated[Path | None, typer.Option("--state-dir")] = None) -> None:
    """Stop the background lab."""
    from provscan.lab.server import lab_down as stop

    try:
        stop(_state_dir(state_dir))
    except ProvscanError as exc:
        raise fail(str(exc)) from None
    typer.echo("lab stopped")


@lab_app.command("list")
def lab_list(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Every field and each device's description, device by device."
        ),
    ] = False,
) -> None:
    """List the lab's emulated devices (from the bundled personalities)."""
    from provscan.commands.lab import lab_table
    from provscan.lab.server import load_devices

    lab_table(load_devices(), output_console(), verbose=verbose)


#: Command modules of later pipeline inputs; each defines ``register(app: typer.Typer)``.
COMMAND_MODULES: tuple[str, ...] = (
    "discover",
    "pcap",
    "lookup",
    "explain",
    "screen",
    "knowledge",
    "kev",
    "inventory",
    "report",
    "import_cmd",
    "tickets",
    "events",
    "netbox",
    "serve",
    "users",
    "sensor",
)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"provscan.commands.{name}")
        module.register(app)


_register_commands()


def _usage_hint(exc: typer.TyperException) -> str:
    context = getattr(exc, "ctx", None)
    path = getattr(context, "command_path", "") or ""
    # the words after the program's own name, however it was started ("python -m provscan")
    root = context.find_root().command_path if context is not None else ""
    command = path.removeprefix(root).strip()
    return f"; see 'provscan {command} --help'" if command else "; see 'provscan --help'"


def main() -> None:
    # standalone_mode=False: typer hands usage errors back, so each becomes one short line
    # ("provscan: error: …", exit 2) instead of a usage block.
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        stderr.print("provscan: aborted", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    except typer.TyperException as exc:  # click's usage and parameter errors
        if type(exc).__name__ == "NoArgsIsHelpError":  # `provscan` alone: the help
            typer.echo(
                exc.format_message() if hasattr(exc, "format_message") else str(exc), err=True
            )
            sys.exit(EXIT_USAGE)
        exit_code = getattr(exc, "exit_code", EXIT_USAGE)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        # pydantic (typer's coercion) prefixes its messages; the user needs only the words.
        message = message.replace("Value error, ", "").rstrip(".")
        hint = _usage_hint(exc) if exit_code == EXIT_USAGE else ""
        stderr.print(f"provscan: error: {message}{hint}", highlight=False, markup=False)
        sys.exit(exit_code)
    except KeyboardInterrupt:
        stderr.print("provscan: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`provscan … | head`): what was stored stays stored; stdout is
        # pointed at /dev/null so that Python's own flush at exit cannot fail again. Exit 1,
        # as rich does when the table's pipe closes.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_ERROR)
    except ProvscanError as exc:
        stderr.print(f"provscan: error: {exc}", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # the last line of defence: a message, not a traceback
        if os.environ.get("PROVSCAN_DEBUG"):
            raise
        stderr.print(
            f"provscan: internal error: {type(exc).__name__}: {exc} (set PROVSCAN_DEBUG=1 for a traceback)",
            highlight=False,
            markup=False,
        )
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)
