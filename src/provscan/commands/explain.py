"""``provscan explain ADDRESS``: why one device got its verdict, evidence item by item.

For one device (read from a saved ``scan -f json`` report with ``--from``; its newest
sighting that identified it in the store named by ``--db``; else in the default database
``scan``, ``pcap`` and ``import`` store into, when that holds the address; probed now only
when the default database does not hold it, or with ``--probe``, said on stderr before
anything is sent): its verdict, the tool's one word for it (``report.contract.verdict_of``:
restricted, review, unknown, clear);
where its record came from (a scan, discovery, a passive capture, an import); each evidence
item with the rule that matched, the rule's specificity (maker-specific, or shared with which
makers) and source; per maker named, whether the evidence establishes it (one maker-specific
signal, or shared signals on independent fields of different services) or only names it as
a possibility; which
measures apply (each once) and whom the verdict was judged for (``--as``, as the other
commands; a report or the store keeps the party it was judged for at scan time); the rules
that nearly matched (letter case, or an anchored rule's text inside the value) and what was
observed that no rule explains, so an unknown device can be reported (and how: the issue
tracker, with the ``-f json`` output); an observed value the knowledge lists as a known
look-alike of a restricted maker (a rule's ``negatives``: the UTT router's ``NetDVRDVS:``
prompt is not Hikvision's); for a device that stayed unknown, what to do next (its label or
web interface, the switch's MAC table, ``--credentials`` where it can help, ``provscan
lookup MODEL``); and, from the store, whether the inventory marks it missing or gone.
"""

from __future__ import annotations

import functools
import json
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from provscan.commands.common import AsOption, NmapFallbackOption
from provscan.errors import InputError, ProvscanError, TargetError
from provscan.report.safe_text import printable

if TYPE_CHECKING:
    from provscan.knowledge.fingerprints import Rule
    from provscan.knowledge.loader import Knowledge
    from provscan.model import Device, Observation, ScanInfo

#: Width of the human view when it is not shown on a terminal (saved text stays the same
#: whatever window it was made in); on a terminal, the terminal's width within the bounds.
WIDTH = 80
MIN_WIDTH = 60
MAX_WIDTH = 120
#: Longest observed value shown in the human view (JSON keeps the contract's value).
VALUE_CHARS = 60
#: At most this many unexplained observations and near misses are listed.
MAX_LISTED = 8
#: Fields worth reporting when no rule explains them: those that name a product or maker
#: (header-name lists and vendor-page statuses are not).
REPORTABLE_FIELDS = frozenset(
    {
        "http.server",
        "http.title",
        "http.realm",
        "rtsp.server",
        "rtsp.realm",
        "tls.subject",
        "tls.issuer",
        "onvif.manufacturer",
        "onvif.model",
        "banner.text",
        "upnp.manufacturer",
        "upnp.model",
        "ssdp.server",
        "dhcp.hostname",
        "dhcp.vendor_class",
        "snmp.sys_descr",
        "snmp.sys_object_id",
    }
)
#: Where an unknown device is reported (the project's issue tracker; CONTRIBUTING.md says
#: what a new rule needs).
ISSUES_URL = "https://github.com/provscan/provscan/issues"
#: Largest report read with ``--from`` (a scan document of many thousand devices).
MAX_REPORT_BYTES = 512 * 1024 * 1024


class NothingAnswered(ProvscanError):
    """No device answered at the address: nothing to explain (exit 1, not a bad argument)."""


#: The note of a scan that was discovery only (``pipeline.run_discovery`` writes it); its
#: kind in the contract is ``active`` (discovery sends probes).
DISCOVERY_ONLY_NOTE = "discovery only: no port scan"
#: How a device's own notes say where it came from: an import's file (``importers.merge``,
#: ``netbox.pull``) and the discovery protocols it answered (``pipeline``).
IMPORTED_NOTE_PREFIX = "imported from "
DISCOVERY_NOTE_PREFIX = "discovery: "
#: Characters of a scan id shown (as ``provscan scans`` shows them; JSON has it whole).
SHOWN_SCAN_ID = 12
#: Why explain refuses a public address: no command that would scan it (the user may not
#: own it), only where the docs say when scanning one is allowed.
PUBLIC_REFUSED = (
    'public address; explain probes none, and scan only one you own (README "Safety model" '
    "explains --allow-public; explain --from REPORT reads a scan you made)"
)


@dataclass(frozen=True)
class Origin:
    """Where the explained record came from: what it was read from, and how the device was
    seen (the scan's kind and the sources of its evidence)."""

    #: ``network`` (probed now), ``report`` (``--from FILE``) or ``store`` (``--db``, or the
    #: default database); "" when not said (an explanation built by a caller of
    #: :func:`build_explanation`).
    read_from: str
    #: The report file or the database, as shown; "" when probed now.
    location: str
    #: How the device was seen: ``scan``, ``discovery``, ``passive capture`` or ``import``.
    method: str
    #: The scan's kind in the contract (active, passive, import); None when not known.
    kind: str | None = None
    scan_id: str | None = None
    started_at: str | None = None
    #: The site the stored scan belongs to (``--db`` only).
    site: str | None = None
    #: What the device's record says about where it came from ("imported from CSV
    #: cmdb.csv", "discovery: sadp").
    inputs: tuple[str, ...] = ()
    #: The protocols its evidence came from, with how many items each (``record``: 2).
    evidence_from: dict[str, int] = field(default_factory=dict)
    #: Other sites the store holds the same address at (``--site`` picks one).
    other_sites: tuple[str, ...] = ()
    #: ``--db``: the device's newest sighting when it identified nothing and the record
    #: explained is the older sighting its verdict comes from (``scan_id``, ``started_at``,
    #: ``kind``, ``targets``, ``site``, and ``unidentified``: how many sightings since
    #: identified nothing); None: the record is the newest sighting.
    newer_sighting: dict[str, Any] | None = None
    #: ``--db``: how the inventory device has gone unseen, when the inventory marks it
    #: ``missing`` or ``gone`` (``status``, ``last_seen``, ``not_seen_by``: the complete
    #: scans covering it since that did not see it, and ``newest``: the newest of them);
    #: None: present, or not read from the store.
    absence: dict[str, Any] | None = None
    #: The same in words, as the human view says it.
    said: tuple[str, ...] = ()
    #: Why the record was read from there, when explain chose it (no ``--from``, ``--db``):
    #: ``default store`` (the default database holds the address), ``asked`` (``--probe``)
    #: or ``not stored`` (probed: the default database holds no device there); "" when the
    #: user named the source.
    chosen: str = ""


class ExplainFormat(StrEnum):
    table = "table"
    json = "json"


#: The source of an evidence item no rule read (kept as context for the reader).
CONTEXT_SOURCE = "observed; no rule reads it (context)"


@dataclass(frozen=True)
class EvidenceLine:
    """One evidence item as explained: what was seen, which rule, how specific it is."""

    field: str
    port: int | None
    observed: str
    rule_id: str | None
    asserts: dict[str, str]
    certainty: float
    #: ``maker-specific``, ``shared``, ``registry`` (IEEE OUI), ``grammar``, ``context`` or
    #: ``fallback`` (nmap's match lines, decision 0023: names a maker, never establishes a
    #: restricted one, never counts as a field).
    specificity: str
    shared_with: tuple[str, ...] = ()
    source: str = ""
    #: The protocol of the observation: with ``port``, which service of the host said it
    #: (the verdict rule counts shared signals of one service as one, decision 0030).
    protocol: str = ""
    #: The evidence item's detail: for a vendor path's answer, the control answer it was
    #: claimed beside (decision 0005); from a capture, where in it the value was seen.
    detail: str = ""


@dataclass(frozen=True)
class MakerSupport:
    """How the evidence supports one maker it names."""

    maker: str
    family: str | None
    maker_specific_rules: tuple[str, ...]
    shared_fields: tuple[str, ...]
    established: bool
    reason: str


