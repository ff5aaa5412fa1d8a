"""Output options and messages of the commands that print a scan (scan, demo, discover, pcap).

Kept apart from :mod:`provscan.commands.common` so that the table's detail level and the
interruption message can change without touching the options every command shares.
"""

from __future__ import annotations

from typing import Annotated

import typer

from provscan.commands.common import EXIT_INTERRUPTED, stderr
from provscan.report.wording import plural

VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        metavar="",
        help="Table: every device's evidence and findings, every policy measure and the "
        "whole priority list (default: a summary that fits on a screen or two).",
    ),
]


def interrupted(done: int, total: int, unit: str = "host") -> typer.Exit:
    """Say on stderr that Ctrl-C cut the run short after ``done`` of ``total`` hosts (or
    captures); its partial result has been printed and stored. Returns the exit to raise:
    130, as for any program stopped by SIGINT."""
    stderr.print(
        f"provscan: interrupted: partial results for {done} of {plural(total, unit)} "
        "(marked incomplete)",
        highlight=False,
        markup=False,
    )
    return typer.Exit(EXIT_INTERRUPTED)
