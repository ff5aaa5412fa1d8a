"""``provscan lookup "BRAND MODEL"``: who really makes one product, and is it restricted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from provscan.commands.common import AsOption
from provscan.errors import ProvscanError
from provscan.report.safe_text import printable
from provscan.report.wording import plural

if TYPE_CHECKING:
    from provscan.knowledge.policies import Policy
    from provscan.screening.verdict import ScreenFinding


class LookupFormat(StrEnum):
    """The same names as ``scan``'s formats where the output is the same kind of thing."""

    table = "table"
    json = "json"
    text = "text"  # the earlier name of ``table``, still accepted


def parse_policy_option(policy: str | None) -> list[str] | None:
    return [p.strip() for p in policy.split(",") if p.strip()] if policy else None


def register(app: typer.Typer) -> None:
    from provscan.commands.common import epilog

    app.command(
        short_help="Who really makes a product, and which policies restrict it.",
        name="lookup",
        epilog=epilog(
            'provscan lookup "4MP turret camera LTS CMIP7442W-28M" --policy ca',
            "provscan lookup Amcrest IP8M-2496EB --format json",
            'provscan lookup "Uniview IPC322LB-SF28-A" --as us-tx:state-agency',
            'provscan lookup "Hikvision DS-2CD2143G0-I" --as ca:individual',
            fail_on_restricted=True,
        ),
    )(lookup)


def lookup(
    query: Annotated[
        list[str],
        typer.Argument(
            metavar="BRAND MODEL",
            help=(
                'A product as written anywhere, e.g. "LTS CMIP7442W-28M" or '
                '"4MP turret DS-2CD2347G2-LU".'
            ),
        ),
    ],
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy", metavar="IDS", help="Comma-separated policy ids (default: all bundled)."
        ),
    ] = None,
    acting_as: AsOption = None,
    fmt: Annotated[
        LookupFormat,
        typer.Option("--format", "-f", metavar="table|json", help="Output format."),
    ] = LookupFormat.table,
    fail_on_restricted: Annotated[
        bool, typer.Option("--fail-on-restricted", help="Exit 3 when the product is restricted.")
    ] = False,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all",
            help=(
                "List every measure that names the product, those that do not bind you too "
                "(default: those that bind you or may, and a count of the rest)."
            ),
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help=(
                "Every measure (as --all) with its full citation and the link to its official text."
            ),
        ),
    ] = False,
) -> None:
    """Who really makes a product (maker, relation, confidence, why) and which policies
    restrict it."""
    from provscan.commands.common import (
        EXIT_RESTRICTED,
        EXIT_USAGE,
        UsageProblem,
        fail,
        output_console,
        resolve_acting_as,
    )
    from provscan.commands.knowledge import warn_if_stale
    from provscan.policy.evaluate import maker_countries
    from provscan.screening.run import bundled_identifier
    from provscan.screening.verdict import judge_product

    text = " ".join(query).strip()
    if not text:
        raise fail(
            'give a product to look up, e.g. provscan lookup "LTS CMIP7442W-28M"', EXIT_USAGE
        )
    warn_if_stale()
    try:
        identifier = bundled_identifier()
        policy_ids = parse_policy_option(policy)
        policies = identifier.knowledge.select_policies(policy_ids)
        org_types = resolve_acting_as(acting_as, policy_ids)
    except (ProvscanError, UsageProblem) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    row = judge_product(
        identifier.identify(text),
        policies,
        acting_as=org_types,
        countries=maker_countries(identifier.knowledge.vendors),
    )
    if fmt is LookupFormat.json:
        typer.echo(json.dumps(row.model_dump(mode="json"), indent=2, ensure_ascii=True))
    else:
        # Wrapped to the terminal between words, each entry under its own start.
        console = output_console(highlight=False)
        links = {
            (policy.id, measure.title): measure.link
            for policy in policies
            for measure in policy.measures
        }
        _print_row(row, console, links if verbose else None, policies=policies, everything=show_all)
        console.print(Text(_knowledge_footer(), style="dim"))
    if fail_on_restricted and row.restricted:
        raise typer.Exit(EXIT_RESTRICTED)


