"""What every command shares: exit codes, the error console, output options and emitting a
result (render, store, exit code). Commands import these instead of repeating them."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from provscan.errors import ProvscanError
from provscan.model import ScanResult
from provscan.report.events import NullObserver, RichProgressObserver, ScanObserver

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_RESTRICTED = 3
EXIT_INTERRUPTED = 130

stderr = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class UsageProblem(ProvscanError):
    """A bad argument value discovered after parsing (exit 2)."""


# -- options shared by scan, demo, discover and pcap ----------------------------------------

PolicyOption = Annotated[
    str | None,
    typer.Option(
        "--policy",
        help="Comma-separated policy ids (default: all bundled). See `provscan policies`.",
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database file or URL (default: provscan.db in the user data dir)."),
]
NoDbOption = Annotated[bool, typer.Option("--no-db", help="Do not store the result.")]
FailOnRestrictedOption = Annotated[
    bool, typer.Option("--fail-on-restricted", help="Exit 3 when a restricted device is found.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print a one-line error (device text is never read as markup) and return the exit."""
    stderr.print(f"[bold red]provscan: error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def parse_policy_ids(policy: str | None) -> list[str] | None:
    """``"ca, us"`` -> ``["ca", "us"]``, checked against the bundled policies (exit 2 if unknown)."""
    from provscan.knowledge.loader import load_knowledge

    policy_ids = [p.strip() for p in policy.split(",") if p.strip()] if policy else None
    try:
        load_knowledge().select_policies(policy_ids)
    except ProvscanError as exc:
        raise UsageProblem(str(exc)) from exc
    return policy_ids


def scan_observer(quiet: bool) -> ScanObserver:
    """A progress bar on a terminal, nothing otherwise."""
    if quiet or not sys.stderr.isatty():
        return NullObserver()
    return RichProgressObserver(stderr)


def emit(
    result: ScanResult, fmt: OutputFormat, output: Path | None, db: str | None, no_db: bool
) -> None:
    """Render the result, then store it unless ``no_db``."""
    from provscan.report.formats import write_output

    write_output(result, fmt.value, output, Console(soft_wrap=False))
    if no_db:
        return
    from provscan.store.db import normalise_db_arg, open_store

    with open_store(normalise_db_arg(db)) as store:
        scan_id = store.save(result)
        stderr.print(
            f"[dim]stored scan {escape(scan_id)} in {escape(store.display_name)}[/]",
            highlight=False,
        )


def finish(result: ScanResult, fail_on_restricted: bool) -> None:
    """Exit 3 when asked to and a restricted device was found."""
    if fail_on_restricted and any(d.restricted for d in result.devices):
        raise typer.Exit(EXIT_RESTRICTED)
