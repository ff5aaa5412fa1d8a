"""``provscan knowledge verify``: check every knowledge data file and list each problem."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class VerifyFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    from provscan.commands.common import epilog

    knowledge_app = typer.Typer(
        help="The reviewed knowledge data: vendors, families, policies, fingerprints, CVEs…",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    knowledge_app.command(
        name="verify",
        epilog=epilog(
            "provscan knowledge verify",
            "provscan knowledge verify --format json > problems.json",
            "provscan knowledge verify --data-dir ./my-knowledge",
        ),
    )(verify)
    app.add_typer(knowledge_app, name="knowledge")


def verify(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="A knowledge directory to check (default: the bundled data).",
        ),
    ] = None,
    fmt: Annotated[
        VerifyFormat,
        typer.Option("--format", "-f", metavar="text|json", help="Output format."),
    ] = VerifyFormat.text,
) -> None:
    """Check every knowledge file (schemas, ids, vendor names, sources, examples, shadowed
    rules) and list each problem as path:line. Exits 1 when there is any."""
    from provscan.commands.common import EXIT_ERROR, EXIT_USAGE, fail
    from provscan.errors import KnowledgeError
    from provscan.knowledge.base import DEFAULT_DATA_DIR
    from provscan.knowledge.verify import verify_knowledge

    directory = data_dir if data_dir is not None else _shown(DEFAULT_DATA_DIR)
    try:
        report = verify_knowledge(directory)
    except KnowledgeError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if fmt is VerifyFormat.json:
        document = {
            "data_dir": str(directory),
            "files_checked": len(report.files),
            "problem_count": len(report.problems),
            "problems_by_file": dict(sorted(report.by_file().items())),
            "problems": [
                {
                    "path": str(directory / problem.file),
                    "file": problem.file,
                    "line": problem.line,
                    "entry": problem.entry,
                    "message": problem.message,
                }
                for problem in report.problems
            ],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        for problem in report.problems:
            typer.echo(problem.located(directory))
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is inside it (shorter, clickable)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
