"""``provscan report``: the compliance report a manager signs, from the scan database."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from provscan.commands.common import (
    INTERRUPTS_RECEIVED,
    DbOption,
    ExitCode,
    ForceOption,
    PolicyOption,
    UsageProblem,
    counting_interrupts,
    epilog,
    fail_for,
    guard_output,
    open_db,
    parse_policy_ids,
    resolve_acting_as,
    say_interrupted,
    stderr,
)
from provscan.errors import ProvscanError
from provscan.report.files import STDOUT_NAME


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"
    xlsx = "xlsx"
    md = "md"


_SUFFIXES = {
    ".html": ReportFormat.html,
    ".htm": ReportFormat.html,
    ".pdf": ReportFormat.pdf,
    ".xlsx": ReportFormat.xlsx,
    ".md": ReportFormat.md,
    ".markdown": ReportFormat.md,
}

_EXIT_CODES: list[ExitCode] = [
    (0, "report written"),
    (
        1,
        "the database cannot be read, the file cannot be written, or the PDF engine "
        "(WeasyPrint with Pango) is missing (message on stderr)",
    ),
    (
        2,
        "bad argument: no --output, an --output naming the database, a --db that is no "
        "provscan database, an unknown scan, policy, site or --as org type, --scan together "
        "with --inventory or --site",
    ),
    (130, "interrupted (Ctrl-C): no report written, an existing file left as it was"),
]


def _epilog(*examples: str) -> str:
    return epilog(*examples, codes=_EXIT_CODES)


def _format_for(fmt: ReportFormat | None, output: Path) -> ReportFormat:
    if fmt is not None:
        return fmt
    guessed = _SUFFIXES.get(output.suffix.lower())
    if guessed is None and str(output) == STDOUT_NAME:
        raise UsageProblem(
            "--output - writes the report to standard output: give its --format html|pdf|xlsx|md"
        )
    if guessed is None:
        raise UsageProblem(
            f"cannot tell the format from {output.name!r}: give --format html|pdf|xlsx|md"
        )
    return guessed


def _database_file(db: str | None) -> str | None:
    """The database file to protect from --output (the default one when --db is not given)."""
    if db is not None:
        return db
    from sqlalchemy.engine import make_url

    from provscan.store.db import default_db_url

    return make_url(default_db_url()).database


def report(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="The report file to write (required; never the database or an input).",
        ),
    ] = None,
    force: ForceOption = False,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            "-f",
            metavar="html|pdf|xlsx|md",
            help="Report format (default: from the --output suffix).",
        ),
    ] = None,
    scan: Annotated[
        str | None,
        typer.Option(
            "--scan", metavar="ID", help="Report on one stored scan (see provscan scans)."
        ),
    ] = None,
    inventory: Annotated[
        bool,
        typer.Option("--inventory", help="Report on the inventory across all scans (default)."),
    ] = False,
    policy: PolicyOption = None,
    acting_as: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="JURISDICTION:ORGTYPE[,...]",
            help=(
                "Judge every device of the store for this party, e.g. "
                "ca:provincial-or-municipal-body (as scan --as judges; 'all': every measure "
                "counts). Default: the verdicts stored, each judged at scan time for the party "
                "its scan names. See `provscan policies --as-types`."
            ),
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            metavar="NAME",
            help="Only devices of this site (not with --scan: a scan is of one site).",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", metavar="TEXT", help="Title on the first page.")
    ] = None,
    organisation: Annotated[
        str | None,
        typer.Option("--organisation", metavar="TEXT", help="Organisation named on every page."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the compliance report: executive summary, priority list, a page per restricted
    or priority-1 device, and the methodology.

    HTML is one self-contained file (no scripts, no external assets); PDF is rendered from
    it; XLSX has one sheet per section with every row; Markdown has the same sections.
    """
    try:
        from provscan.compliance.render import deliver
        from provscan.compliance.report import render_report

        if output is None:
            raise UsageProblem("a report is written to a file: give --output FILE")
        if scan is not None and inventory:
            raise UsageProblem("--scan and --inventory exclude each other: give one")
        if scan is not None and site is not None:
            # A scan is stored with one site (its --site): there is nothing to filter, and a
            # site other than the scan's would silently report the scan all the same.
            raise UsageProblem(
                "--scan and --site exclude each other: a scan is of one site (provscan "
                "scans shows it); give --scan ID, or --site NAME for the site's inventory"
            )
        guard_output(output, [_database_file(db)], db=db, force=force)
        chosen = _format_for(fmt, output)
        policies = parse_policy_ids(policy)
        # only when given: without it the report keeps the stored verdicts (not the config's
        # [organisation] as, which judges the scans it starts)
        parties = resolve_acting_as(acting_as, policies) if acting_as is not None else None
        # Ctrl-C stops the report at once while it is made (nothing is written), but not
        # while the file is written: it is replaced whole, or left as it was.
        with counting_interrupts() as interrupts, interrupts.raising_at(1):
            # a mistyped --db must not report "0 restricted devices"; the config's settings
            # (when a device is gone) are the ones the trend replays the inventory with
            with open_db(db, must_exist=True) as store:
                data = render_report(
                    store,
                    fmt=chosen.value,
                    scan_id=scan,
                    site=site,
                    policies=policies,
                    title=title,
                    organisation=organisation,
                    acting_as=parties,
                )
            interrupts.raise_at = None
            deliver(data, output, stderr)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    except KeyboardInterrupt:
        raise _not_written(output) from None
    except Exception:
        if INTERRUPTS_RECEIVED:  # a library wrapped the KeyboardInterrupt in its own error
            raise _not_written(output) from None
        raise
    if interrupts.count:  # it came while the file was written, or was swallowed (cli.main)
        raise say_interrupted(f"; wrote {chosen.value} report to {output} first")
    where = "standard output" if str(output) == STDOUT_NAME else str(output)
    stderr.print(f"wrote {chosen.value} report to {where}", highlight=False, markup=False)


def _not_written(output: Path | None) -> typer.Exit:
    kept = f" ({output} left as it was)" if output is not None and output.exists() else ""
    return say_interrupted(f"; no report written{kept}")


def register(app: typer.Typer) -> None:
    app.command(
        short_help="Write the compliance report (HTML, PDF, XLSX or Markdown).",
        epilog=_epilog(
            "provscan report -o register.html",
            "provscan report -o report.pdf --organisation 'Dept. of Examples' --policy ca",
            "provscan report --scan 3f2c… -f xlsx -o scan.xlsx",
            "provscan report --site hq -o hq.md",
            "provscan report --as ca:provincial-or-municipal-body -o city.html",
        ),
    )(report)
