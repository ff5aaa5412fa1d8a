"""Output options and messages of the commands that print a scan (scan, demo, discover, pcap).

Kept apart from :mod:`provscan.commands.common` so that the table's detail level and the
interruption message can change without touching the options every command shares.
"""

from __future__ import annotations

from typing import Annotated

import typer

from provscan.commands.common import say_interrupted
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


def interrupted(done: int, total: int, unit: str = "host", *, then: str = "") -> typer.Exit:
    """Say on stderr, in one line, that Ctrl-C cut the run short after ``done`` of ``total``
    hosts (or captures); its partial result has been printed and stored (``then``: what
    became of it, e.g. "; scan stored as ID", said at the end of the line). Returns the exit
    to raise: 130, as for any program stopped by SIGINT."""
    return say_interrupted(
        f": partial results for {done} of {plural(total, unit)} (marked incomplete){then}"
    )
