"""``provscan inventory``, ``provscan scans``, ``provscan diff`` and ``provscan cases``: the
stored scans read back as a register of devices, what changed, and remediation tracked to
the end."""

from __future__ import annotations

import getpass
import io
import os
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from provscan.commands.common import (
    EXIT_RESTRICTED,
    DbOption,
    ExitCode,
    ForceOption,
    OutputOption,
    UsageProblem,
    epilog,
    fail_for,
    format_from_suffix,
    guard_output,
    open_db,
    output_console,
    stderr,
    warn,
)
from provscan.errors import ProvscanError

if TYPE_CHECKING:
    from provscan.store.db import Store
    from provscan.store.views import ScanDiff


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class ShortFormat(StrEnum):
    table = "table"
    json = "json"


class Status(StrEnum):
    present = "present"
    missing = "missing"
    gone = "gone"


ShortFormatOption = Annotated[
    ShortFormat, typer.Option("--format", "-f", metavar="table|json", help="Output format.")
]
_FROM_SUFFIX = "Output format (default: from the --output file's suffix, else table)."
InventoryFormatOption = Annotated[
    ListFormat | None,
    typer.Option("--format", "-f", metavar="table|json|csv|xlsx", help=_FROM_SUFFIX),
]
DiffFormatOption = Annotated[
    ShortFormat | None, typer.Option("--format", "-f", metavar="table|json", help=_FROM_SUFFIX)
]

#: ``--output`` suffixes that choose the format when ``--format`` is not given (any other
#: name gets the table); ``-f`` naming another format than one of these suffixes is refused
#: (a .txt takes any text format): a file is never written under a name that says another.
_INVENTORY_SUFFIXES = {
    ".txt": ListFormat.table,
    ".json": ListFormat.json,
    ".csv": ListFormat.csv,
    ".xlsx": ListFormat.xlsx,
}
_DIFF_SUFFIXES = {".txt": ShortFormat.table, ".json": ShortFormat.json}
#: Suffixes of the reports ``provscan report`` writes (of the inventory by default).
_REPORT_SUFFIXES = frozenset({".html", ".htm", ".pdf", ".md", ".markdown"})
#: Suffixes of formats nothing here writes (a spreadsheet or document Excel or Word would
#: refuse to open as text).
_OTHER_SUFFIXES = frozenset(
    {
        ".csv",
        ".xlsx",
        ".xls",
        ".xlsm",
        ".xltx",
        ".ods",
        ".tsv",
        ".jsonl",
        ".ndjson",
        ".xml",
        ".doc",
        ".docx",
        ".zip",
    }
)

_STORE_EXIT_CODES: list[ExitCode] = [
    (0, "done"),
    (1, "the database cannot be read or written (message on stderr)"),
    (
        2,
        "bad argument (an unknown scan, case, status or site; an --output naming the "
        "database, already there without --force, or of a format not written here; a --db "
        "that is no provscan database)",
    ),
    (130, "interrupted"),
]


def _epilog(*examples: str, codes: Sequence[ExitCode] = _STORE_EXIT_CODES) -> str:
    return epilog(*examples, codes=codes)


def _open(db: str | None) -> Store:
    # Every command here reads what scans stored: a mistyped --db is refused, not created.
    return open_db(db, must_exist=True)


def _console() -> Console:
    return output_console()


def _stdout(output: Path | None) -> Path | None:
    """``--output``, None for ``-o -`` (standard output, as ``provscan scan`` reads it)."""
    return None if output is None or str(output) == "-" else output


F = TypeVar("F", bound=StrEnum)


