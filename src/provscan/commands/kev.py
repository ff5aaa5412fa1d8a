"""``provscan kev import FILE``: apply CISA's Known Exploited Vulnerabilities feed file to the
KEV flags of the CVE data, installed as a new knowledge pack."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from provscan.knowledge.kev import KevImport
    from provscan.knowledge.packs import InstallResult


class KevFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    from provscan.commands.common import epilog

    kev_app = typer.Typer(
        short_help="CISA's Known Exploited Vulnerabilities, from a file.",
        help="CISA's Known Exploited Vulnerabilities catalog, from a file you downloaded.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    kev_app.command(
        short_help="Set KEV flags from a KEV feed file, as a new knowledge pack.",
        name="import",
        epilog=epilog(
            "provscan kev import known_exploited_vulnerabilities.json",
            "provscan kev import known_exploited_vulnerabilities.json --dry-run",
            "provscan kev import kev.json --format json > kev-report.json",
            "provscan kev import three-cves.json --partial",
        ),
    )(import_feed)
    app.add_typer(kev_app, name="kev")


def import_feed(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="The KEV feed as CISA publishes it (known_exploited_vulnerabilities.json).",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; install nothing.")
    ] = False,
    fmt: Annotated[
        KevFormat,
        typer.Option("--format", "-f", metavar="text|json", help="Output format."),
    ] = KevFormat.text,
    allow_downgrade: Annotated[
        bool,
        typer.Option(
            "--allow-downgrade", help="Install even if the result is older than the active pack."
        ),
    ] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="The file holds part of the catalog: set only the CVEs it lists (a file far "
            "smaller than CISA's catalog is refused without it).",
        ),
    ] = False,
) -> None:
    """Set the KEV flags and dates of the CVEs in the vulnerability data from a KEV feed file,
    and install the result as a new knowledge pack (<version>+kev.<catalogVersion>; undo with
    `provscan knowledge update --rollback`). CVEs without affected-product data are not
    invented: KEV entries of makers provscan knows are listed for you to act on. No network
    access: download the file yourself."""
    from provscan.commands.common import fail_for
    from provscan.errors import ProvscanError
    from provscan.knowledge.kev import import_kev

    try:
        report, result = import_kev(
            file, dry_run=dry_run, allow_downgrade=allow_downgrade, partial=partial
        )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if fmt is KevFormat.json:
        typer.echo(json.dumps(_document(report, result), indent=2, ensure_ascii=False))
    else:
        from provscan.commands.knowledge import echo_wrapped

        # wrapped to the terminal (or COLUMNS) between words, a continued line indented
        # under its own: an entry's ("  CVE-…") two further than a heading's
        echo_wrapped(_lines(report, result), lambda line: 4 if line.startswith("  ") else 2)


def _document(report: KevImport, result: InstallResult | None) -> dict[str, object]:
    return {
        "catalog_version": report.catalog_version,
        "released": report.released,
        "catalog_entries": report.catalog_count,
        "partial": report.partial,
        "listed_cves": list(report.listed),
        "changes": [
            {"cve": change.cve, "before": change.before, "after": change.after}
            for change in report.changes
        ],
        "listed_in_our_data_not_in_catalog": list(report.listed_here_not_in_catalog),
        "known_makers_not_in_our_data": [
            {
                "cve": entry.cveID,
                "vendor_project": entry.vendorProject,
                "product": entry.product,
                "name": entry.vulnerabilityName,
                "date_added": entry.dateAdded,
            }
            for entry in report.not_in_our_data
        ],
        "installed": (
            None
            if result is None
            else {"version": result.version, "previous": result.previous, "changed": result.changed}
        ),
    }


def _lines(report: KevImport, result: InstallResult | None) -> list[str]:
    lines = [
        f"KEV catalog {report.catalog_version} (released {report.released}, "
        f"{report.catalog_count} entries): {len(report.listed)} of our CVEs listed, "
        f"{len(report.changes)} KEV statuses changed"
        + ("; partial: CVEs the file does not list were left as they are" if report.partial else "")
    ]
    for change in report.changes:
        before, after = change.before, change.after
        if after.get("listed") and not before.get("listed"):
            what = f"now listed (added {after.get('date_added')}, due {after.get('due_date')})"
        elif after.get("date_added") != before.get("date_added"):
            what = f"date added {before.get('date_added')} -> {after.get('date_added')}"
        else:
            what = f"checked {before.get('checked')} -> {after.get('checked')}"
        lines.append(f"  {change.cve}: {what}")
    if report.listed_here_not_in_catalog:
        lines.append(
            "Listed in our data but not in this catalog (left listed; check the catalog): "
            + ", ".join(report.listed_here_not_in_catalog)
        )
    if report.not_in_our_data:
        lines.append(
            f"{len(report.not_in_our_data)} KEV entries name makers provscan knows but are not "
            "in its vulnerability data (no affected-product ranges, so not added):"
        )
        lines.extend(
            f"  {entry.cveID}  {entry.vendorProject} {entry.product}  (added {entry.dateAdded})"
            for entry in report.not_in_our_data
        )
    if result is None:
        lines.append("dry run: nothing installed")
    elif not result.changed:
        lines.append(f"knowledge {result.version} is already active; nothing changed")
    else:
        lines.append(
            f"installed knowledge {result.version} (was {result.previous}); "
            "undo with `provscan knowledge update --rollback`"
        )
    return lines