def _print_row(
    row: object,
    console: Console,
    links: dict[tuple[str, str], str | None] | None = None,
    *,
    policies: Sequence[Policy] = (),
    everything: bool = False,
) -> None:
    """The row as a hanging-indent listing; ``links`` (``-v``): every finding's citation in
    full, with the link to the measure's official text (None: citations of the measures that
    bind, wrapped between words).

    Without ``everything`` (``--all``) or ``links``, the measures listed are those that bind
    the user, may bind them (on a condition the row leaves open) or will once in force
    (``policies``: the selected ones, to tell); the others (that bind others, advice and
    context) are counted on one line that says how to see them (a newcomer found 65 lines
    at 80 columns, most of them measures that do not bind them)."""
    from provscan.policy.evaluate import (
        DEFAULT_PARTY,
        binds_once_in_force,
        describe_parties,
        not_yet_in_force,
    )
    from provscan.screening.tables import maker_text
    from provscan.screening.verdict import NEXT_STEP_PREFIX, ScreenRow

    assert isinstance(row, ScreenRow)
    status_style = {"restricted": "bold red", "review": "bold yellow", "clear": "green"}.get(
        row.status, "dim"
    )
    console.print(Text(printable(row.input), style="bold"))

    def line(label: str, value: str, style: str = "") -> None:
        _hanging(console, f"  {label:<11} ", Text(printable(value), style=style))

    # The maker as the screen table shows it: every possible maker, "?" when only possible
    line("maker", maker_text(row) or "unknown")
    if row.maker and row.family:
        line("family", row.family)
    line("brand", row.brand or "-")
    line("relation", row.relation)
    if row.model:
        line("model", row.model + (f" ({row.device_type})" if row.device_type else ""))
    line("confidence", f"{row.confidence:.2f}")
    verdict = {
        "restricted": "YES",
        "review": "REVIEW (not confirmed)",
        "clear": "no",
        "unknown": "unknown",
    }[row.status]
    acting = f" (as {describe_parties(row.acting_as)})"
    you = "you" if row.acting_as else DEFAULT_PARTY
    line("restricted", verdict + acting, status_style)
    reasons = row.reason.split("; ") if row.reason else []
    steps = [reason for reason in reasons if reason.startswith(NEXT_STEP_PREFIX)]
    for step in steps:
        # the reason's own words, shown where the verdict is read (screen keeps it last)
        line("next step", step.removeprefix(NEXT_STEP_PREFIX), "bold")
    shown: set[tuple[str, str]] = set()
    groups: dict[str, list[Text]] = {}
    left_out: dict[str, int] = {}  # measures not listed (without --all), by heading
    binds, unbound = f"binds {you}", f"does not bind {you}"
    advisory = "restricts nothing (advisory or context only)"
    conditional = "restricts only on a condition the row leaves open"
    later = "not in force yet (restricts nothing today)"
    for finding in row.findings:
        if (finding.policy, finding.measure) in shown:
            continue  # one measure naming two candidate families is shown once
        shown.add((finding.policy, finding.measure))
        heading = {True: binds, False: unbound, None: ""}[finding.binding]
        if finding.binding is not False and finding.condition is not None:
            heading = conditional
        elif finding.binding is not False and not finding.restricts:
            # advice and context bind nobody to anything: never under "binds you"
            heading = advisory
        # a measure published now that starts later binds nobody yet (its binding is False)
        pending = not_yet_in_force(finding.effective)
        if pending:
            heading = later
        condition = "" if finding.condition is None else f"[if {finding.condition}] "
        # Measures that do not bind the user: named, not argued (-v cites them too). The
        # citation is whole, wrapped between words (it was cut at 160 characters mid-word).
        cited = links is not None or finding.binding is not False
        entry = Text.assemble(
            (printable(finding.policy), "bold" if finding.restricts else "dim"),
            f" ({printable(finding.jurisdiction)}): {printable(finding.measure)} ",
            (f"[{_effect_text(finding.effect)}] ", "bold" if finding.restricts else ""),
            (printable(condition), "bold"),
            (f"[in force from {printable(finding.effective)}] " if pending else "", "bold"),
            (f"[{printable(finding.citation, limit=2000)}]", "dim") if cited else "",
        )
        if links is not None:
            link = links.get((finding.policy, finding.measure))
            entry.append(
                f"\nlink: {printable(link)}"
                if link
                else "\nlink: none found (see policies -f json)",
                style="dim",
            )
        if (
            everything
            or links is not None
            or heading in ("", binds, conditional)
            # advice addressed to the user (Canada's public advisory for a household) is
            # what they came for: listed; advice and context for others are counted
            or (heading == advisory and finding.binding is True)
            or (pending and binds_once_in_force(_as_stored(finding), policies, row.acting_as))
        ):
            groups.setdefault(heading, []).append(entry)
        else:
            left_out[heading] = left_out.get(heading, 0) + 1
    for heading in ("", binds, conditional, advisory, later, unbound):
        if heading in groups and heading:
            console.print(Text(f"  {heading}", style="bold"))
        for entry in groups.get(heading, []):
            _hanging(console, "    - ", entry)
    if left_out:
        _hanging(console, "  ", Text(_left_out_line(left_out, you, unbound, advisory, later)))
    # Reasons and evidence whole, wrapped between words: cut at 400 characters they lost a
    # measure's title or condition and the evidence's sources (a newcomer review)
    console.print(Text("  why", style="bold"))
    for reason in [reason for reason in reasons if reason not in steps] or ["-"]:
        _hanging(console, "    - ", Text(printable(reason)))
    if row.evidence:
        console.print(Text("  evidence", style="bold"))
        for item in row.evidence:
            _hanging(console, "    - ", Text(printable(item), style="dim"))