def _format_for(
    fmt: F | None, output: Path | None, formats: Mapping[str, F], default: F, command: str
) -> F:
    """The format asked for, else the one the ``--output`` file's suffix names, else
    ``default`` (:func:`~provscan.commands.common.format_from_suffix`, as the other commands
    choose it). Refused (exit 2, before any work): a suffix of a format ``command`` does not
    write, and ``-f`` naming another format than the file's suffix: the file would not be
    what its name says (text in a .xlsx, which Excel refuses to open)."""
    written = _either([str(name) for name in dict.fromkeys(formats.values())])
    names = _either(list(formats))

    def refused(path: Path, suffix: str) -> str | None:
        kind = suffix[1:].upper()
        if suffix in _REPORT_SUFFIXES:
            return (
                f"--output {path}: {kind} reports are written by `provscan report` (of the "
                f"inventory by default); {command} writes {written} ({names})"
            )
        if suffix in _OTHER_SUFFIXES and suffix not in formats:
            return f"--output {path}: {command} writes {written}, not {kind}; give a {names} name"
        return None

    if fmt is not None and output is not None and str(output) != "-":
        suffix = output.suffix.lower()
        named = formats.get(suffix)
        # a .txt holds any text (the table, CSV or JSON), never a workbook
        text = suffix == ".txt" and fmt.value != "xlsx"
        if named is not None and named is not fmt and not text:
            fitting = next(name for name, value in formats.items() if value is fmt)
            raise UsageProblem(
                f"--output {output}: a {suffix} name, but -f {fmt.value} was given; give "
                f"-f {named.value}, or a {fitting} name for {fmt.value}"
            )
        problem = refused(output, suffix)
        if problem is not None:
            raise UsageProblem(problem)
    return format_from_suffix(fmt, output, formats, default, refused)


def _either(words: Sequence[str]) -> str:
    """``"a, b or c"``."""
    return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words)


def _check_output(fmt: str, output: Path | None, db: str | None, force: bool) -> None:
    if fmt == "xlsx" and _stdout(output) is None:
        raise UsageProblem("--format xlsx writes a file: give --output FILE.xlsx")
    guard_output(_stdout(output), [], db=db, force=force)


def _knowledge() -> dict[str, str | None]:
    from provscan.knowledge.packs import active_pack

    pack = active_pack()
    return {"version": pack.version, "as_of": pack.as_of}


def inventory(
    restricted: Annotated[
        bool, typer.Option("--restricted", help="Only devices judged restricted.")
    ] = False,
    site: Annotated[
        str | None, typer.Option("--site", metavar="NAME", help="Only devices of this site.")
    ] = None,
    status: Annotated[
        Status | None,
        typer.Option(
            "--status",
            metavar="present|missing|gone",
            help="missing: a complete scan covering its address (and ports), newer than "
            "its last sighting, did not see it; gone: missed by several such scans in a row; "
            "present: neither. Captures, discovery and imports cover no address: not being "
            "in one leaves a device present (the table marks it).",
        ),
    ] = None,
    format_asked: InventoryFormatOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
    fail_on_restricted: Annotated[
        bool,
        typer.Option(
            "--fail-on-restricted",
            help="Exit 3 when the inventory shown (after --site, --status) holds a restricted "
            "device that remains: not gone, its case not verified.",
        ),
    ] = False,
) -> None:
    """The register of devices across every stored scan, with status, last sighting and
    open cases.

    A device not in the newest scan of its site that looked at its address is marked in the
    table; its status changes
    only when a complete scan covering its address misses it.
    """
    from provscan.compliance import render

    try:
        fmt = _format_for(format_asked, output, _INVENTORY_SUFFIXES, ListFormat.table, "inventory")
        _check_output(fmt.value, output, db, force)
        output = _stdout(output)
        only = True if restricted else None
        state = status.value if status else None
        with _open(db) as store:
            fragments = None
            if fmt is ListFormat.table:
                devices = store.inventory(restricted=only, site=site, status=state)
            elif fmt is ListFormat.json:
                # SQLite writes each device's JSON itself; elsewhere the documents are built
                fragments = store.inventory_fragments(restricted=only, site=site, status=state)
            if fmt is not ListFormat.table and fragments is None:
                documents = store.inventory_documents(
                    restricted=only,
                    site=site,
                    status=state,
                    embed_findings=fmt is ListFormat.json,
                )
            scans = store.scans(None)
            # the report's headline number, counted by the store's one definition
            remaining = len(store.remaining(site=site, status=state))
        policies = sorted({p for scan in scans for p in scan.policies})
        console = _console()
        if fmt is ListFormat.json:
            if fragments is not None:
                document = render.inventory_document(
                    fragments[0],
                    len(scans),
                    _knowledge(),
                    policies,
                    restricted=fragments[1],
                    remaining=remaining,
                )
            else:
                document = render.inventory_document(
                    documents, len(scans), _knowledge(), policies, remaining=remaining
                )
            render.deliver_json(document, output, console)
        elif fmt is ListFormat.csv:
            text = render.csv_text(render.INVENTORY_COLUMNS, render.inventory_csv_rows(documents))
            render.deliver(text, output, console)
        elif fmt is ListFormat.xlsx:
            data = render.xlsx_bytes(
                [("Inventory", render.INVENTORY_COLUMNS, render.inventory_rows(documents))]
            )
            render.deliver(data, output, console)
        elif output is None:
            render.inventory_table(devices, console, remaining, scans)
        else:
            render.deliver(
                _table_text(lambda c: render.inventory_table(devices, c, remaining, scans)),
                output,
                console,
            )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if fail_on_restricted and remaining:
        where = f" of site {site}" if site is not None else ""
        stderr.print(
            f"{remaining} restricted device(s) remaining in the inventory{where}", highlight=False
        )
        raise typer.Exit(EXIT_RESTRICTED)