@dataclass(frozen=True)
class NearMiss:
    field: str
    observed: str
    rule_id: str
    why: str


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe got on one port, read from the attempt the device already carries."""

    probe: str
    port: int
    #: ``matched`` (a rule matched what it got and named a maker), ``no maker`` (rules
    #: matched, but none named a maker: a device type, a model; ``detail`` says what they
    #: gave), ``no match`` (it answered, no rule matched), ``timeout``, ``refused``,
    #: ``closed``, ``malformed``, ``truncated`` or ``error``.
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class LookAlike:
    """An observed value the knowledge lists as a known look-alike of a maker: a rule that
    names the maker lists it among the values it must not match (its ``negatives``)."""

    field: str
    port: int | None
    observed: str
    #: The maker's rule that lists the value as a look-alike, and the maker it names.
    rule_id: str
    maker: str
    #: The rule that explains the value instead (None: none matched it) and what it says:
    #: its description and source (a value nothing explains: why it is listed, and the
    #: source of the rule that lists it).
    explained_by: str | None = None
    explanation: str = ""
    source: str = ""


@dataclass(frozen=True)
class ConflictSide:
    """One maker a manufacturer conflict names, and what its score comes from: the evidence
    rules that name it, and the knowledge's relations (``relations.yaml``) that lead to it
    from a brand the evidence names."""

    maker: str
    #: Its score as the conflict gives it; None in a conflict of makers the evidence cannot
    #: tell apart, which gives one score for all of them.
    score: float | None
    #: The rules of the evidence items that name it.
    rules: tuple[str, ...]
    #: Each relation: ``brand``, ``maker``, ``relation``, ``scope``, ``confidence``,
    #: ``evidence``, ``sources``, and ``brand_rules``: the rules that read the brand.
    relations: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ConflictSources:
    """A manufacturer conflict of the verdict, each side with where it comes from."""

    conflict: str
    sides: tuple[ConflictSide, ...]
    #: Why the confidence is lower than the winning maker's score, in words ("" when the
    #: conflict does not lower it).
    confidence: str = ""


#: The outcomes in words, as the human view says them (one probe; several).
OUTCOME_WORDS = {
    "matched": ("answered and a rule matched", "answered and a rule matched"),
    "no maker": (
        "answered, but the rule that matched named no maker",
        "answered, but the rules that matched named no maker",
    ),
    "no match": ("answered but matched no rule", "answered but matched no rule"),
    "timeout": ("timed out", "timed out"),
    "refused": ("refused", "refused"),
    "closed": ("closed without an answer", "closed without an answer"),
    "malformed": ("malformed reply", "malformed replies"),
    "truncated": ("reply cut short", "replies cut short"),
    "error": ("failed", "failed"),
}


@dataclass(frozen=True)
class Explanation:
    address: str
    verdict: str
    manufacturer: str | None
    brand: str | None
    relation: str | None
    family: str | None
    model: str | None
    confidence: float
    open_ports: tuple[int, ...]
    evidence: tuple[EvidenceLine, ...]
    makers: tuple[MakerSupport, ...]
    measures: tuple[dict[str, Any], ...]
    conflicts: tuple[str, ...]
    notes: tuple[str, ...]
    near_misses: tuple[NearMiss, ...] = ()
    unexplained: tuple[dict[str, Any], ...] = ()
    attempts: tuple[str, ...] = field(default_factory=tuple)
    #: What each probe got, in words (:class:`ProbeOutcome`): why a device stayed unknown.
    probes: tuple[ProbeOutcome, ...] = ()
    #: Who the verdict was judged for: the org types of ``--as`` (``["all"]``: anyone; empty:
    #: the default reading, a national government body).
    acting_as: tuple[str, ...] = ()
    #: The same in words, as the verdict line says it.
    judged_for: str = ""
    #: Where the record came from (:class:`Origin`).
    origin: Origin | None = None
    #: Observed values the knowledge lists as look-alikes of a maker (:class:`LookAlike`).
    lookalikes: tuple[LookAlike, ...] = ()
    #: For a device that stayed unknown: what a person can do to identify it, in words.
    next_steps: tuple[str, ...] = ()
    #: Where each side of a manufacturer conflict comes from (:class:`ConflictSources`).
    conflict_sources: tuple[ConflictSources, ...] = ()
    #: Where the host sent provscan's own User-Agent (``http.user_agent:80``): a host
    #: running provscan, not a device to identify; empty for any other.
    provscan_agent: tuple[str, ...] = ()
    #: The knowledge's relations (``relations.yaml``) that carried a maker from a brand the
    #: evidence names: ``brand``, ``maker``, ``relation``, ``scope``, ``since`` and ``until``
    #: (its validity dates, None: open), ``confidence``, ``sources``, and ``carried``:
    #: ``maker`` (the verdict's maker) or ``possible`` (a maker named only for review).
    relations: tuple[dict[str, Any], ...] = ()


def register(app: typer.Typer) -> None:
    from provscan.commands.common import (
        EXIT_ERROR,
        EXIT_INTERRUPTED,
        EXIT_OK,
        EXIT_USAGE,
        epilog,
    )

    app.command(
        short_help="Why one device got its verdict: evidence, rules, measures.",
        name="explain",
        epilog=epilog(
            "provscan explain 127.77.13.11",
            "provscan explain 127.77.1.10 --probe --ports 80,554 --format json",
            "provscan explain 127.77.1.10 --probe --as ca:individual",
            "provscan explain --from scan.json 127.77.13.10",
            "provscan explain 127.77.13.10 --db store.db",
            "provscan explain 127.77.13.10 --db store.db --scan 3f2c1a9b0d4e",
            codes=[
                (EXIT_OK, "done"),
                (
                    EXIT_ERROR,
                    "nothing answered at the address on the ports probed (no device to "
                    "explain), a runtime error or a database that cannot be read (message on "
                    "stderr), or the output pipe closed early (| head)",
                ),
                (
                    EXIT_USAGE,
                    "bad argument (a range, an unknown policy or org type), a --from file "
                    "that is missing, unreadable, not a -f json report, or without the "
                    "address, a --db database that does not exist or does not hold the "
                    "address, site or ID asked for, or --ports, --policy or another --as for "
                    "a device the default database holds, without --probe",
                ),
                (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
            ],
        ),
    )(explain)


def explain(
    address: Annotated[
        str,
        typer.Argument(metavar="ADDRESS", help="One device's address (not a range)."),
    ],
    report: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="FILE",
            help="Explain the device as recorded in this report (provscan scan -f json); "
            "nothing is sent on the network.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="FILE|URL",
            help="Explain the device's newest sighting stored in this database that "
            "identified it, the one its verdict comes from (as scan, import or pcap stored "
            "it, judged for whom it was then); nothing is sent.",
        ),
    ] = None,
    scan_id: Annotated[
        str | None,
        typer.Option(
            "--scan",
            metavar="ID",
            help="The sighting stored by this scan (see provscan scans), not the newest; "
            "from --db, or the default database.",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            metavar="NAME",
            help="The device stored at this site (addresses are per site); from --db, or "
            "the default database.",
        ),
    ] = None,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Probe the device now (packets are sent to it) even when the default "
            "database holds it; not with --from, --db, --scan or --site.",
        ),
    ] = False,
    ports: Annotated[
        str | None,
        typer.Option(
            "--ports",
            "-p",
            metavar="LIST",
            help="Ports to probe (default: scan's), for a device probed now (--probe, or "
            "one the default database does not hold).",
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            metavar="IDS",
            help="Comma-separated policy ids to judge the probed device by (default: all; "
            "not with --from, --db or a device read from the default database: a report or "
            "stored sighting keeps its findings).",
        ),
    ] = None,
    acting_as: AsOption = None,
    fmt: Annotated[
        ExplainFormat,
        typer.Option("--format", "-f", metavar="table|json", help="Output format."),
    ] = ExplainFormat.table,
    use_nmap_fallback: NmapFallbackOption = True,
) -> None:
    """Why one device got its verdict: every evidence item, the rule behind it, its
    specificity, corroboration, and the measures that apply.

    Where the device is read from: --from FILE (a report) or --db STORE; else the default
    database (where scan, pcap and import store) when it holds the address, and nothing is
    sent. The device is probed only when the default database does not hold it, or with
    --probe; a line on stderr says so before anything is sent."""
    from provscan.commands.common import (
        EXIT_USAGE,
        UsageProblem,
        fail,
        fail_for,
        resolve_acting_as,
    )
    from provscan.commands.knowledge import warn_if_stale
    from provscan.knowledge.loader import load_knowledge

    stored = db is not None or scan_id is not None or site is not None
    try:
        _check_sources(report, stored, scan_id, site, ports, policy, probe)
        knowledge = load_knowledge()
        warn_if_stale()
        origin: Origin
        read: tuple[Device | None, list[Observation], ScanInfo, Origin] | None = None
        if report is not None:
            read = _read_report(report, address)
        elif stored:
            read = _from_store(db, address, scan_id, site)
        elif not probe:
            # the default database first: a device it holds is explained from there, and
            # nothing is sent (an analyst working from captures may send nothing)
            read = _from_default_store(address)
            if read is not None:
                _check_default_store_read(address, read[3], ports, policy)
        if read is not None:
            device, observations, info, origin = read
            if report is not None:
                where = str(report)
            else:
                where = f"the stored scan {info.scan_id[:SHOWN_SCAN_ID]}"
            judged_as = tuple(info.acting_as)
            # The verdicts were judged when it was scanned: --as can only confirm them.
            if acting_as is not None and resolve_acting_as(acting_as) != judged_as:
                again = (
                    "--probe probes it again and judges it as --as says"
                    if origin.chosen == "default store"
                    else "scan the device again with --as"
                )
                raise UsageProblem(
                    f"{where} was judged as {_judged_for(judged_as)} when it was scanned; "
                    f"--as cannot re-judge it: {again}"
                )
        else:
            judged_as = resolve_acting_as(acting_as)
            why = "asked" if probe else "not stored"
            device, observations, info = _scan_one(
                address,
                ports,
                policy,
                judged_as,
                use_nmap_fallback,
                announce=functools.partial(_say_probing, address, why),
            )
            origin = Origin("network", "", _method(device, info), chosen=why)
        if device is None:
            # only a report lacks it (a scan where nothing answered raised NothingAnswered,
            # the store refused the address): the address and the report do not go together
            raise fail(f"no device {address} in {report}", EXIT_USAGE)
        result = build_explanation(
            device, observations, knowledge, acting_as=judged_as, scan=info, origin=origin
        )
    except UsageProblem as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if fmt is ExplainFormat.json:
        typer.echo(json.dumps(asdict(result), indent=2, ensure_ascii=True))
    else:
        typer.echo("\n".join(render(result, view_width())))


def _check_sources(
    report: Path | None,
    stored: bool,
    scan_id: str | None,
    site: str | None,
    ports: str | None,
    policy: str | None,
    probe: bool = False,
) -> None:
    """Refuse options that do not go together: a report and the store; a scan and a site;
    probe options for a device that is not probed; ``--probe`` and a record to read."""
    from provscan.commands.common import UsageProblem

    if probe and (report is not None or stored):
        if report is not None:
            given = "--from"
        else:
            given = "--scan" if scan_id is not None else "--site" if site is not None else "--db"
        raise UsageProblem(
            f"--probe and {given} exclude each other: --probe probes the device now, {given} "
            "reads a record of it (give one or the other)"
        )
    if report is not None and stored:
        given = "--db" if scan_id is None and site is None else "--scan/--site"
        raise UsageProblem(
            f"--from and {given} exclude each other: explain a report or the store, not both"
        )
    if scan_id is not None and site is not None:
        raise UsageProblem("--scan names one stored scan (of one site): --site is not needed")
    if report is not None or stored:
        read = "a report" if report is not None else "a stored sighting"
        for name, value in (("--ports", ports), ("--policy", policy)):
            if value is not None:
                raise UsageProblem(
                    f"{name} applies to a device probed now; {read} keeps what its scan "
                    f"probed and judged (leave out {name}; without --from and --db the device "
                    "is probed again)"
                )


def view_width() -> int:
    """The terminal's width (``COLUMNS`` when set) between :data:`MIN_WIDTH` and
    :data:`MAX_WIDTH` when stdout is a terminal; :data:`WIDTH` when it is a file or a pipe."""
    import sys

    if not sys.stdout.isatty():
        return WIDTH
    from rich.console import Console

    return max(MIN_WIDTH, min(MAX_WIDTH, Console().width))


# -- input --------------------------------------------------------------------------------


def _from_report(
    path: Path, address: str
) -> tuple[Device | None, list[Observation], tuple[str, ...]]:
    """The device at ``address`` in the report, its observations and whom it was judged for."""
    device, observations, info, _ = _read_report(path, address)
    return device, observations, tuple(info.acting_as)


def _read_report(
    path: Path, address: str
) -> tuple[Device | None, list[Observation], ScanInfo, Origin]:
    """The device at ``address`` in the report (None: not in it), what it was observed to
    say, the report's scan and where the device came from."""
    from pydantic import ValidationError

    from provscan.report.contract import from_contract, to_domain

    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise InputError(f"{path}: larger than {MAX_REPORT_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        result = to_domain(from_contract(data))
    except (ValidationError, ValueError) as exc:
        reason = _not_a_report(data, exc)
        raise InputError(f"{path} is not a provscan scan report (-f json): {reason}") from None
    wanted = _normal_address(address)
    device = next((d for d in result.devices if _normal_address(d.ip) == wanted), None)
    method = _method(device, result.info) if device is not None else "scan"
    origin = Origin("report", str(path), method)
    return device, _stored_observations(device), result.info, origin


def _from_store(
    db: str | None, address: str, scan_id: str | None, site: str | None
) -> tuple[Device, list[Observation], ScanInfo, Origin]:
    """The device at ``address`` as the store keeps it: its newest sighting (of ``site``), or
    the one ``scan_id`` stored; nothing is sent. An address the store does not hold is a bad
    argument (exit 2), as an unknown scan or site is for the other store commands."""
    import ipaddress

    from provscan.commands.common import UsageProblem

    try:
        wanted = str(ipaddress.ip_address(address.strip()))
    except ValueError:
        raise UsageProblem(f"explain takes one address, not {address!r}") from None
    found = _stored_device(db, wanted, scan_id, site)
    assert found is not None  # refused when missing
    return found


def _from_default_store(
    address: str,
) -> tuple[Device, list[Observation], ScanInfo, Origin] | None:
    """The device at ``address`` as the default database keeps it (the one ``scan``,
    ``pcap`` and ``import`` store into), read as ``--db`` reads it; None when that database
    does not exist, holds nothing, or holds no device at the address (or ``address`` is no
    single address: a host name is never resolved here). Nothing is sent."""
    import ipaddress

    from provscan.commands.common import UsageProblem, _holds_nothing
    from provscan.paths import default_db_path

    try:
        wanted = str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None
    path = default_db_path()
    if not path.exists() or _holds_nothing(path):
        return None
    try:
        return _stored_device(None, wanted, None, None, chosen="default store", missing_ok=True)
    except UsageProblem as exc:
        # a file there that is no provscan database: said as the default database, which
        # the user did not name (never a probe instead: they may send nothing)
        raise UsageProblem(
            f"the default database cannot be read: {str(exc).removeprefix('--db ')} "
            "(--probe probes the device without it)"
        ) from None


def _check_default_store_read(
    address: str, origin: Origin, ports: str | None, policy: str | None
) -> None:
    """Refuse the options of a probe for a device read from the default database: they ask
    for a probe that is not made without ``--probe`` (exit 2, nothing sent)."""
    from provscan.commands.common import UsageProblem

    for name, value in (("--ports", ports), ("--policy", policy)):
        if value is not None:
            raise UsageProblem(
                f"{name} applies to a device probed now; the default database "
                f"{origin.location} holds {address}, explained from there without sending "
                f"anything: add --probe to probe it again, or leave out {name}"
            )


def _say_probing(address: str, why: str) -> None:
    """The one line on stderr, before anything is sent, that says the device is probed now
    and why (``asked``: ``--probe``; ``not stored``: the default database does not hold it)."""
    from provscan.commands.common import stderr
    from provscan.paths import default_db_path

    if why == "asked":
        reason = "--probe"
    else:
        reason = f"the default database {default_db_path()} holds no device there"
    stderr.print(
        f"provscan: probing {address} now, packets are sent to it ({reason}); nothing is stored",
        highlight=False,
        markup=False,
    )


def _stored_device(
    db: str | None,
    wanted: str,
    scan_id: str | None,
    site: str | None,
    *,
    chosen: str = "",
    missing_ok: bool = False,
) -> tuple[Device, list[Observation], ScanInfo, Origin] | None:
    """The device at the address ``wanted`` as the store ``db`` keeps it (see
    :func:`_from_store`); one the store does not hold (of ``site``) is a bad argument, or
    None with ``missing_ok``."""
    from provscan.commands.common import UsageProblem, open_db
    from provscan.report.contract import SCHEMA_VERSION, ScanDocument, to_domain

    with open_db(db, must_exist=True) as store:
        name = store.display_name
        # the one device's row and its scan's, never the whole scan (a capture of tens of
        # thousands of devices)
        stored = store.sighting(wanted, scan_id=scan_id, site=site)
    if stored is None:
        if missing_ok:
            return None
        at = f" at site {site}" if site is not None else ""
        raise UsageProblem(
            f"no device {wanted}{at} in {name} (provscan inventory lists the stored devices)"
        )
    if stored.device is None:
        raise UsageProblem(
            f"no device {wanted} in scan {stored.scan.id[:SHOWN_SCAN_ID]} of {name} "
            "(leave out --scan for its newest sighting)"
        )
    # the device and its scan as the contract reads them back (both validated by the store;
    # the scan's counts stay the whole scan's, which no domain value keeps)
    result = to_domain(
        ScanDocument.model_construct(
            schema_version=SCHEMA_VERSION, scan=stored.scan, devices=[stored.device]
        )
    )
    device = result.devices[0]
    site, others = stored.site, stored.other_sites
    newer = (
        stored.newer.to_json() | {"unidentified": stored.unidentified}
        if stored.newer is not None
        else None
    )
    unseen = stored.absence
    absence = (
        {
            "status": unseen.status,
            "last_seen": unseen.last_seen.isoformat(),
            "not_seen_by": unseen.count,
            "newest": unseen.scans[-1][1].isoformat() if unseen.scans else None,
        }
        if unseen is not None
        else None
    )
    origin = Origin(
        "store",
        name,
        _method(device, result.info),
        site=site,
        other_sites=others,
        newer_sighting=newer,
        absence=absence,
        chosen=chosen,
    )
    return device, _stored_observations(device), result.info, origin


def _stored_observations(device: Device | None) -> list[Observation]:
    """What a recorded device was observed to say, from its evidence (a report or the store
    keeps the facts as evidence items, those no rule matched among them, as context)."""
    from provscan.model import Observation

    if device is None:
        return []
    return [
        Observation(item.protocol, item.port, item.observed_field, item.observed, item.detail)
        for item in device.evidence
    ]


#: Documents other provscan commands write, told by their top-level keys: a file given to
#: --from is named for what it is rather than with the validator's thousands of errors.
_OTHER_DOCUMENTS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"inventory", "devices"}), "an inventory export (provscan inventory -f json)"),
    (frozenset({"rows", "summary"}), "a screened list (provscan screen -f json)"),
    (frozenset({"address", "verdict", "evidence"}), "an explanation (provscan explain -f json)"),
    (frozenset({"old", "new", "added", "removed"}), "a diff of two scans (provscan diff -f json)"),
    (frozenset({"scans"}), "a list of stored scans (provscan scans -f json)"),
    (frozenset({"cases"}), "a list of cases (provscan cases list -f json)"),
    (frozenset({"org_types"}), "the organisation types (provscan policies --as-types -f json)"),
    (frozenset({"policies"}), "the policy list (provscan policies -f json)"),
    (frozenset({"input", "status", "reason"}), "a lookup result (provscan lookup -f json)"),
)