def _as_stored(finding: ScreenFinding) -> dict[str, object]:
    """What :func:`~provscan.policy.evaluate.binds_once_in_force` reads of a finding."""
    keys = ("policy", "measure", "effective", "binding")
    return {key: getattr(finding, key) for key in keys}


def _left_out_line(
    left_out: dict[str, int], you: str, unbound: str, advisory: str, later: str
) -> str:
    """The one line that counts the measures not listed, by why, in the words the scan's
    report says it in, and how to list them: "not listed: 15 measures (does not bind you),
    1 (advisory or context only, restricts nothing); --all lists them"."""
    whys = (
        (unbound, f"does not bind {you}"),
        (advisory, "advisory or context only, restricts nothing"),
        (later, f"not in force yet, nor binding {you} then"),
    )
    counts = [(left_out[heading], why) for heading, why in whys if left_out.get(heading)]
    parts = [f"{count} ({why})" for count, why in counts]
    parts[0] = f"{plural(counts[0][0], 'measure')} ({counts[0][1]})"
    return f"not listed: {', '.join(parts)}; --all lists them"


def _hanging(console: Console, prefix: str, body: Text) -> None:
    """``prefix`` then ``body`` wrapped between words to the console's width, its
    continuation lines indented under the body's first character (a hanging indent)."""
    grid = Table.grid()
    grid.add_column(width=len(prefix), no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(prefix, body)
    console.print(grid)


def _knowledge_footer() -> str:
    """Which knowledge judged the product (the table footer of every report)."""
    from provscan.knowledge.packs import active_pack
    from provscan.report.formats import knowledge_line

    try:
        pack = active_pack()
    except ProvscanError:
        return knowledge_line(None, None)
    return knowledge_line(pack.version, pack.as_of)


def _effect_text(effect: str) -> str:
    """``use-ban``; ``advisory, restricts nothing``."""
    return f"{effect}, restricts nothing" if effect in ("advisory", "context") else effect
