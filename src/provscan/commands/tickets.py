"""``provscan cases export [ID...]``: remediation cases as service-desk tickets (generic JSON,
or CSV for bulk import), with the device's evidence and the measure that binds it.

There is no ``provscan tickets``: a newcomer who types it (the docs call the export
"tickets") is pointed at ``provscan cases export``, and an export with nothing in it says
why on stderr and which command shows the cases."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from provscan.commands.common import (
    EXIT_USAGE,
    DbOption,
    ExitCode,
    ForceOption,
    OutputOption,
    UsageProblem,
    epilog,
    fail,
    fail_for,
    guard_output,
    open_db,
    stderr,
)
from provscan.commands.inventory import cases_app
from provscan.errors import ProvscanError


class TicketFormat(StrEnum):
    json = "json"
    csv = "csv"


_EXIT_CODES: list[ExitCode] = [
    (0, "done (no case to export is not an error: an empty list)"),
    (1, "the database cannot be read (message on stderr)"),
    (2, "bad argument (an unknown case, an --output naming the database)"),
]


def _epilog(*examples: str) -> str:
    return epilog(*examples, codes=_EXIT_CODES)


def _case_ids(values: list[str]) -> list[int]:
    ids = []
    for text in values:
        digits = text.removeprefix("#")
        if not digits.isdigit():
            raise UsageProblem(f"a case id is a number, not {text!r}")
        ids.append(int(digits))
    return ids


def _nothing_to_export(overdue: bool, stored: int, active: int) -> str:
    """Why an export without case ids is empty, and the command that shows the cases."""
    if stored == 0:
        return (
            "no cases to export: scans and imports open them for restricted devices "
            "(provscan inventory --restricted; provscan cases list)"
        )
    if overdue and active:
        return (
            f"no overdue case to export ({active} active, none past due; "
            "provscan cases list --status active)"
        )
    return (
        f"no active case to export (all {stored} verified; provscan cases list --status "
        "verified shows them, provscan cases export ID exports one)"
    )


def export(
    case_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ID",
            help="Case numbers, as `provscan cases list` shows them (default: every active "
            "case; a verified one only by its number).",
        ),
    ] = None,
    fmt: Annotated[
        TicketFormat,
        typer.Option("--format", "-f", metavar="json|csv", help="Output format."),
    ] = TicketFormat.json,
    output: OutputOption = None,
    force: ForceOption = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only cases past due.")] = False,
    db: DbOption = None,
) -> None:
    """Export cases as tickets: the case, its device, the evidence, the binding measure with
    its citation and the remediation steps (JSON), or one CSV row per case for a service
    desk's bulk import (cells that look like formulas are written as text).

    The cases come from scans and imports; `provscan cases list` shows them with their
    numbers, `provscan cases update` moves them. With nothing to export the output is an
    empty list and stderr says why.
    """
    from provscan.compliance.tickets import TicketSource, tickets_csv, tickets_json
    from provscan.report.files import write_atomically

    empty: str | None = None  # why an export of every active case has none
    try:
        guard_output(output, [], db=db, force=force)
        numbers = _case_ids(case_ids or [])
        with open_db(db, must_exist=True) as store:
            if numbers:
                cases = [store.case(number) for number in numbers]
            else:
                cases = store.cases(status="active", overdue=overdue)
            if overdue:
                cases = [case for case in cases if case.overdue]
            if not cases and not numbers:
                stored = len(store.cases())
                empty = _nothing_to_export(overdue, stored, len(store.cases(status="active")))
            sources = []
            for case in cases:
                # the evidence the verdict was made of, not a newer sighting that
                # identified nothing (as the console's device page and the API)
                device, evidence, _ = store.device_evidence(case.device_id)
                sources.append(
                    TicketSource(case, device, evidence.document, evidence.source, evidence.newer)
                )
        if fmt is TicketFormat.csv:
            text = tickets_csv(sources)
        else:
            text = tickets_json(sources, datetime.now(UTC).isoformat())
        if output is not None:
            write_atomically(output, text.encode("utf-8"))
        else:
            typer.echo(text, nl=False)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if empty is not None:
        stderr.print(f"provscan: note: {empty}", highlight=False, markup=False)
    elif numbers and overdue and not cases:
        stderr.print(
            "provscan: note: none of the cases given is overdue (without --overdue they are "
            "exported)",
            highlight=False,
            markup=False,
        )


def _no_tickets_command(ctx: typer.Context) -> None:
    """There is no `provscan tickets`: cases are exported as service-desk tickets by
    `provscan cases export` (the cases and their numbers: `provscan cases list`)."""
    raise fail(
        "tickets are exported with 'provscan cases export' (cases: 'provscan cases list'); "
        "see 'provscan cases export --help'",
        EXIT_USAGE,
    )


def register(app: typer.Typer) -> None:
    cases_app.command(
        "export",
        short_help="Export cases as tickets (JSON, or CSV for a service desk).",
        epilog=_epilog(
            "provscan cases export -o tickets.json",
            "provscan cases export 12 15 -f csv -o tickets.csv",
            "provscan cases export --overdue -f csv -o overdue.csv",
        ),
    )(export)
    # a newcomer's `provscan tickets` (the docs say tickets): a pointer, not "no such command"
    app.command(
        "tickets",
        hidden=True,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(_no_tickets_command)