def _not_a_report(data: bytes, exc: Exception) -> str:
    """What ``data`` is instead of a scan report, in a few words: empty, cut short, not JSON,
    JSON Lines, another command's document, a report of another schema version; the
    validator's own first problem only for what looks like a scan report and fails it."""
    from pydantic import ValidationError

    from provscan.report.contract import _UPGRADED_VERSIONS, SCHEMA_VERSION

    text = data.decode("utf-8", "replace")
    if not text.strip():
        return "the file is empty"
    try:
        document = json.loads(text)
    except ValueError as error:
        position = getattr(error, "pos", 0)
        message = str(getattr(error, "msg", error))
        try:
            head = json.loads(text.lstrip().split("\n", 1)[0])
        except ValueError:
            head = None
        if isinstance(head, dict) and head.get("type") == "scan":
            return "it is JSON Lines (-f jsonl), one object a line; give the -f json output"
        rest = re.sub(r"\\.", "", text[position + 1 :])  # escaped characters are no quotes
        unclosed = message.startswith("Unterminated string") and '"' not in rest
        if position >= len(text.rstrip()) or unclosed:
            return (
                f"its JSON ends in the middle after {len(data)} bytes (cut short, or still "
                "being written?)"
            )
        line = text.count("\n", 0, position) + 1
        return f"it is not JSON (line {line}: {message})"
    if not isinstance(document, dict):
        return "it is a JSON array" if isinstance(document, list) else "it is a single JSON value"
    keys = set(document)
    for wanted, what in _OTHER_DOCUMENTS:
        if wanted <= keys:
            return f"it is {what}"
    version = document.get("schema_version")
    if {"scan", "devices"} <= keys and version is not None and not str(version).startswith("1."):
        oldest = _UPGRADED_VERSIONS[0]
        return f"its schema version is {version}; this provscan reads {oldest} to {SCHEMA_VERSION}"
    if {"scan", "devices"} <= keys and isinstance(exc, ValidationError):
        problems = exc.errors()
        where = ".".join(str(part) for part in problems[0]["loc"]) if problems else ""
        first = f"{where}: {problems[0]['msg']}" if problems else str(exc).splitlines()[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"it looks like one but does not validate: {first}{more}"
    listed = ", ".join(sorted(keys)[:5]) + (", …" if len(keys) > 5 else "")
    return f"it is a JSON object with other keys ({listed or 'none'})"


def _normal_address(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return text.strip()


def _scan_one(
    address: str,
    ports: str | None,
    policy: str | None,
    acting_as: Sequence[str],
    use_nmap_fallback: bool = True,
    *,
    announce: Callable[[], None] | None = None,
) -> tuple[Device, list[Observation], ScanInfo]:
    """The device at ``address`` probed now; ``announce`` is called once before anything is
    sent (a host name is resolved: it is called before that)."""
    from provscan.commands.common import nmap_fallback, parse_policy_ids
    from provscan.pipeline import run_interruptibly, run_scan
    from provscan.report.wording import plural
    from provscan.targets import (
        build_targets,
        is_address_spec,
        looks_like_address,
        misshapen_target,
        mistyped_address,
        parse_ports,
    )
    from provscan.transport.limits import DEFAULT_PORTS

    port_list = parse_ports(ports) if ports is not None else DEFAULT_PORTS
    policy_ids = parse_policy_ids(policy)
    # an address, a network, a range or text shaped like one is read without the network
    # (checked first, so that a bad one is refused before the line that says it is
    # probed); a host name is looked up, which sends a query: said before that. A URL, an
    # address with a port or a wildcard is refused without the network too.
    numeric = (
        is_address_spec(address)
        or looks_like_address(address)
        or mistyped_address(address) is not None
        or misshapen_target(address.strip()) is not None
    )
    if announce is not None and not numeric:
        announce()
    try:
        targets = build_targets([address])
    except TargetError:
        if _refused_as_public(address):
            # the scope rule's own advice names --allow-public, which explain does not take;
            # and a refusal hands out no command line that would scan the address: the user
            # may not own it (README "Safety model" says when --allow-public is for)
            raise InputError(f"refusing target {address}: {PUBLIC_REFUSED}") from None
        raise
    if targets.size_upper_bound != 1:
        raise InputError(f"explain takes one address, not {address!r}")
    if announce is not None and numeric:
        announce()
    result, _ = run_interruptibly(
        lambda stop: run_scan(
            targets,
            [address],
            port_list,
            policy_ids=policy_ids,
            stop=stop,
            acting_as=acting_as,
            service_probes=nmap_fallback(use_nmap_fallback),
        )
    )
    if not result.devices:
        raise NothingAnswered(
            f"nothing answered at {address} on the {plural(len(port_list), 'port')} scanned; "
            "it may be off, filtered, or listening on other ports (--ports LIST)"
        )
    device = result.devices[0]
    observations = [o for attempt in device.attempts for o in attempt.observations]
    return device, observations + list(device.observations), result.info


# -- the explanation ----------------------------------------------------------------------


def _judged_for(acting_as: Sequence[str], device: Device | None = None) -> str:
    """Whom a verdict was judged for, in words: ``"ca:individual"``, ``"a national
    government body, the default"``, ``"anyone (every measure counts)"``."""
    from provscan.policy.evaluate import ACT_AS_ANYONE, DEFAULT_PARTY, describe_parties

    if acting_as and tuple(acting_as) != (ACT_AS_ANYONE,):
        return describe_parties(acting_as)
    # No --as, but policies that declare no national government body: every measure counted
    # (each finding's binding is null then).
    findings = device.findings if device is not None else ()
    if not acting_as and not (findings and all(f.binding is None for f in findings)):
        return f"{DEFAULT_PARTY}, the default"
    return describe_parties((ACT_AS_ANYONE,))


def build_explanation(
    device: Device,
    observations: Sequence[Observation],
    knowledge: Knowledge,
    *,
    acting_as: Sequence[str] = (),
    scan: ScanInfo | None = None,
    origin: Origin | None = None,
) -> Explanation:
    """The explanation of one judged :class:`~provscan.model.Device` (pure: no I/O);
    ``acting_as``: whom its verdict was judged for; ``scan``: the scan it was seen in;
    ``origin``: what it was read from (when not given: probed, or as its notes say)."""
    from provscan.attribution.attribute import (
        FALLBACK_PROTOCOLS,
        MAKER_SPECIFIC_SOURCES,
        MIN_INDEPENDENT_SHARED_FIELDS,
        REGISTRY_ONLY_RULE,
        derived_claim_source,
    )
    from provscan.report.contract import verdict_of

    rules = {rule.id: rule for loaded in knowledge.fingerprints for rule in loaded.spec.rules}
    lines: list[EvidenceLine] = []
    for item in device.evidence:
        shared: tuple[str, ...]
        rule = rules.get(item.rule_id) if item.rule_id else None
        if item.rule_id is not None and item.protocol in FALLBACK_PROTOCOLS:
            kind, shared = "fallback", ()
            source = f"nmap's match line ({rule.source if rule else item.rule_id})"
        elif rule is not None:
            kind = "maker-specific" if rule.specificity.maker_specific else "shared"
            shared = tuple(rule.specificity.shared_with)
            source = rule.source
        elif item.rule_id is None:
            kind, shared, source = "context", (), CONTEXT_SOURCE
        elif item.rule_id.startswith(("ieee-oui", REGISTRY_ONLY_RULE)):
            kind, shared, source = "registry", (), derived_claim_source(item.rule_id)
        elif item.rule_id.startswith(MAKER_SPECIFIC_SOURCES):
            kind, shared, source = "grammar", (), derived_claim_source(item.rule_id)
        else:
            kind, shared, source = "shared", (), derived_claim_source(item.rule_id)
        lines.append(
            EvidenceLine(
                item.observed_field,
                item.port,
                item.observed,
                item.rule_id,
                dict(item.asserts),
                round(item.certainty, 3),
                kind,
                shared,
                source,
                item.protocol,
                item.detail,
            )
        )
    makers = _maker_support(lines, knowledge, MIN_INDEPENDENT_SHARED_FIELDS, device)
    measures = tuple(
        {
            "policy": f.policy,
            "jurisdiction": f.jurisdiction,
            "measure": f.measure,
            # effect/binding arrive with contract 1.3 (measures that bind the user, --as)
            "effect": getattr(f, "effect", "restricts"),
            "binding": getattr(f, "binding", None),
            "restricts": getattr(f, "restricts", True),
            # what must hold for it to restrict that the tool cannot tell (None: nothing)
            "condition": getattr(f, "condition", None),
            "family": f.family,
            "citation": f.citation,
        }
        for f in device.findings
    )
    near, unexplained = _near_and_unexplained(observations, knowledge, lines)
    agent = _provscan_agent(observations)
    lookalikes = _lookalikes(observations, knowledge, lines)
    attempts = tuple(
        f"{a.probe}/{a.port} {a.status.value}" + (f" ({a.error})" if a.error else "")
        for a in device.attempts
    )
    probes = probe_outcomes(device)
    verdict = verdict_of(device.restricted, device.notes, device.manufacturer)
    return Explanation(
        address=device.ip,
        # the one mapping the report, inventory and console use: restricted, review,
        # unknown or clear
        verdict=verdict,
        manufacturer=device.manufacturer,
        brand=device.brand,
        relation=device.relation,
        family=device.family,
        model=device.model,
        confidence=round(device.confidence, 3),
        open_ports=tuple(device.open_ports),
        evidence=tuple(lines),
        makers=makers,
        measures=measures,
        conflicts=tuple(device.conflicts),
        notes=tuple(device.notes),
        near_misses=near,
        unexplained=unexplained,
        attempts=attempts,
        probes=probes,
        acting_as=tuple(acting_as),
        judged_for=_judged_for(acting_as, device),
        origin=describe_origin(device, scan, origin),
        lookalikes=lookalikes,
        next_steps=(
            next_steps(device, bool(unexplained), runs_provscan=bool(agent))
            if verdict == "unknown"
            else ()
        ),
        conflict_sources=_conflict_sources(device, lines, knowledge),
        provscan_agent=agent,
        relations=_carrying_relations(device, lines, knowledge),
    )


def _method(device: Device | None, scan: ScanInfo | None) -> str:
    """How the device was seen: ``import``, ``passive capture``, ``discovery`` (a scan of
    discovery only) or ``scan``; from the scan's kind, else from the device's own notes."""
    if scan is not None:
        if scan.kind == "import":
            return "import"
        if scan.kind == "passive":
            return "passive capture"
        if DISCOVERY_ONLY_NOTE in scan.notes:
            return "discovery"
        return "scan"
    notes = device.notes if device is not None else ()
    if any(note.startswith(IMPORTED_NOTE_PREFIX) for note in notes):
        return "import"
    return "scan"


def _read_from(imported: Sequence[str]) -> str:
    """What an import read, from the device's "imported from ..." notes: NetBox, or files."""
    if imported and all(note.startswith(f"{IMPORTED_NOTE_PREFIX}NetBox ") for note in imported):
        return "NetBox"
    return "files" if len(imported) > 1 else "a file"


def _protocols(notes: Sequence[str]) -> list[str]:
    """``"discovery: sadp, wsd"`` notes as ``"sadp, wsd"``."""
    return [note.removeprefix(DISCOVERY_NOTE_PREFIX) for note in notes]


def describe_origin(device: Device, scan: ScanInfo | None, origin: Origin | None) -> Origin:
    """``origin`` (when not given: read from nothing said) completed with what the scan and
    the device's record say of where it came from, in words."""
    import dataclasses
    from datetime import UTC

    from provscan.report.wording import plural

    if origin is None:
        origin = Origin("", "", _method(device, scan))
    inputs = tuple(
        note
        for note in device.notes
        if note.startswith((IMPORTED_NOTE_PREFIX, DISCOVERY_NOTE_PREFIX))
    )
    counts: dict[str, int] = {}
    for item in device.evidence:
        counts[item.protocol] = counts.get(item.protocol, 0) + 1
    imported = [note for note in inputs if note.startswith(IMPORTED_NOTE_PREFIX)]
    discovered = [note for note in inputs if note.startswith(DISCOVERY_NOTE_PREFIX)]
    targets = ", ".join(scan.targets) if scan is not None else ""
    said: list[str] = []
    if origin.method == "import":
        files = "; ".join(imported) or (f"imported from {targets}" if targets else "imported")
        said.append(
            f"{files}: a record read from {_read_from(imported)}; nothing was sent to the device"
        )
    elif origin.method == "passive capture":
        seen = f" ({targets})" if targets else ""
        said.append(
            f"a passive capture{seen}: only what the device sent was read; nothing was sent to it"
        )
    elif origin.method == "discovery":
        answered = f" ({'; '.join(_protocols(discovered))})" if discovered else ""
        said.append(
            f"discovery only, no port scan{answered}: only what the device announced in "
            "reply was read"
        )
    else:
        ports = ",".join(str(port) for port in device.open_ports)
        on = "port" if len(device.open_ports) == 1 else "ports"
        probed = (
            f"an active scan: {plural(len(device.attempts), 'probe')} on {on} {ports}"
            if device.attempts and ports
            else "an active scan: no probe ran (no open port was found)"
        )
        if discovered:
            probed += f"; it answered discovery ({'; '.join(_protocols(discovered))})"
        said.append(probed)
    when = ""
    if scan is not None:
        started = scan.started_at.astimezone(UTC)
        when = f"scan {scan.scan_id[:SHOWN_SCAN_ID]} of {started:%Y-%m-%d %H:%M} UTC"
    if origin.read_from == "store":
        place = f", site {origin.site}" if origin.site else ""
        said.append(f"read from the stored {when} in {origin.location}{place}")
        if origin.chosen == "default store":
            said.append(
                "the default database holds the address, so explain read it there and sent "
                "nothing to the device (--probe probes it now)"
            )
        if origin.newer_sighting is not None:
            said.append(_newer_sighting(origin.newer_sighting))
        if origin.other_sites:
            said.append(
                f"the address is stored at other sites too ({', '.join(origin.other_sites)}): "
                "--site NAME for one of them"
            )
    elif origin.read_from == "report":
        said.append(f"read from the report {origin.location}" + (f" ({when})" if when else ""))
    elif origin.read_from == "network":
        why = {
            "asked": ", as --probe asked",
            "not stored": ": the default database holds no device at this address",
        }.get(origin.chosen, "")
        said.append(f"probed now by explain (not stored){why}")
    if counts:
        said.append(
            "evidence from: "
            + ", ".join(f"{protocol} ({count})" for protocol, count in sorted(counts.items()))
        )
    return dataclasses.replace(
        origin,
        kind=scan.kind if scan is not None else origin.kind,
        scan_id=scan.scan_id if scan is not None else origin.scan_id,
        started_at=scan.started_at.isoformat() if scan is not None else origin.started_at,
        inputs=inputs,
        evidence_from=counts,
        said=tuple(said),
    )


def _newer_sighting(newer: dict[str, Any]) -> str:
    """The newer sighting that identified nothing, in words: what it was, when, which scan."""
    from datetime import UTC, datetime

    kinds = {"active": "an active scan", "passive": "a passive capture", "import": "an import"}
    what = kinds.get(str(newer["kind"]), str(newer["kind"]))
    targets = [str(target) for target in newer.get("targets") or ()]
    if targets:
        what += " of " + ", ".join(targets[:3]) + (", …" if len(targets) > 3 else "")
    started = datetime.fromisoformat(str(newer["started_at"])).astimezone(UTC)
    count = int(newer.get("unidentified") or 1)
    since = f" (the newest of {count} sightings since that identified nothing)" if count > 1 else ""
    return (
        f"a newer sighting identified nothing: {what}, scan {str(newer['scan_id'])[:SHOWN_SCAN_ID]}"
        f" of {started:%Y-%m-%d %H:%M} UTC{since}; the device keeps the verdict of this one, "
        "the newest that identified it (not hearing its maker proves nothing)"
    )


def _refused_as_public(address: str) -> bool:
    """Whether the scope rules refuse ``address`` only because it is public (what
    ``--allow-public`` would change)."""
    import ipaddress

    from provscan.targets import check_scope

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return check_scope(ip, allow_public=False) != check_scope(ip, allow_public=True)


def probe_outcomes(device: Device) -> tuple[ProbeOutcome, ...]:
    """What each probe got on the device, from the attempts it carries (nothing is sent): a
    probe that completed is ``matched`` when a rule matched an evidence item that came from
    it (its protocol and port) and named a maker, ``no maker`` when rules matched but named
    none (a device type, a model: ``detail`` says what they gave), else ``no match`` (an
    observation kept only as context, with no rule, is not a match); a failed one keeps its
    status and error."""
    from provscan.model import AttemptStatus

    matched: dict[tuple[str, int | None], list[str]] = {}
    naming: set[tuple[str, int | None]] = set()
    for item in device.evidence:
        if not item.rule_id:
            continue
        key = (item.protocol, item.port)
        if item.asserts.get("manufacturer") or item.asserts.get("brand"):
            naming.add(key)
        gave = ", ".join(
            f"{name.replace('_', ' ')} {value}" for name, value in item.asserts.items()
        )
        matched.setdefault(key, []).append(f"{item.rule_id}: {gave or 'nothing'}")
    outcomes = []
    for attempt in device.attempts:
        key = (attempt.probe, attempt.port)
        detail = attempt.error
        if attempt.status is not AttemptStatus.OK:
            outcome = attempt.status.value
        elif key in naming:
            outcome = "matched"
        elif key in matched:
            outcome = "no maker"
            detail = "; ".join(dict.fromkeys(matched[key]))
        else:
            outcome = "no match"
        outcomes.append(ProbeOutcome(attempt.probe, attempt.port, outcome, detail))
    return tuple(outcomes)


def _maker_support(
    lines: Sequence[EvidenceLine],
    knowledge: Knowledge,
    min_fields: int,
    device: Device | None = None,
) -> tuple[MakerSupport, ...]:
    from provscan.attribution.attribute import (
        NAME_RULE_PREFIX,
        Signal,
        establishes,
        signal_group,
    )

    named: dict[str, list[EvidenceLine]] = {}
    for line in lines:
        for key in ("manufacturer", "brand"):
            value = line.asserts.get(key)
            if value:
                named.setdefault(value, []).append(line)
    support = []
    for maker, items in named.items():
        family = knowledge.family_of(maker)
        specific = tuple(
            dict.fromkeys(
                i.rule_id or ""
                for i in items
                if i.specificity in ("maker-specific", "registry", "grammar")
            )
        )
        fields = tuple(dict.fromkeys(i.field for i in items if i.specificity == "shared"))
        # the attribution's own rule, on the same signals (never a second copy of it)
        found = establishes(
            Signal(
                signal_group(i.rule_id or "", i.field),
                i.protocol,
                i.port,
                i.specificity in ("maker-specific", "registry", "grammar"),
                i.specificity == "fallback",
            )
            for i in items
            if i.specificity in ("maker-specific", "registry", "grammar", "shared", "fallback")
        )
        established = found.established
        if specific:
            reason = f"maker-specific signal: {', '.join(specific)}"
        elif established:
            reason = (
                f"shared signals corroborate each other on {found.independent} independent "
                f"fields of different services ({'; '.join(found.services)})"
            )
        elif family is None and (
            not fields
            or any(i.specificity == "fallback" for i in items)
            or any((i.rule_id or "").startswith(NAME_RULE_PREFIX) for i in items)
        ):
            # a maker outside the restricted families: nmap's fallback (decision 0023) or
            # the device printing its name names it (attribution._possible_makers)
            established = True
            only = "its name printed by the device" if fields else "nmap's fallback"
            reason = f"{only} only; enough for a maker outside the restricted families"
        elif family is None:
            established = False
            others = sorted({name for i in items for name in i.shared_with})
            also = f", also produced by {', '.join(others)}" if others else ""
            reason = (
                f"only shared signals on {found.independent} independent field(s){also}: "
                "a value several makers send names a maker outside the restricted families "
                "only as a possibility (decision 0030), unless a maker-specific signal or "
                f"shared signals on {min_fields} fields of different services corroborate it"
            )
        else:
            established = False
            others = sorted({name for i in items for name in i.shared_with})
            also = f", also produced by {', '.join(others)}" if others else ""
            need = (
                f"a restricted maker needs one maker-specific signal or shared signals on "
                f"{min_fields} fields of different services"
            )
            if found.one_service_only:
                reason = (
                    f"shared signals of one service only ({found.services[0]}): "
                    f"{found.fields} fields of one server's replies are 1 independent "
                    f"signal{also}: {need}"
                )
            else:
                reason = (
                    f"only shared signals on {found.independent} independent field(s){also}: {need}"
                )
            if any(i.specificity == "fallback" for i in items):
                reason += " (nmap's fallback never counts)"
        support.append(MakerSupport(maker, family, specific, fields, established, reason))
    return tuple(support)


def _near_and_unexplained(
    observations: Iterable[Observation], knowledge: Knowledge, lines: Sequence[EvidenceLine]
) -> tuple[tuple[NearMiss, ...], tuple[dict[str, Any], ...]]:
    """Rules that match an observation but for letter case; observations no rule explains."""
    by_field: dict[str, list[Rule]] = {}
    for loaded in knowledge.fingerprints:
        for field_name in loaded.spec.fields:
            by_field.setdefault(field_name, []).extend(loaded.spec.rules)
    explained = {(line.field, line.observed) for line in lines if line.rule_id}
    near: list[NearMiss] = []
    unexplained: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for observation in observations:
        key = (observation.field, observation.value)
        if key in seen:
            continue
        seen.add(key)
        if key in explained:
            continue
        value = observation.value[:4096]
        for rule in by_field.get(observation.field, ()):
            why = _near_miss(rule, value)
            if why:
                near.append(NearMiss(observation.field, value, rule.id, why))
        if observation.field in REPORTABLE_FIELDS:
            unexplained.append(
                {"field": observation.field, "port": observation.port, "value": value[:400]}
            )
    return tuple(near[:MAX_LISTED]), tuple(unexplained)


def _near_miss(rule: Rule, value: str) -> str:
    """Why ``rule`` nearly matched ``value`` (it does not match as written), or ""."""
    flags = re.IGNORECASE if rule.ignore_case else 0
    try:
        if re.search(rule.pattern, value, flags):
            return ""
        if not rule.ignore_case and re.search(rule.pattern, value, re.IGNORECASE):
            return "letter case differs"
        unanchored = rule.pattern.removeprefix("^").removesuffix("$")
        if unanchored != rule.pattern and re.search(unanchored, value, flags):
            return "the rule wants the whole value; it appears inside it"
    except re.error:
        return ""
    return ""


def _lookalikes(
    observations: Iterable[Observation], knowledge: Knowledge, lines: Sequence[EvidenceLine]
) -> tuple[LookAlike, ...]:
    """The observed values a rule naming a maker lists among its ``negatives`` (the values
    it must not match: known look-alikes, such as the UTT router's ``NetDVRDVS:`` prompt
    for Hikvision's telnet rule), each with the rule that explains it instead, if any. A
    value a rule reads as another maker's (Dahua's ``WEB SERVICE`` title, which Xiongmai's
    rule must not match) is that maker's evidence, shown as such: not listed here."""
    from provscan.attribution.attribute import derived_claim_source

    rules = {rule.id: rule for loaded in knowledge.fingerprints for rule in loaded.spec.rules}
    naming: dict[str, list[Rule]] = {}
    for loaded in knowledge.fingerprints:
        for rule in loaded.spec.rules:
            if rule.negatives and (rule.asserts.get("manufacturer") or rule.asserts.get("brand")):
                for field_name in loaded.spec.fields:
                    naming.setdefault(field_name, []).append(rule)
    explaining = {(line.field, line.observed.strip()): line.rule_id for line in lines}
    maker_evidence = {
        (line.field, line.observed.strip())
        for line in lines
        if line.rule_id and _names_maker(line.asserts)
    }
    seen = [(o.field, o.port, o.value) for o in observations]
    seen += [(line.field, line.port, line.observed) for line in lines]
    found: dict[tuple[str, str, str], LookAlike] = {}
    for field_name, port, value in seen:
        shown = value.strip()
        if (
            not shown
            or (field_name, shown) in maker_evidence
            or _is_provscan_agent(field_name, shown)
        ):
            # provscan's own User-Agent is no look-alike of anything: the host runs provscan
            continue
        for rule in naming.get(field_name, ()):
            if not any(str(negative).strip() == shown for negative in rule.negatives):
                continue
            key = (field_name, shown, rule.id)
            if key in found:
                continue
            other_id = explaining.get((field_name, shown))
            if other_id == rule.id:
                other_id = None
            other = rules.get(other_id) if other_id else None
            maker = rule.asserts.get("manufacturer") or rule.asserts.get("brand") or ""
            if other is not None:
                explanation, source = other.description, other.source
            elif other_id is not None:  # a name, the registry, a grammar: no fingerprint rule
                explanation = f"read by {other_id}, not by a fingerprint rule"
                source = derived_claim_source(other_id)
            else:
                explanation = (
                    f"no rule reads it; {rule.id} lists it as a known look-alike of {maker}"
                )
                source = rule.source
            found[key] = LookAlike(
                field_name, port, shown, rule.id, maker, other_id, explanation, source
            )
    return tuple(found.values())


#: The fields a host's own requests carry its User-Agent in (it is the client).
USER_AGENT_FIELDS = frozenset({"http.user_agent", "rtsp.user_agent"})


def _is_provscan_agent(field_name: str, value: str) -> bool:
    """Whether ``value`` of ``field_name`` is the User-Agent provscan's own probes send
    (``provscan/VERSION (+URL)`` over HTTP, ``provscan`` over RTSP, of any version)."""
    from provscan.probes.http import USER_AGENT as HTTP_AGENT
    from provscan.wire.rtsp import USER_AGENT as RTSP_AGENT

    if field_name not in USER_AGENT_FIELDS:
        return False
    value = value.strip()
    return value in (HTTP_AGENT, RTSP_AGENT) or value.startswith(f"{RTSP_AGENT}/")


def _provscan_agent(observations: Iterable[Observation]) -> tuple[str, ...]:
    """Where the host sent provscan's own User-Agent (``http.user_agent:80``), in order."""
    found = (
        f"{o.field}:{o.port}" if o.port is not None else o.field
        for o in observations
        if _is_provscan_agent(o.field, o.value)
    )
    return tuple(dict.fromkeys(found))


#: A conflict between a maker and a rival of another family (``attribution.attribute``).
_RIVAL_CONFLICT = re.compile(
    r"^manufacturer: (?P<top>.+) \((?P<top_score>\d+(?:\.\d+)?)\) vs "
    r"(?P<rival>.+) \((?P<rival_score>\d+(?:\.\d+)?)\)$"
)
#: A conflict between makers the evidence cannot tell apart (alternatives).
_UNDECIDED_CONFLICT = re.compile(
    r"^manufacturer: (?P<names>.+) \((?P<score>\d+(?:\.\d+)?)\): the evidence does not say which$"
)


def _conflict_sources(
    device: Device, lines: Sequence[EvidenceLine], knowledge: Knowledge
) -> tuple[ConflictSources, ...]:
    """Each manufacturer conflict of ``device`` with where each maker it names comes from
    (the evidence rules naming it, the relations leading to it from a brand the evidence
    names), and for a rival of another family, why the confidence is lower."""
    found: list[ConflictSources] = []
    for conflict in device.conflicts:
        named: list[tuple[str, float | None]]
        confidence = ""
        if (rival := _RIVAL_CONFLICT.match(conflict)) is not None:
            top, second = float(rival["top_score"]), float(rival["rival_score"])
            named = [(rival["top"], top), (rival["rival"], second)]
            confidence = (
                f"confidence {device.confidence:.2f}, not {top:.2f}: a rival maker of another "
                f"family lowers it to the best score × (1 − 0.5 × the rival's), here "
                f"{top:.2f} × (1 − 0.5 × {second:.2f}) = {device.confidence:.2f} "
                "(docs/decisions/0002-attribution-scoring.md)"
            )
        elif (undecided := _UNDECIDED_CONFLICT.match(conflict)) is not None:
            named = [(name, None) for name in undecided["names"].split(" or ")]
        else:
            continue  # a model, firmware or device type conflict: the values say it
        sides = tuple(
            _conflict_side(maker, score, lines, knowledge, device.device_type)
            for maker, score in named
        )
        found.append(ConflictSources(conflict, sides, confidence))
    return tuple(found)


def _conflict_side(
    maker: str,
    score: float | None,
    lines: Sequence[EvidenceLine],
    knowledge: Knowledge,
    device_type: str | None,
) -> ConflictSide:
    """Where ``maker``'s score comes from: the rules naming it, and the relations (other
    than a maker's own brand) leading to it from a brand the evidence names, within the
    relation's kinds of device, as the attribution follows them."""

    def canonical(name: str) -> str:
        return (knowledge.canonical_vendor(name) or name).casefold()

    wanted = canonical(maker)
    rules = tuple(
        dict.fromkeys(
            line.rule_id
            for line in lines
            if line.rule_id and canonical(line.asserts.get("manufacturer") or "") == wanted
        )
    )
    brands: dict[str, list[str]] = {}
    for line in lines:
        brand = line.asserts.get("brand")
        if line.rule_id and brand:
            rule_ids = brands.setdefault(knowledge.canonical_vendor(brand) or brand, [])
            if line.rule_id not in rule_ids:
                rule_ids.append(line.rule_id)
    relations: list[dict[str, Any]] = []
    for brand, brand_rules in brands.items():
        for relation in knowledge.relations_for_brand(brand):
            if relation.brand == relation.maker or canonical(relation.maker) != wanted:
                continue
            if relation.device_types and device_type not in (None, *relation.device_types):
                continue  # the attribution does not follow it for a device of this kind
            relations.append(
                {
                    "brand": relation.brand,
                    "maker": relation.maker,
                    "relation": relation.relation,
                    "scope": relation.scope,
                    "confidence": relation.confidence,
                    "evidence": relation.evidence,
                    "sources": list(relation.sources),
                    "brand_rules": list(brand_rules),
                }
            )
    return ConflictSide(maker, score, rules, tuple(relations))


def _validity(since: str | None, until: str | None) -> str:
    """A relation's validity dates in words (both ends inclusive, as relations.yaml says)."""
    if since is None and until is None:
        return "undated"
    return f"valid {since or '…'}..{until or '…'}"


def _carrying_relations(
    device: Device, lines: Sequence[EvidenceLine], knowledge: Knowledge
) -> tuple[dict[str, Any], ...]:
    """The relations that carried a maker to ``device`` from a brand the evidence (or the
    verdict) names, with their validity dates and sources: those to the verdict's maker or
    its alternatives, and, for a device left without a maker, those limited to some lines
    or a period, which name a maker for review only."""
    makers = {device.manufacturer, *(a.maker for a in device.alternatives)} - {None}
    brands = [line.asserts["brand"] for line in lines if line.asserts.get("brand")]
    if device.brand:
        brands.append(device.brand)
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for brand in dict.fromkeys(knowledge.canonical_vendor(b) or b for b in brands):
        for relation in knowledge.relations_for_brand(brand):
            if relation.brand == relation.maker or relation.relation == "own_brand":
                continue
            kinds = relation.device_types
            if kinds and device.device_type not in (None, *kinds):
                continue  # the attribution does not follow it for a device of this kind
            limited = relation.partial or relation.since or relation.until
            if relation.maker in makers:
                carried = "maker"
            elif device.manufacturer is None and limited:
                carried = "possible"
            else:
                continue
            key = (relation.brand, relation.maker, relation.relation)
            if key in seen:
                continue
            seen.add(key)
            found.append(
                {
                    "brand": relation.brand,
                    "maker": relation.maker,
                    "relation": relation.relation,
                    "scope": relation.scope,
                    "since": relation.since,
                    "until": relation.until,
                    "confidence": relation.confidence,
                    "sources": list(relation.sources),
                    "carried": carried,
                }
            )
    return tuple(found)


def _relation_words(relation: dict[str, Any]) -> str:
    """One carrying relation in words: its kind, scope, validity dates and sources."""
    scope = f", {relation['scope']}" if relation["scope"] != "all" else ""
    role = (
        f"it links the brand to the verdict's maker {relation['maker']}"
        if relation["carried"] == "maker"
        else f"it names {relation['maker']} only as a possible maker"
    )
    return (
        f"relation {relation['brand']} -> {relation['maker']} (relations.yaml: "
        f"{relation['relation']}{scope}; {_validity(relation['since'], relation['until'])}; "
        f"confidence {relation['confidence']}): {role}; sources: " + "; ".join(relation["sources"])
    )


def _side_words(side: ConflictSide) -> str:
    """Where one side of a conflict comes from, in words."""
    from provscan.report.wording import plural

    head = f"{side.maker} ({side.score:.2f})" if side.score is not None else side.maker
    shown = 3
    if side.rules:
        listed = ", ".join(side.rules[:shown])
        more = f" and {len(side.rules) - shown} more" if len(side.rules) > shown else ""
        said = [f"named by {plural(len(side.rules), 'rule')} of the evidence ({listed}{more})"]
    else:
        said = [f"no evidence item names {side.maker}"]
    for relation in side.relations:
        scope = f", {relation['scope']}" if relation["scope"] != "all" else ""
        sources = "; ".join(relation["sources"])
        rules = ", ".join(relation["brand_rules"])
        said.append(
            f"through the brand {relation['brand']} (read by {rules}), the knowledge's "
            f"relation {relation['brand']} -> {relation['maker']} names it (relations.yaml: "
            f"{relation['relation']}{scope}; confidence {relation['confidence']}; source: "
            f"{sources})"
        )
    return f"{head}: " + "; ".join(said)


def next_steps(
    device: Device, unexplained: bool, *, runs_provscan: bool = False
) -> tuple[str, ...]:
    """What a person can do to identify a device that stayed unknown, in words: read its
    label or web interface, find it by the switch's MAC table, scan it with credentials
    where that can help (ONVIF on an HTTP port, for a device of no identified maker), look
    up the model it shows, and report what no rule explains. ``runs_provscan``: the host
    sent provscan's own User-Agent; it is no device to identify, only to locate."""
    from provscan.attribution.mac import is_locally_administered, is_multicast
    from provscan.model import seen_only_through_a_router
    from provscan.probes.credentialed import PLAIN_PORTS, TLS_PORTS

    address = device.ip
    ports = tuple(device.open_ports)
    mac = f" (its MAC {device.mac})" if device.mac else ""
    if runs_provscan:
        return (
            "nothing to identify on a label: it is a host running provscan (it sent "
            "provscan's own User-Agent), the scanner itself or another one, not a device of "
            "a maker to look up",
            f"if you do not know who runs provscan there{mac}: the switch's MAC address "
            f"table (or the router's ARP table) for {address} gives the switch port it is "
            "plugged in",
        )
    if seen_only_through_a_router(device):
        # an address beyond a router (a capture's internet peer): no label to read here
        return (
            "it was seen only through a router's MAC, off the captured segment: a capture "
            "on its own network, or a scan of it if it is yours, would show what it is",
        )
    web = [port for port in ports if port in (*PLAIN_PORTS, *TLS_PORTS)]
    steps: list[str] = []
    if web:
        port = web[0]
        scheme = "https" if port in TLS_PORTS else "http"
        url = f"{scheme}://{address}" + ("" if port in (80, 443) else f":{port}") + "/"
        steps.append(
            f"check the device itself: the label on its case (maker, model, serial) or its "
            f"web interface ({url}), which often names the maker on its login page or its "
            "About page"
        )
    else:
        steps.append(
            "check the device itself: the label on its case (maker, model, serial); it has "
            "no web port open"
        )
    if device.mac and (is_locally_administered(device.mac) or is_multicast(device.mac)):
        # randomised or set by software: its first half is no maker's block
        maker = (
            "; the MAC is locally administered (randomised or set by software), so its "
            "first half names no maker"
        )
    else:
        maker = ", and the MAC's first half its network card's maker"
    steps.append(
        f"find where it is plugged in{mac}: the switch's MAC address table (or the "
        f"router's ARP table) for {address} gives the switch port{maker}"
    )
    if web:
        listed = ", ".join(str(port) for port in web)
        steps.append(
            f"if you hold its credentials: provscan scan {address} --credentials FILE reads "
            f"its model, serial and firmware over ONVIF (GetDeviceInformation) on port "
            f"{listed} (read-only; the password is never stored)"
        )
    else:
        open_ports = ", ".join(str(port) for port in ports) or "none"
        steps.append(
            "--credentials cannot help here: a device of no identified maker is asked only "
            f"over ONVIF on an HTTP port, and it has none open (ports {open_ports})"
        )
    steps.append(
        "once you read a model (or a brand and model) on its label or web page: provscan "
        'lookup "BRAND MODEL" says who really makes it and which measures name it'
    )
    if unexplained:
        steps.append(
            "report what no rule explains (listed above) so that a rule can be written: "
            f"{_report_how(address)}"
        )
    return tuple(steps)


def _report_how(address: str) -> str:
    """How to report a device no rule identifies: where, and what to attach."""
    return (
        f"open an issue at {ISSUES_URL} (CONTRIBUTING.md says what a new rule needs) and "
        f"attach the output of provscan explain {address} -f json, with the maker and model "
        "on its label if you can read them; the issue is public: replace addresses, MAC "
        "addresses, serial numbers and host names in it first"
    )


# -- the human view -----------------------------------------------------------------------


#: Joins the words of a phrase that must not be split across lines (never in printable text).
_GLUE = "\xa0"


def _wrap_to(
    text: str,
    indent: str = "  ",
    first: str | None = None,
    *,
    width: int = WIDTH,
    keep: str = "",
) -> list[str]:
    """``text`` wrapped to ``width``; ``keep``: a phrase of it that stays on one line."""
    shown = printable(text)
    if keep:
        phrase = printable(keep)
        shown = shown.replace(phrase, phrase.replace(" ", _GLUE))
    lines = textwrap.wrap(
        shown,
        width,
        initial_indent=first if first is not None else indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    ) or [first or indent]
    return [line.replace(_GLUE, " ") for line in lines]


def _clip(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= VALUE_CHARS else value[: VALUE_CHARS - 1] + "…"


def _clip_detail(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= DETAIL_CHARS else value[: DETAIL_CHARS - 1] + "…"


def render(result: Explanation, width: int = WIDTH) -> list[str]:
    """The one-screen view, every line at most ``width`` characters."""
    wrap = functools.partial(_wrap_to, width=width)
    out: list[str] = []
    maker = f"- maker {result.manufacturer or 'unknown'}"
    head = f"{result.address}: {result.verdict.upper()} (as {result.judged_for}) {maker}"
    if result.family:
        head += f" (family {result.family})"
    out += wrap(head, "", "", keep=maker)
    details = [
        f"brand {result.brand}" if result.brand else "",
        f"relation {result.relation}" if result.relation else "",
        f"model {result.model}" if result.model else "",
        f"confidence {result.confidence:.2f}",
        "ports " + ",".join(str(p) for p in result.open_ports) if result.open_ports else "",
    ]
    out += wrap(" · ".join(d for d in details if d))
    if result.origin is not None and result.origin.absence is not None:
        out += wrap(_absence_words(result.origin.absence))
    if result.origin is not None and result.origin.said:
        out.append("")
        out.append("Where this came from")
        for sentence in result.origin.said:
            out += wrap(sentence, "  ", "- ")
    out.append("")
    out.append("Evidence")
    if not result.evidence and result.verdict == "unknown" and result.probes:
        out += wrap("none: no rule matched what the probes got (why: below)")
    elif not result.evidence:
        out.append("  none: nothing observed matched a rule")
    for line in result.evidence:
        where = f"{line.field}" + (f":{line.port}" if line.port is not None else "")
        out += wrap(f"{where} = {_clip(line.observed)!r}", "  ", "- ")
        if line.rule_id:
            claims = ", ".join(f"{k} {v}" for k, v in line.asserts.items()) or "nothing"
            kind = line.specificity
            if line.shared_with:
                kind += " with " + ", ".join(line.shared_with)
            elif kind == "shared" and not _names_maker(line.asserts):
                kind = "names no maker"
            out += wrap(f"rule {line.rule_id} -> {claims} ({kind}, {line.certainty:.2f})")
        else:
            out += wrap("no rule: kept as context")
        if line.detail:
            out += wrap(f"detail: {_clip_detail(line.detail)}")
    if result.lookalikes:
        out.append("")
        out.append("Known look-alikes")
        for alike in result.lookalikes:
            out += _lookalike_lines(alike, wrap)
    out.append("")
    out.append("How the verdict was reached")
    if not result.makers:
        out += wrap("no evidence names a maker, so the device is unknown (not cleared)")
    for support in result.makers:
        mark = "established" if support.established else "NOT established"
        family = f", family {support.family}" if support.family else ""
        out += wrap(f"{support.maker}{family}: {mark} - {support.reason}", "  ", "- ")
    for relation in result.relations:
        out += wrap(_relation_words(relation), "  ", "- ")
    if result.provscan_agent:
        out += wrap(
            f"it sent provscan's own User-Agent ({_agent_places(result.provscan_agent)}): it "
            "is a host running provscan (the scanner itself, or another one), not a device "
            "to identify",
            "  ",
            "- ",
        )
    sources = {item.conflict: item for item in result.conflict_sources}
    for conflict in result.conflicts:
        out += wrap(f"conflict: {conflict}", "  ", "- ")
        explained = sources.get(conflict)
        if explained is None:
            continue
        for side in explained.sides:
            out += wrap(_side_words(side), "    ")
        if explained.confidence:
            out += wrap(explained.confidence, "    ")
    for note in _review_notes(result):
        out += wrap(note, "  ", "- ")
    if result.verdict == "unknown":
        out += _why_unknown(result.probes, wrap, result.origin)
    out.append("")
    out.append("Measures")
    if not result.measures:
        out.append("  none apply" + (" (maker unknown)" if result.manufacturer is None else ""))
    for text in _measure_lines(result.measures):
        out += wrap(text, "  ", "- ")
    if result.near_misses:
        out.append("")
        out.append("Nearly matched")
        for miss in result.near_misses:
            out += wrap(
                f"{miss.rule_id} on {miss.field} {_clip(miss.observed)!r}: {miss.why}", "  ", "- "
            )
    if result.unexplained:
        out.append("")
        out.append("Observed, explained by no rule (worth reporting)")
        for item in result.unexplained[:MAX_LISTED]:
            port = f":{item['port']}" if item["port"] is not None else ""
            out += wrap(f"{item['field']}{port} = {_clip(item['value'])!r}", "  ", "- ")
        if len(result.unexplained) > MAX_LISTED:
            out.append(f"  … {len(result.unexplained) - MAX_LISTED} more (--format json)")
        if result.next_steps:
            out += wrap("how to report them: under What to do next, below")
        else:
            out += wrap(f"to report them: {_report_how(result.address)}")
    if result.next_steps:
        out.append("")
        out.append("What to do next")
        for step in result.next_steps:
            out += wrap(step, "  ", "- ")
    # the review notes are shown with how the verdict was reached, the origin's above
    shown = {*_review_notes(result), *(result.origin.inputs if result.origin else ())}
    notes = [note for note in result.notes if note not in shown]
    if notes:
        out.append("")
        out.append("Notes")
        for note in notes:
            out += wrap(note, "  ", "- ")
    return out


def _agent_places(places: Sequence[str]) -> str:
    """``http.user_agent:80``, ``http.user_agent:8080`` as ``http.user_agent on ports 80,
    8080``."""
    ports: dict[str, list[str]] = {}
    for place in places:
        name, _, port = place.partition(":")
        ports.setdefault(name, [])
        if port:
            ports[name].append(port)
    return "; ".join(
        name + (f" on {'port' if len(on) == 1 else 'ports'} {', '.join(on)}" if on else "")
        for name, on in ports.items()
    )


def _names_maker(asserts: dict[str, str]) -> bool:
    return bool(asserts.get("manufacturer") or asserts.get("brand"))


def _absence_words(absence: dict[str, Any]) -> str:
    """The inventory's status of a device it marks missing or gone, in words."""
    from datetime import UTC, datetime

    count = int(absence.get("not_seen_by") or 0)
    since = datetime.fromisoformat(str(absence["last_seen"])).astimezone(UTC)
    said = f"the inventory marks it {absence['status']}"
    if count:
        scans = "scan" if count == 1 else f"{count} scans"
        said += (
            f": not seen by the last {scans} covering it since {since:%Y-%m-%d %H:%M} UTC, "
            "when it was last seen"
        )
    else:
        said += f", last seen {since:%Y-%m-%d %H:%M} UTC"
    return said + "; what follows is that last sighting"


def _lookalike_lines(alike: LookAlike, wrap: Callable[..., list[str]]) -> list[str]:
    """A known look-alike in words: what was seen, whose rule lists it, what it is instead."""
    where = alike.field + (f":{alike.port}" if alike.port is not None else "")
    out = wrap(
        f"{where} = {_clip(alike.observed)!r} looks like {alike.maker} but is a known "
        f"look-alike: rule {alike.rule_id} lists it among the values it must not match, so "
        f"it is no sign of {alike.maker}",
        "  ",
        "- ",
    )
    if alike.explained_by:
        what = f": {alike.explanation.rstrip('.')}" if alike.explanation else ""
        source = f" (source: {alike.source})" if alike.source else ""
        out += wrap(f"rule {alike.explained_by}{what}{source}")
    elif alike.source:
        out += wrap(f"no rule reads it (source of {alike.rule_id}: {alike.source})")
    return out


def _review_notes(result: Explanation) -> list[str]:
    """The notes that made the verdict a review (shown with how it was reached)."""
    from provscan.policy.evaluate import REVIEW_NOTE_PREFIX

    return [note for note in result.notes if note.startswith(REVIEW_NOTE_PREFIX)]


def _measure_lines(measures: Sequence[dict[str, Any]]) -> list[str]:
    """Each measure once, in words: a measure that applies to several of the makers the
    device may be (a review between two families) is one finding per family, one line here
    naming the families."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for measure in measures:
        condition = measure.get("condition")
        restricting = measure["effect"] not in ("advisory", "context")
        if measure["restricts"]:
            state = ""
        elif measure["binding"] is False and restricting:
            state = ", does not bind you"
        elif condition and restricting:
            state = f", only if {condition}"
        else:
            state = ", restricts nothing"
        key = (measure["jurisdiction"], measure["measure"], f"{measure['effect']}{state}")
        grouped.setdefault(key, [])
        if measure["family"] not in grouped[key]:
            grouped[key].append(measure["family"])
    several = len({measure["family"] for measure in measures}) > 1
    lines = []
    for (jurisdiction, text, effect), families in grouped.items():
        whose = f"; for {' and '.join(families)}" if several and families else ""
        lines.append(f"{jurisdiction}: {text} ({effect}{whose})")
    return lines


#: At most this many probes are listed under "Why it stayed unknown" (JSON has them all).
MAX_PROBES_LISTED = 12
#: Longest probe error shown in the human view.
DETAIL_CHARS = 100


def _why_unknown(
    probes: Sequence[ProbeOutcome],
    wrap: Callable[..., list[str]],
    origin: Origin | None = None,
) -> list[str]:
    """What each probe got on a device that stayed unknown: the timeouts, refusals and
    malformed replies are the reason, as much as what answered and matched no rule. A
    device no probe reached: what was read instead, as the record's origin says."""
    method = origin.method if origin is not None else "scan"
    if not probes and method != "scan":
        out = ["", "Why it stayed unknown"]
        if method == "import":
            files = (
                [n for n in origin.inputs if n.startswith(IMPORTED_NOTE_PREFIX)] if origin else []
            )
            came = f" ({'; '.join(files)})" if files else ""
            out += wrap(
                f"no probe ran: it came from {_read_from(files)}{came}, and no rule matched "
                "what the record says about it"
            )
        elif method == "passive capture":
            out += wrap(
                "no probe ran (a passive capture): only what it sent was read, and no rule "
                "matched that"
            )
        else:
            out += wrap(
                "no probe ran (discovery only, no port scan): only what it announced on the "
                "network was read, and no rule matched that"
            )
        return out
    out = ["", "Why it stayed unknown: what each probe got"]
    if not probes:
        out += wrap(
            "no probe ran on it (no open port was found): only what it announced on the "
            "network was read, and no rule matched that"
        )
        return out
    counts: dict[str, int] = {}
    for probe in probes:
        counts[probe.outcome] = counts.get(probe.outcome, 0) + 1
    answered = counts.get("matched", 0) + counts.get("no maker", 0) + counts.get("no match", 0)
    failed = len(probes) - answered
    if not answered:
        summary = f"no probe got a usable answer ({len(probes)} tried)"
    elif failed:
        summary = f"{failed} of {len(probes)} probes got no usable answer"
    else:
        summary = f"every probe answered ({len(probes)})"
    parts = ", ".join(
        f"{count} {OUTCOME_WORDS[outcome][count > 1]}"
        for outcome, count in sorted(counts.items(), key=lambda item: -item[1])
    )
    out += wrap(f"{summary}: {parts}")
    for probe in probes[:MAX_PROBES_LISTED]:
        detail = " ".join(probe.detail.split())
        if len(detail) > DETAIL_CHARS:
            detail = detail[: DETAIL_CHARS - 1] + "…"
        words = OUTCOME_WORDS[probe.outcome][0] + (f" ({detail})" if detail else "")
        out += wrap(f"{probe.probe}:{probe.port} {words}", "  ", "- ")
    if len(probes) > MAX_PROBES_LISTED:
        out.append(f"  … {len(probes) - MAX_PROBES_LISTED} more (--format json)")
    return out