def _table_text(draw: Callable[[Console], None]) -> str:
    buffer = io.StringIO()
    draw(output_console(file=buffer, width=120, no_color=True))
    return buffer.getvalue()


def scans(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, metavar="N", help="Newest N scans.")
    ] = 20,
    all_scans: Annotated[bool, typer.Option("--all", help="Every stored scan.")] = False,
    fmt: ShortFormatOption = ShortFormat.table,
    db: DbOption = None,
) -> None:
    """Stored scans, newest first: id, kind, site, targets, devices, restricted."""
    from provscan.compliance import render

    try:
        with _open(db) as store:
            found = store.scans(None if all_scans else limit)
        console = _console()
        if fmt is ShortFormat.json:
            render.deliver(render.json_text({"scans": [s.to_json() for s in found]}), None, console)
        else:
            render.scans_table(found, console)
    except ProvscanError as exc:
        raise fail_for(exc) from None


def diff(
    old: Annotated[str | None, typer.Argument(metavar="OLD", help="Older scan id.")] = None,
    new: Annotated[str | None, typer.Argument(metavar="NEW", help="Newer scan id.")] = None,
    format_asked: DiffFormatOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
    fail_on_new_restricted: Annotated[
        bool,
        typer.Option(
            "--fail-on-new-restricted",
            help="Exit 3 when the newer scan has a restricted device the older one had not "
            "(after the first scan of a scope: any restricted device).",
        ),
    ] = False,
) -> None:
    """What changed between two scans (default: the newest scan and the newest earlier one
    whose scope overlaps it).

    The first scan of a scope (no earlier scan overlaps it) is compared with nothing: every
    device counts as new, and the output says so. A device counts as removed only when both
    scans covered its address; the old scan's other devices the new one did not see are
    listed apart, not counted as removed.
    """
    from provscan.compliance import render

    try:
        fmt = _format_for(format_asked, output, _DIFF_SUFFIXES, ShortFormat.table, "diff")
        guard_output(_stdout(output), [], db=db, force=force)
        output = _stdout(output)
        with _open(db) as store:
            result = store.diff(old, new, first_scan=True)
        console = _console()
        if fmt is ShortFormat.json:
            render.deliver(render.json_text(result.to_json()), output, console)
        elif output is None:
            _diff_table(result, console)
        else:
            render.deliver(_table_text(lambda c: _diff_table(result, c)), output, console)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if fail_on_new_restricted and result.new_restricted:
        first = " (the first scan of its scope: every device counts as new)" if result.first else ""
        stderr.print(
            f"{len(result.new_restricted)} new restricted device(s) in scan {result.new.id}{first}",
            highlight=False,
        )
        raise typer.Exit(EXIT_RESTRICTED)


