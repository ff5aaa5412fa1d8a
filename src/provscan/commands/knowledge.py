"""``provscan knowledge verify|status|update|export``: check the knowledge data, say which
version is in use and how old it is, install or roll back a pack, and build one."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provscan.commands.common import warn

if TYPE_CHECKING:
    from provscan.knowledge.packs import PackInfo


class VerifyFormat(StrEnum):
    text = "text"
    json = "json"


def warn_if_stale() -> None:
    """Print one line on stderr when the active knowledge is older than the allowed age
    (``PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS``, default 180). Every command that judges devices
    with the knowledge calls it: scan, discover, pcap, import, lookup, explain, screen, and
    ``knowledge update`` after installing a pack."""
    from provscan.knowledge.packs import staleness_warning

    warning = staleness_warning()
    if warning:
        warn(warning)


def register(app: typer.Typer) -> None:
    from provscan.commands.common import epilog

    knowledge_app = typer.Typer(
        short_help="The reviewed knowledge data: verify, status, update, export.",
        help="The reviewed knowledge data: vendors, families, policies, fingerprints, CVEs…",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    knowledge_app.command(
        short_help="Check every knowledge file; list each problem as path:line.",
        name="verify",
        epilog=epilog(
            "provscan knowledge verify",
            "provscan knowledge verify --format json > problems.json",
            "provscan knowledge verify --data-dir ./my-knowledge",
        ),
    )(verify)
    knowledge_app.command(
        short_help="Which knowledge is in use: version, as-of date, age, counts.",
        name="status",
        epilog=epilog(
            "provscan knowledge status",
            "provscan knowledge status --format json",
            "provscan knowledge status --max-age-days 90",
            "provscan knowledge status --trust-key our-knowledge.pub",
        ),
    )(status)
    knowledge_app.command(
        short_help="Install a checked knowledge pack from a file, or roll back.",
        name="update",
        epilog=epilog(
            "provscan knowledge update --from provscan-knowledge-2027.1.0.tar.gz",
            "provscan knowledge update --from older.tar.gz --allow-downgrade",
            "provscan knowledge update --from pack.tar.gz --trust-key our-knowledge.pub",
            "provscan knowledge update --from genuine-2027.1.0.tar.gz --replace",
            "provscan knowledge update --rollback",
        ),
    )(update)
    knowledge_app.command(
        short_help="Write the active knowledge as a pack to install elsewhere.",
        name="export",
        epilog=epilog(
            "provscan knowledge export --output knowledge.tar.gz",
            "provscan knowledge export --data-dir ./data --version 2027.1.0 --as-of 2027-01-15 "
            "--output provscan-knowledge-2027.1.0.tar.gz",
            "provscan knowledge export --sign-key our-knowledge.pem --output signed.tar.gz",
        ),
    )(export)
    app.add_typer(knowledge_app, name="knowledge")


def verify(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="A knowledge directory to check (default: the active knowledge, bundled or "
            "an installed pack).",
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
    from provscan.knowledge.base import active_selection
    from provscan.knowledge.packs import manifest_out_of_date
    from provscan.knowledge.verify import verify_knowledge

    try:
        directory = data_dir
        if directory is None:
            # An installed pack changed on disk is checked as it is (the loaders refuse it).
            directory = _shown(active_selection(verify=False).data_dir)
        report = verify_knowledge(directory)
    except KnowledgeError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    # The data may be right and its manifest not (edited after the manifest was made): a
    # pack made from it would be refused as damaged, so it is a problem here too.
    stale = manifest_out_of_date(Path(directory))
    if fmt is VerifyFormat.json:
        document = {
            "data_dir": str(directory),
            "files_checked": len(report.files),
            "manifest": stale,
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
            # not problems: sources an auditor cannot check (the exit status ignores them)
            "warning_count": len(report.warnings),
            "warnings": [
                {
                    "path": str(directory / warning.file),
                    "file": warning.file,
                    "line": warning.line,
                    "entry": warning.entry,
                    "message": warning.message,
                }
                for warning in report.warnings
            ],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        for problem in report.problems:
            typer.echo(problem.located(directory))
        # after the problems: they are what fails the check
        for warning in report.warnings:
            typer.echo(warning.located(directory))
        if report.warnings:
            typer.echo(f"{len(report.warnings)} warnings: sources citing only internal references")
        if stale is not None:
            typer.echo(stale)
        summary = report.summary()
        typer.echo(
            summary if stale is None else f"{summary} in the data; its manifest is out of date"
        )
    if not report.ok or stale is not None:
        raise typer.Exit(EXIT_ERROR)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is inside it (shorter, clickable)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def status(
    fmt: Annotated[
        VerifyFormat,
        typer.Option("--format", "-f", metavar="text|json", help="Output format."),
    ] = VerifyFormat.text,
    max_age_days: Annotated[
        int | None,
        typer.Option(
            "--max-age-days",
            min=1,
            metavar="DAYS",
            help="Warn when the knowledge is older than this "
            "(default: $PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS, else 180).",
        ),
    ] = None,
    trust_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust-key",
            metavar="FILE",
            help="An Ed25519 public key (PEM) to check the active pack's signature with "
            "(repeatable; also $PROVSCAN_KNOWLEDGE_TRUSTED_KEYS and the bundled keys).",
        ),
    ] = None,
) -> None:
    """Which knowledge is in use (bundled or an installed pack), its version and as-of date,
    entry counts, the oldest source check, and a warning when it is older than allowed.
    Re-verifies it: every file against the manifest's hashes, the manifest's signature
    when the pack is signed and a key is trusted, and that the knowledge loads and passes
    `knowledge verify`. Exits 1 when it does not."""
    from provscan.commands.common import EXIT_ERROR, fail, fail_for
    from provscan.errors import ProvscanError
    from provscan.knowledge.base import knowledge_home
    from provscan.knowledge.packs import (
        SOURCE_CHECK_MAX_AGE_DAYS,
        active_pack,
        installed_versions,
        knowledge_check_problems,
        manifest_fix,
        max_age_days_from_env,
        source_check_age_days,
        staleness_warning,
        verify_active_pack,
    )

    try:
        limit = max_age_days if max_age_days is not None else max_age_days_from_env()
        pack = active_pack(check_hashes=True)
        verification = verify_active_pack(pack, trusted_keys=trust_key or ())
        installed = installed_versions()
        check_problems = knowledge_check_problems(pack.path)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    warning = staleness_warning(pack, max_age_days=limit)
    check_age = source_check_age_days(pack)
    if fmt is VerifyFormat.json:
        document = {
            **pack.as_dict(),
            "age_days": pack.age_days(),
            "max_age_days": limit,
            "stale": warning is not None,
            "oldest_source_check_age_days": check_age,
            "oldest_source_check_stale": (
                check_age is not None and check_age > SOURCE_CHECK_MAX_AGE_DAYS
            ),
            **verification.as_dict(),
            "knowledge_checks_ok": not check_problems,
            "knowledge_check_problems": list(check_problems),
            "knowledge_home": str(knowledge_home()),
            "installed_packs": installed,
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        # Each value wraps between words under itself, within the width (a newcomer found a
        # 172-character "Verification:" line at 80 columns); -f json has every field.
        lines = _status_lines(pack, installed, limit)
        lines.append(f"Verification:        {verification.summary()}")
        lines.append(f"Knowledge checks:    {_checks_line(check_problems)}")
        echo_wrapped(
            lines,
            lambda line: _VALUE_COLUMN if line[:1].strip() else len(line) - len(line.lstrip()) + 2,
        )
    if warning:
        warn(warning)
    signature_warning = verification.warning()
    if signature_warning:
        warn(signature_warning)
    if not verification.ok:
        raise fail(f"{verification.summary()}; {manifest_fix(pack.source)}", EXIT_ERROR)
    if check_problems:
        raise fail(
            f"the active knowledge {pack.version} does not load or fails its checks: "
            f"{_checks_line(check_problems)}; {manifest_fix(pack.source)}",
            EXIT_ERROR,
        )


def _checks_line(problems: tuple[str, ...]) -> str:
    if not problems:
        return "the knowledge loads and passes `provscan knowledge verify`"
    count = len(problems)
    return (
        f"{count} problem{'s' if count != 1 else ''} (first: {problems[0]}); "
        "`provscan knowledge verify` lists them"
    )


#: Where the values of ``knowledge status`` start ("Oldest source check: " and its space).
_VALUE_COLUMN = 21


def text_width() -> int | None:
    """The width plain-text lines are wrapped to: the terminal's (``COLUMNS`` when set), or
    ``COLUMNS`` into a pipe or a file, as the tables of the other commands are laid out; None
    into a pipe or a file without ``COLUMNS``: each line stays whole, for grep."""
    import os
    import sys

    if sys.stdout.isatty():
        from rich.console import Console

        return Console().width
    columns = os.environ.get("COLUMNS", "").strip()
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def echo_wrapped(lines: Iterable[str], indent: Callable[[str], int]) -> None:
    """Print ``lines`` wrapped between words to :func:`text_width` (an identifier is never
    split), each continued line ``indent(line)`` spaces in."""
    from provscan.commands.common import wrap_words

    width = text_width()
    for line in lines:
        for part in [line] if width is None else wrap_words(line, width, indent=indent(line)):
            typer.echo(part)


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _source_check_text(pack: PackInfo) -> str:
    from provscan.knowledge.packs import SOURCE_CHECK_MAX_AGE_DAYS, source_check_age_days

    age = source_check_age_days(pack)
    if pack.oldest_source_check is None or age is None:
        return pack.oldest_source_check or "none recorded"
    if age <= SOURCE_CHECK_MAX_AGE_DAYS:
        return f"{pack.oldest_source_check} ({_days(age)} ago)"
    return (
        f"{pack.oldest_source_check} ({_days(age)} ago; over {SOURCE_CHECK_MAX_AGE_DAYS} "
        "days: some sources may have changed since they were last checked)"
    )


def _status_lines(pack: PackInfo, installed: list[str], limit: int) -> list[str]:
    from provscan.knowledge.base import knowledge_home

    origin = "an installed pack" if pack.source == "installed" else "bundled with provscan"
    lines = [
        f"Active knowledge:    {pack.version} ({origin})",
        f"As of:               {pack.as_of} ({_days(pack.age_days())} ago; warn after {_days(limit)})",
        f"Oldest source check: {_source_check_text(pack)}",
        "KEV catalog:         "
        + (
            f"{pack.kev_catalog.version} (released {pack.kev_catalog.released})"
            if pack.kev_catalog
            else "none imported (KEV flags as reviewed in the bundled data)"
        ),
        f"Bundled version:     {pack.bundled_version}",
        f"Data directory:      {pack.path}",
        f"Installed packs:     {', '.join(installed) if installed else 'none'}"
        f" (in {knowledge_home()})",
    ]
    if pack.derived_from:
        lines.append(f"Derived from:        {pack.derived_from}")
    if pack.note:
        lines.append(f"Note:                {pack.note}")
    if pack.intact is False:
        lines.append(f"Files:               {len(pack.problems)} differ from the manifest")
        lines.extend(f"  - {problem}" for problem in pack.problems)
    else:
        lines.append("Files:               match the manifest")
    lines.append("Entries:")
    width = max((len(kind) for kind in pack.counts), default=0)
    lines.extend(f"  {kind:<{width}}  {count:>5}" for kind, count in pack.counts.items())
    return lines


def update(
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="FILE",
            help="A knowledge pack (.tar.gz with manifest.yaml and the data files) to install.",
        ),
    ] = None,
    rollback: Annotated[
        bool,
        typer.Option("--rollback", help="Go back to the knowledge that was active before."),
    ] = False,
    allow_downgrade: Annotated[
        bool,
        typer.Option("--allow-downgrade", help="Install a pack older than the active one."),
    ] = False,
    trust_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust-key",
            metavar="FILE",
            help="An Ed25519 public key (PEM) whose signature is accepted (repeatable; also "
            "$PROVSCAN_KNOWLEDGE_TRUSTED_KEYS). With a trusted key, unsigned packs are refused.",
        ),
    ] = None,
    require_signature: Annotated[
        bool,
        typer.Option("--require-signature", help="Refuse a pack without a trusted signature."),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Put the pack in place of an installed pack of the same version with other "
            "content (e.g. a bad pack installed before, replaced by the genuine one).",
        ),
    ] = False,
) -> None:
    """Install a knowledge pack from a file (checked: safe archive, every hash, every schema,
    the knowledge self-tests, not older than the active one, its signature when keys are
    trusted), then switch to it atomically. A refused pack changes nothing (exit 2). The
    same pack again repairs an installed copy changed on disk. No network access: the file
    comes from you."""
    from provscan.commands.common import EXIT_USAGE, fail, fail_for
    from provscan.errors import ProvscanError
    from provscan.knowledge import packs
    from provscan.knowledge.kev import update_keeping_kev

    if (from_file is None) == (not rollback):
        raise fail("give either --from FILE or --rollback", EXIT_USAGE)
    if rollback and (replace or allow_downgrade):
        raise fail("--replace and --allow-downgrade go with --from FILE", EXIT_USAGE)
    try:
        if rollback:
            back = packs.rollback()
            origin = "bundled" if back.source == "bundled" else "installed pack"
            typer.echo(f"rolled back from {back.left} to {back.now} ({origin})")
            return
        assert from_file is not None
        result, carried = update_keeping_kev(
            from_file,
            allow_downgrade=allow_downgrade,
            trusted_keys=trust_key or (),
            require_signature=require_signature,
            replace=replace,
        )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    signature = f"signed by {result.signed_by}" if result.signed_by else "signature not checked"
    if not result.changed:
        typer.echo(f"knowledge {result.version} is already active; nothing changed ({signature})")
    elif result.repaired:
        typer.echo(
            f"repaired knowledge {result.version}: its files at {result.path} had been changed "
            f"or damaged and are the pack's again ({signature})"
        )
    elif result.over_bundled:
        typer.echo(
            f"installed knowledge {result.version} at {result.path} in place of the bundled "
            f"knowledge of the same version, whose content differs ({signature}); reports will "
            f"name both {result.version}"
        )
    elif result.previous == result.version:
        typer.echo(f"replaced knowledge {result.version} at {result.path} ({signature})")
    else:
        typer.echo(
            f"installed knowledge {result.version} (was {result.previous}; {signature}) "
            f"at {result.path}"
        )
    if carried is not None:
        if carried.dropped:
            warn(carried.message)
        else:
            typer.echo(carried.message)
    warn_if_stale()


def export(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="The pack file to write (.tar.gz)."),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --output file.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Pack this knowledge directory instead of the active knowledge "
            "(it must pass `provscan knowledge verify`).",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", metavar="VERSION", help="With --data-dir: the pack version."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="With --data-dir: the as-of date."),
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            "--sign-key",
            metavar="FILE",
            help="Sign the manifest with this Ed25519 private key (unencrypted PEM).",
        ),
    ] = None,
) -> None:
    """Write the active knowledge (or a knowledge directory) as a pack another provscan can
    install with `knowledge update --from` (e.g. on an air-gapped network)."""
    from provscan.commands.common import EXIT_USAGE, fail, fail_for, guard_output
    from provscan.errors import ProvscanError
    from provscan.knowledge import packs
    from provscan.report.files import write_atomically

    if data_dir is None and (version or as_of):
        raise fail("--version and --as-of need --data-dir", EXIT_USAGE)
    try:
        if data_dir is not None:
            manifest_path = data_dir / "manifest.yaml"
            guard_output(
                output,
                [sign_key, manifest_path, *(data_dir / n for n in packs.data_files(data_dir))],
                force=force,
            )
            manifest, data = packs.export_directory(
                data_dir, version=version, as_of=as_of, sign_with=sign_key
            )
        else:
            guard_output(output, [sign_key], force=force)
            manifest, data = packs.export_active(sign_with=sign_key)
        write_atomically(output, data)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(
        f"wrote knowledge pack {manifest.version} (as of {manifest.as_of}, "
        f"{len(manifest.files)} files, {len(data)} bytes) to {output}"
    )
