"""``provscan cases export [ID...]``: remediation cases as service-desk tickets (generic JSON,
or CSV for bulk import), with the device's evidence and the measure that binds it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from provscan.commands.common import (
    DbOption,
    ExitCode,
    ForceOption,
    OutputOption,
    UsageProblem,
    epilog,
    fail_for,
    guard_output,
    open_db,
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


def export(
    case_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Case numbers (default: every active case)."),
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
    desk's bulk import (cells that look like formulas are written as text)."""
    from provscan.compliance.tickets import TicketSource, tickets_csv, tickets_json
    from provscan.report.files import write_atomically

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
            sources = []
            for case in cases:
                device, document, _ = store.device(case.device_id)
                sources.append(TicketSource(case, device, document))
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