def _diff_table(result: ScanDiff, console: Console) -> None:
    """The diff's table; a first scan's starts with its note, and its header line names only
    that scan (the table's usual ``OLD -> NEW`` would compare the scan with itself)."""
    from provscan.compliance import render

    note = result.note
    if note is None:
        render.diff_table(result, console)
        return
    console.print(note, highlight=False)
    with console.capture() as captured:
        render.diff_table(result, console)
    # the header, "OLD (time) -> NEW (time): counts" on one line or its three parts on a line
    # each, keeps its NEW part: the old scan of a first scan is no scan
    head, _, rest = captured.get().partition("\n")
    after = head.partition(" -> ")[2].strip()
    if not after:  # three lines: "OLD (time) ->", "NEW (time):", the counts
        after, _, rest = rest.partition("\n")
        counts, _, below = rest.partition("\n")
        if len(f"{after} {counts}") <= console.width:  # NEW alone fits on one line
            after, rest = f"{after} {counts}", below
    console.file.write(after + "\n" + rest)
    console.file.flush()


# --- cases -------------------------------------------------------------------------------

cases_app = typer.Typer(
    short_help="Remediation cases: list, show, update, export as tickets.",
    name="cases",
    help="Remediation cases: one per restricted device and per priority-1 posture finding. "
    "Scans and imports open them; `provscan cases export` writes them as service-desk "
    "tickets.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class CaseStatus(StrEnum):
    open = "open"
    planned = "planned"
    mitigated = "mitigated"
    removed = "removed"
    replaced = "replaced"
    verified = "verified"


class CaseFilter(StrEnum):
    active = "active"
    open = "open"
    planned = "planned"
    mitigated = "mitigated"
    removed = "removed"
    replaced = "replaced"
    verified = "verified"


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@cases_app.command(
    "list",
    epilog=_epilog("provscan cases list", "provscan cases list --status active --overdue -f json"),
)
def cases_list(
    status: Annotated[
        CaseFilter | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="active (not verified), open, planned, mitigated, removed, replaced, verified.",
        ),
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", metavar="ID", help="Cases of one device.")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only cases past due.")] = False,
    fmt: ShortFormatOption = ShortFormat.table,
    db: DbOption = None,
) -> None:
    """List cases."""
    from provscan.compliance import render

    try:
        with _open(db) as store:
            found = store.cases(
                status=status.value if status else None,
                device_id=device,
                overdue=overdue,
                # the JSON is the bulk export: each case with its audit trail
                history=fmt is ShortFormat.json,
            )
            devices = (
                {}
                if fmt is ShortFormat.json
                else store.case_devices({case.device_id for case in found})
            )
        console = _console()
        if fmt is ShortFormat.json:
            document = {"cases": [render.case_json(case) for case in found]}
            render.deliver(render.json_text(document), None, console)
        else:
            empty = render.no_cases(status.value if status else None, device, overdue)
            render.cases_table(found, console, devices, empty=empty)
    except ProvscanError as exc:
        raise fail_for(exc) from None


def _case_id(text: str) -> int:
    digits = text.removeprefix("#")
    if not digits.isdigit():
        raise UsageProblem(f"a case id is a number, not {text!r}")
    return int(digits)


