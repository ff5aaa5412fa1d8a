"""The command line. It parses arguments, picks concrete parts and listens to scan events."""

# ruff: noqa: E402 (a Ctrl-C while the imports below run is said in one line: _starting)
from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType


def _quit_while_starting(signum: int, frame: object) -> None:
    """SIGINT before a command has started: nothing is done yet, so the process ends at once
    with one line and 130, not a KeyboardInterrupt traceback from an import (143 for a
    SIGTERM, which :func:`_terminate` hands here as a Ctrl-C)."""
    os.write(2, b"provscan: interrupted\n")
    os._exit(128 + signum)


def _starting() -> None:
    """Ctrl-C quits at once (:func:`_quit_while_starting`) until :func:`_started`, when
    Python's own handler is in place (not when an importer set its own)."""
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _quit_while_starting)


def _started(handler: object = signal.default_int_handler) -> None:
    """``handler`` for Ctrl-C (Python's own: KeyboardInterrupt) if :func:`_starting` set one."""
    if signal.getsignal(signal.SIGINT) is _quit_while_starting:
        signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]


#: When each SIGTERM :func:`_terminate` acted on came (``time.monotonic``): any makes the
#: exit 143 instead of 130 (:func:`main`).
TERMINATED: list[float] = []
#: A SIGTERM this soon after the last one is the same request: `timeout` sends its signal to
#: the command and then to its whole process group, so the command receives it twice at once
#: (a second Ctrl-C would stop the scan at once, losing what it learned).
SAME_SIGTERM_S = 0.5


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (sent by `timeout`, systemd, a CI job cancelled) is a Ctrl-C: it goes to
    whatever handles Ctrl-C at that moment, so the first stops a scan, whose results are
    printed and stored, marked incomplete, and a second stops at once; the exit is 143 (128 +
    15) instead of 130. When Ctrl-C is ignored (a script's background job) or left to the
    system, SIGTERM ends the process as it did before this handler."""
    now = time.monotonic()
    if TERMINATED and now - TERMINATED[-1] < SAME_SIGTERM_S:
        return
    TERMINATED.append(now)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


def _terminate_as_interrupt() -> None:
    """SIGTERM handled by :func:`_terminate` from now on (in the main thread, unless
    something else handles SIGTERM already)."""
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _terminate)


_starting()

import atexit
import dataclasses
import importlib
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from provscan import __version__
from provscan.commands.common import (
    EXIT_ERROR,
    EXIT_INCONCLUSIVE,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    INTERRUPTS_RECEIVED,
    STORED_THIS_RUN,
    AsOption,
    DbOption,
    FailOnRestrictedOption,
    ForceOption,
    FormatOption,
    Interrupts,
    NmapFallbackOption,
    NoDbOption,
    OutputFormat,
    OutputOption,
    PolicyOption,
    QuietOption,
    SiteOption,
    UsageProblem,
    check_site,
    check_store,
    counting_interrupts,
    emit,
    epilog,
    exit_codes,
    fail,
    fail_for,
    finish,
    guard_output,
    nmap_fallback,
    output_console,
    output_format,
    parse_policy_ids,
    resolve_acting_as,
    say_interrupted,
    scan_coverage,
    scan_observer,
    silent_scan_misses,
    stderr,
    target_files,
    warn,
)
from provscan.commands.options_output import VerboseOption
from provscan.errors import ProvscanError, TargetError
from provscan.transport.limits import DEFAULT_PORTS, ScanLimits

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Coroutine, Iterable, Sequence

    from provscan.credentials import CredentialStore
    from provscan.knowledge.schema import Policy
    from provscan.model import ScanResult
    from provscan.targets import TargetSet

# Arguments already name their kind in words (TARGET, FILE, BRAND MODEL); typer 0.29 would
# append the Python annotation ("<list[str]>") to them in --help, which helps nobody.
typer.core.TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]


class _Root(typer.core.TyperGroup):
    """The root command: a Ctrl-C that a command does not say itself is said in one line
    (typer turns a KeyboardInterrupt into exit 130 without a word), naming the scan stored
    when it came after that."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click.Context
        _started(_interrupt)  # when main() runs the command
        STORED_THIS_RUN.clear()
        INTERRUPTS_RECEIVED.clear()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise say_interrupted(_stored_this_run()) from None


def _interrupt(signum: int, frame: object) -> None:
    """Python's own Ctrl-C handler, with the Ctrl-C noted: a KeyboardInterrupt that a library
    wraps in an error of its own (pydantic's SchemaError) is then said as the interruption."""
    INTERRUPTS_RECEIVED.append(signum)
    raise KeyboardInterrupt


def _stored_this_run() -> str:
    """The end of the line that says an interruption, for the scan stored before it, if any."""
    return f"; scan stored as {STORED_THIS_RUN[-1]}" if STORED_THIS_RUN else ""


app = typer.Typer(
    name="provscan",
    cls=_Root,
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


def _scan_exit_codes() -> list[tuple[int, str]]:
    """`provscan scan`'s exit codes: those of the commands that store a scan, and 5
    (:func:`_nothing_answered`) before the interruptions' 130 and 143."""
    codes = exit_codes(stores_scan=True, partial=True, fail_on_restricted=True)
    inconclusive = (
        EXIT_INCONCLUSIVE,
        "inconclusive: nothing answered where devices are known (the store has devices at "
        "these addresses, seen on the ports probed, not said to be gone; stored only with "
        "--store-empty)",
    )
    return sorted([*codes, inconclusive])


@app.command(
    short_help="Scan targets: each device's real maker, flag restricted vendors.",
    epilog=epilog(
        "provscan scan 127.77.1.0/24                  (the lab; put your own ranges here)",
        "provscan scan 127.77.1.0/24 127.77.4.0/24 --exclude 127.77.4.14 --policy ca,us",
        "provscan scan 127.77.1.0/24 --as ca:federal-institution",
        "provscan scan @examples/lab-targets.txt -f json -o scan.json --fail-on-restricted",
        "provscan scan 127.77.1.10 --ports 80,443,554,8000 --rate 50",
        codes=_scan_exit_codes(),
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
            help="SNMP read community: one read-only GET of sysDescr, sysObjectID and sysName "
            "over UDP 161, sent to the named targets only. Default: PROVSCAN_SNMP_COMMUNITY, else no "
            "SNMP at all. Never stored or printed.",
        ),
    ] = None,
    store_empty: Annotated[
        bool,
        typer.Option(
            "--store-empty",
            help="Store the scan even when no target answered at all. Without it such a scan "
            "is printed but not stored: the network may just have been out of reach, and "
            "storing it would count every device known at its addresses missing. Such a "
            "scan exits 5 (inconclusive) with or without it.",
        ),
    ] = False,
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
    # Ctrl-C is counted from here on, not raised wherever it lands (a library can swallow a
    # KeyboardInterrupt, or wrap it in an error of its own): one before the scan stops it
    # before any probe, a second at once. In the network phase the first stops the scan,
    # whose results are then printed and stored, marked incomplete, and a second exits at
    # once. After it, none loses the scan (_gathered).
    sending = False  # whether the network phase has begun
    try:
        with counting_interrupts() as interrupts:
            interrupts.raise_at = 2
            ready = _scan_settings(
                targets, ports, exclude, fmt, output, force, db, no_db, max_hosts,
                allow_public, sweep_engine, concurrency, per_host, timeout, host_timeout,
                rate, policy, acting_as, credentials, site,
            )  # fmt: skip
            interrupts.raise_at = None
            if interrupts.count:
                raise KeyboardInterrupt
            sending = True
            result, cut_short = _run_scan(
                ready, targets, quiet, no_discovery, iface, check_default_credentials,
                sweep_engine, snmp_community, use_nmap_fallback, interrupts,
            )  # fmt: skip
            interrupts.count = max(interrupts.count, int(cut_short))
            inconclusive = _gathered(
                result, ready.fmt, output, db, no_db, interrupts, cut_short, verbose, site,
                ready.targets, store_empty=store_empty,
            )  # fmt: skip
    except ProvscanError as exc:
        raise fail_for(exc) from None
    except KeyboardInterrupt:  # before the scan, or a second Ctrl-C in its network phase
        raise say_interrupted(_unstored_line(sending, no_db)) from None
    finish(result, fail_on_restricted)
    if inconclusive:
        raise typer.Exit(EXIT_INCONCLUSIVE)


def _unstored_line(sending: bool, no_db: bool) -> str:
    """What a Ctrl-C that left no result says: before the network phase (``sending``
    False), nothing was sent; in it, a second Ctrl-C stopped the scan at once."""
    nothing = "" if no_db else ", nothing stored"
    if not sending:
        return f" before the scan started: nothing sent{nothing}"
    return f" a second time: the scan stopped at once{nothing}"


#: What a refusal of a public target says: when scanning one is allowed and where that is
#: explained, never a command that would scan it (the user may not own the address).
PUBLIC_UNLESS_OWNED = 'refused unless you own it (README "Safety model" explains --allow-public)'


@dataclasses.dataclass(frozen=True)
class _ScanSettings:
    """What `provscan scan`'s arguments come to, checked before anything is sent."""

    fmt: OutputFormat
    targets: TargetSet
    ports: tuple[int, ...]
    limits: ScanLimits
    policy_ids: list[str] | None
    acting_as: tuple[str, ...]
    credentials: CredentialStore | None


def _scan_settings(
    targets: list[str],
    ports: str | None,
    exclude: list[str] | None,
    fmt: OutputFormat | None,
    output: Path | None,
    force: bool,
    db: str | None,
    no_db: bool,
    max_hosts: int,
    allow_public: bool,
    sweep_engine: str,
    concurrency: int,
    per_host: int,
    timeout: float,
    host_timeout: float,
    rate: float,
    policy: str | None,
    acting_as: str | None,
    credentials: Path | None,
    site: str | None = None,
) -> _ScanSettings:
    """`provscan scan`'s arguments checked (a bad one: exit 2 before any work)."""
    from provscan.commands.knowledge import warn_if_stale
    from provscan.engine.sweep import choose_sweeper
    from provscan.interlock import ALLOWED_TARGETS_ENV
    from provscan.targets import PublicTarget, build_targets, parse_ports

    chosen = output_format(fmt, output)
    guard_output(
        output,
        [*target_files(targets), *target_files(exclude), credentials],
        db=db,
        force=force,
    )
    check_store(db, no_db)
    check_site(db, no_db, site)
    warn_if_stale()
    try:
        port_list = parse_ports(ports) if ports is not None else DEFAULT_PORTS
        target_set = build_targets(
            targets, exclude or [], allow_public=allow_public, max_hosts=max_hosts
        )
    except PublicTarget as exc:  # the scope rule's own words name this very command
        why = (
            f", and outside {ALLOWED_TARGETS_ENV} (the scope interlock set in this "
            "environment; --allow-public does not lift it)"
            if exc.interlocked
            # no command line that would scan it: the user may not own it
            else f"; {PUBLIC_UNLESS_OWNED}"
        )
        raise UsageProblem(f"refusing target {exc.spec}: public address{why}") from None
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
    return _ScanSettings(
        chosen,
        target_set,
        port_list,
        limits,
        policy_ids,
        resolve_acting_as(acting_as, policy_ids),
        _load_credentials(credentials),
    )


def _run_scan(
    ready: _ScanSettings,
    targets: list[str],
    quiet: bool,
    no_discovery: bool,
    iface: str | None,
    check_default_credentials: bool,
    sweep_engine: str,
    snmp_community: str | None,
    use_nmap_fallback: bool,
    interrupts: Interrupts,
) -> tuple[ScanResult, bool]:
    """The network phase: the scan's result, and whether Ctrl-C cut it short (the first
    stops it, a second raises KeyboardInterrupt at once: ``run_interruptibly``). A Ctrl-C
    that ``interrupts`` counted before ``run_interruptibly`` took Ctrl-C over (while this
    prepared it) stops the scan at once, as one after it would."""
    from provscan.discovery.runner import DiscoverySettings, is_warning
    from provscan.pipeline import run_interruptibly, run_scan

    observer = scan_observer(quiet)
    early: list[bool] = []

    def scan(stop: asyncio.Event) -> Coroutine[Any, Any, ScanResult]:
        if interrupts.count:  # counted before run_interruptibly's handler was in place
            early.append(True)
            stop.set()
        return run_scan(
            ready.targets,
            targets,
            ready.ports,
            policy_ids=ready.policy_ids,
            limits=ready.limits,
            observer=observer,
            credentials=ready.credentials,
            check_default_credentials=check_default_credentials,
            discovery=None if no_discovery else DiscoverySettings(interface=iface),
            stop=stop,
            sweep_engine=sweep_engine,
            acting_as=ready.acting_as,
            snmp_community=snmp_community or None,
            service_probes=nmap_fallback(use_nmap_fallback),
        )

    result, cut_short = run_interruptibly(scan)
    cut_short = cut_short or (bool(early) and not result.info.complete)
    # A note that devices may be missing (discovery skipped) is said on stderr too: a
    # "note:" line among others is easy to miss, and -f json keeps it inside the document.
    for note in result.info.notes:
        if is_warning(note):
            warn(note)
    return result, cut_short


def _nothing_answered(
    result: ScanResult,
    db: str | None,
    no_db: bool,
    site: str | None,
    coverage: Sequence[Sequence[str]],
    *,
    store_empty: bool,
) -> tuple[ScanResult, bool, bool]:
    """Say on stderr, and in the result's notes, that no target of a complete scan answered
    at all (a network out of reach looks the same as an empty one: a VPN down, the wrong
    interface, the lab not started). Returns the result (noted), whether the scan is left
    unstored, and whether it is inconclusive (exit 5): it would count missing devices nobody
    said were taken away (docs/inventory.md, Status: "A scan nothing answered"). Such a scan
    is left unstored unless ``store_empty``, and inconclusive either way. Stored, and exit 0,
    when it would count none: the first scan of a range, one of ports the devices known there
    were not seen on, or the scan of a camera whose case says removed, which proves it; with
    ``no_db`` no store is read, and the exit is 0 too."""
    info = result.info
    if result.devices or not info.complete or info.hosts_scanned == 0:
        return result, False, False
    hosts, ports = info.hosts_scanned, len(info.ports)
    scanned = "the address scanned" if hosts == 1 else f"any of the {hosts} addresses scanned"
    note = (
        f"nothing answered: no reply from {scanned}, on the {ports} "
        f"port{'' if ports == 1 else 's'} probed. Is this machine on that network (VPN up, "
        "the right interface)? For the built-in lab: is it running (provscan lab up)?"
    )
    warn(note)
    result = dataclasses.replace(result, info=dataclasses.replace(info, notes=(*info.notes, note)))
    if no_db:
        return result, False, False
    misses = silent_scan_misses(result, db, site, coverage)
    if not misses:
        return result, False, False
    if store_empty:
        return result, False, True
    devices = "1 device" if misses == 1 else f"{misses} devices"
    warn(
        f"scan not stored: it would count {devices} seen at these addresses before missing, "
        "on no answer at all (if they really are gone, --store-empty stores it)"
    )
    return result, True, True


def _interrupted_line(
    interrupts: Interrupts | None, no_db: bool, cut: bool = False, *, complete: bool = False
) -> str:
    """What became of the scan, said after "provscan: interrupted" (and its partial results);
    ``complete``: the scan had finished before the Ctrl-C, and is stored whole."""
    then = ""
    if interrupts is not None and interrupts.stored is not None:
        then = f"; scan stored as {interrupts.stored[0]}" + (", complete" if complete else "")
    elif not no_db:
        then = "; nothing stored"
    return then + ("; output cut short" if cut else "")


def _partial(result: ScanResult, total: int, then: str) -> str:
    """What a scan a Ctrl-C cut short learned, said after "provscan: interrupted": of how
    many hosts, or all swept and the probes of some cut short; ``then``: what became of it."""
    from provscan.report.wording import plural

    if not result.devices:
        return f" before any host answered ({result.info.hosts_scanned} of {total} swept){then}"
    cut = sum(
        any(note.startswith("scan interrupted") for note in device.notes)
        for device in result.devices
    )
    probes = f", probes cut short on {plural(cut, 'device')}" if cut else ""
    if result.info.hosts_scanned < total:
        done = f"for {result.info.hosts_scanned} of {plural(total, 'host')}"
        return f": partial results {done} (marked incomplete){probes}{then}"
    swept = f"all {plural(total, 'host')} swept"
    return f": partial results (marked incomplete): {swept}{probes or ', not all finished'}{then}"


def _gathered(
    result: ScanResult,
    fmt: OutputFormat,
    output: Path | None,
    db: str | None,
    no_db: bool,
    interrupts: Interrupts,
    cut_short: bool,
    verbose: bool,
    site: str | None,
    target_set: TargetSet,
    *,
    hosts: int | None = None,
    store_empty: bool = False,
) -> bool:
    """Store and print what a scan gathered (:func:`emit`) with the Ctrl-Cs ``interrupts``
    counts since its network phase ended (one already when that phase was ``cut_short``):
    none loses the scan. The store's transaction and a file written always finish; the second
    Ctrl-C stops what is printed on standard output. Any Ctrl-C makes the exit 130 with one
    line saying what became of the scan (``hosts``: of how many, when not the targets').

    A complete scan that no target answered is said on stderr and in its notes, and stored
    only with ``store_empty`` when it would count known devices missing; returns whether it is
    inconclusive so (:func:`_nothing_answered`: exit 5). One cut short before any host
    answered is never stored: it holds nothing, and proves no absence."""
    total = target_set.size_upper_bound if hosts is None else hosts
    # The coverage is for the store only (it imports the inventory and SQLAlchemy).
    coverage = () if no_db else scan_coverage(target_set)
    result, unstored, inconclusive = _nothing_answered(
        result, db, no_db, site, coverage, store_empty=store_empty
    )
    unstored = unstored or (cut_short and not result.devices)
    try:
        emit(
            result,
            fmt,
            output,
            db,
            no_db or unstored,
            verbose=verbose,
            site=site,
            coverage=coverage,
            interrupts=interrupts,
        )
    except KeyboardInterrupt:  # the second Ctrl-C, while the output was printed
        if cut_short:
            then = _interrupted_line(interrupts, no_db, cut=True)
            raise say_interrupted(_partial(result, total, then)) from None
        then = _interrupted_line(interrupts, no_db, cut=True, complete=True)
        raise say_interrupted(f" once the scan was done{then}") from None
    if interrupts.count:
        if cut_short:
            raise say_interrupted(_partial(result, total, _interrupted_line(interrupts, no_db)))
        then = _interrupted_line(interrupts, no_db, complete=True)
        raise say_interrupted(f" once the scan was done{then}")
    return inconclusive


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

    sending = False  # whether the network phase has begun
    try:
        fmt = output_format(fmt, output)
        guard_output(output, [], db=db, force=force)
        check_store(db, no_db)
        with counting_interrupts() as interrupts:  # Ctrl-C: as for `provscan scan`
            interrupts.raise_at = 2
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
                interrupts.raise_at = None
                if interrupts.count:
                    raise KeyboardInterrupt
                sending = True
                result, cut_short = run_interruptibly(
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
            interrupts.count += cut_short
            # stored like `provscan scan` of the same addresses: a complete demo covers
            # them, so a later scan or demo can show a device missing and verify a case
            _gathered(
                result,
                fmt,
                output,
                db,
                no_db,
                interrupts,
                cut_short,
                verbose,
                None,
                target_set,
                hosts=len(addresses),
            )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    except KeyboardInterrupt:  # a second Ctrl-C while the lab was scanned, or one before
        raise say_interrupted(_unstored_line(sending, no_db)) from None
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
    from datetime import date

    from rich.padding import Padding
    from rich.text import Text

    # One block per measure, grouped by policy: readable at 80 columns (a seven-column table
    # is not); -f json has every field.
    console = output_console(highlight=False)

    def in_force(day: date) -> str:
        # a measure published now that starts later restricts nothing until then
        return f"since {day}" if day <= date.today() else f"in force from {day} (not yet)"

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
                (4, f"{measure.effect} ({restricts}), {in_force(measure.effective)}", ""),
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
    """Stop the background lab.

    Nothing to stop is not an error: it says so and exits 0, as `lab up` does when a lab runs
    already."""
    from provscan.lab.server import lab_down as stop

    where = _state_dir(state_dir)
    try:
        stopped = stop(where)
    except ProvscanError as exc:
        raise fail(str(exc)) from None
    typer.echo("lab stopped" if stopped else f"no lab running at {where}")


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
_started()


def _usage_hint(exc: typer.TyperException) -> str:
    context = getattr(exc, "ctx", None)
    path = getattr(context, "command_path", "") or ""
    # the words after the program's own name, however it was started ("python -m provscan")
    root = context.find_root().command_path if context is not None else ""
    command = path.removeprefix(root).strip()
    return f"; see 'provscan {command} --help'" if command else "; see 'provscan --help'"


def _lost_interrupts() -> list[object]:
    """Ctrl-Cs that landed in a garbage collector's callback (a weak reference's, a
    ``__del__``), where Python swallows the KeyboardInterrupt with an "Exception ignored"
    traceback and the command goes on: from now on they are collected in the returned list,
    without the traceback, and said by :func:`main`. Other such errors are shown as before."""
    lost: list[object] = []
    shown = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            lost.append(unraisable.object)
        else:
            shown(unraisable)

    sys.unraisablehook = hook
    return lost


def _at_exit() -> None:
    """At exit, once the threads are joined (atexit), Python frees its memory: a second or
    more after a scan. A Ctrl-C then has nothing left to stop (all is printed and stored);
    ignored, it no longer kills the process with status 130 and not a word.

    And the exit code :func:`main` chose is kept: CPython 3.11 marks a KeyboardInterrupt
    that left code run from a string (``exec``/``eval`` of text: dataclasses, namedtuples,
    SQLAlchemy make functions so) as never handled, even when it was, and under
    ``python -m provscan`` then ends the process by SIGINT instead of with its exit code.
    Running a string that raises nothing clears that mark."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if signal.getsignal(signal.SIGTERM) is _terminate:  # nor has a SIGTERM, as a Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    eval("None")


def main() -> None:
    """The ``provscan`` program: exits as :func:`_main` chose, 143 instead of 130 when a
    SIGTERM (handled as a Ctrl-C: :func:`_terminate`) stopped the command."""
    _terminate_as_interrupt()
    try:
        _main()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED and TERMINATED:
            raise SystemExit(EXIT_TERMINATED) from None
        raise


def _main() -> None:
    _starting()  # until the command runs (_Root.invoke): parsing the arguments
    lost = _lost_interrupts()
    atexit.register(_at_exit)
    # standalone_mode=False: typer hands usage errors back, so each becomes one short line
    # ("provscan: error: …", exit 2) instead of a usage block.
    try:
        code = app(standalone_mode=False)
        if lost and not code:  # the command did its work all the same: said, and exit 130
            raise say_interrupted(f" after the command had done its work{_stored_this_run()}")
    except typer.Exit as exc:
        code = exc.exit_code
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
        if INTERRUPTS_RECEIVED:  # the KeyboardInterrupt came back as another error
            sys.exit(say_interrupted(_stored_this_run()).exit_code)
        stderr.print(
            f"provscan: internal error: {type(exc).__name__}: {exc} (set PROVSCAN_DEBUG=1 for a traceback)",
            highlight=False,
            markup=False,
        )
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)