@cases_app.command(
    "show", epilog=_epilog("provscan cases show 12", "provscan cases show 12 -f json")
)
def cases_show(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Case number.")],
    fmt: ShortFormatOption = ShortFormat.table,
    db: DbOption = None,
) -> None:
    """A case, its device and its whole audit trail."""
    from provscan.compliance import render

    try:
        number = _case_id(case_id)
        with _open(db) as store:
            case = store.case(number)
            device, _, _ = store.device(case.device_id)
        console = _console()
        if fmt is ShortFormat.json:
            document = render.case_json(case) | {"device": device.to_json()}
            render.deliver(render.json_text(document), None, console)
        else:
            render.case_detail(case, device, console)
    except ProvscanError as exc:
        raise fail_for(exc) from None


@cases_app.command(
    "update",
    short_help="Change a case; the change joins its audit trail.",
    epilog=_epilog(
        "provscan cases update 12 --status planned --owner facilities --due 2027-03-31",
        "provscan cases update 12 --status removed --note 'camera taken down, ticket 4411'",
        "provscan cases update 12 --status verified   (needs a later scan of its address)",
    ),
)
def cases_update(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Case number.")],
    status: Annotated[
        CaseStatus | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="open, planned, mitigated, removed, replaced, or verified (only with a "
            "scan's proof: a complete scan of the device's address after it was last seen).",
        ),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", metavar="WHO", help="Who acts on it ('' clears it).")
    ] = None,
    due: Annotated[
        str | None,
        typer.Option(
            "--due",
            metavar="YYYY-MM-DD",
            help="Due date: not before the case was opened (a date already past is "
            "accepted, with a warning that the case is overdue); '' clears it.",
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", metavar="TEXT")] = None,
    fmt: ShortFormatOption = ShortFormat.table,
    db: DbOption = None,
) -> None:
    """Change a case; every change is added to its audit trail with your user name."""
    from provscan.compliance import render

    try:
        number = _case_id(case_id)
        with _open(db) as store:
            case = store.update_case(
                number,
                actor=_actor(),
                status=status.value if status else None,
                owner=owner,
                due=due,
                note=note,
                # The console's audit log holds every state change, the CLI's too.
                # (a deadline before the case was opened is refused by the store: exit 2)
                address="command line",
            )
            device, _, _ = store.device(case.device_id)
        console = _console()
        if fmt is ShortFormat.json:
            render.deliver(render.json_text(render.case_json(case)), None, console)
        else:
            render.case_detail(case, device, console)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if due and case.overdue:
        # accepted (the date is after the opening), but already past: say so once
        warn(f"case {case.id} is overdue: its due date {case.due} has passed")


def register(app: typer.Typer) -> None:
    app.command(
        short_help="The register of devices across stored scans, with open cases.",
        epilog=_epilog(
            "provscan inventory",
            "provscan inventory --restricted --status present",
            "provscan inventory -f xlsx -o register.xlsx",
            "provscan inventory -f json --db postgresql://user@db.example/provscan",
            "provscan inventory --site HQ --fail-on-restricted     (for cron and CI)",
            codes=[
                *_STORE_EXIT_CODES[:-1],
                (3, "--fail-on-restricted and a restricted device remaining in what is shown"),
                _STORE_EXIT_CODES[-1],
            ],
        ),
    )(inventory)
    app.command(
        short_help="Stored scans, newest first (a short id prefix is enough).",
        epilog=_epilog("provscan scans", "provscan scans --all -f json"),
    )(scans)
    app.command(
        short_help="What changed between two scans (default: the newest and the one before).",
        epilog=_epilog(
            "provscan diff",
            "provscan diff OLD-ID NEW-ID -f json",
            "provscan diff --fail-on-new-restricted     (for cron and CI)",
            codes=[
                *_STORE_EXIT_CODES[:-1],
                (
                    3,
                    "--fail-on-new-restricted and a new restricted device (after the first "
                    "scan of a scope: any restricted device)",
                ),
                _STORE_EXIT_CODES[-1],
            ],
        ),
    )(diff)
    app.add_typer(cases_app)
