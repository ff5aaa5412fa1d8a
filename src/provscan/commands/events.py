"""``provscan events send`` and ``provscan events list``: the outbox of events (new restricted
devices, cases opened, reopened, overdue, verified) delivered to syslog, files and webhooks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from provscan.commands.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    DbOption,
    ExitCode,
    epilog,
    fail,
    fail_for,
    open_db,
    output_console,
    stderr,
)
from provscan.errors import ProvscanError
from provscan.report.safe_text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from provscan.alerts.deliver import SinkOutcome
    from provscan.store.db import Store

events_app = typer.Typer(
    short_help="Events for the SIEM: new restricted devices, case changes.",
    name="events",
    help="Events for the SIEM and alerting: new restricted devices and case changes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_EXIT_CODES: list[ExitCode] = [
    (0, "done (every sink took its events)"),
    (
        1,
        "a sink's receiver failed (what was delivered is said; the rest waits), or the "
        "database cannot be read",
    ),
    (2, "bad argument or configuration (an unknown sink, a missing secret)"),
    (130, "interrupted"),
]

_NO_SINKS = (
    "no sinks configured ([[alerts.syslog]], [[alerts.file]], [[alerts.webhook]] in the "
    "config file)"
)
#: Events listed per sink at most.
LIST_LIMIT = 1000


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def _epilog(*examples: str) -> str:
    return epilog(*examples, codes=_EXIT_CODES)


SinkOption = Annotated[
    str | None,
    typer.Option("--sink", metavar="NAME", help="Only this sink (default: every configured one)."),
]


def _sink_names(sink: str | None) -> list[str]:
    from provscan.alerts.deliver import select_sinks
    from provscan.config import load_config

    sinks = select_sinks(load_config().alerts, sink)
    return [s.name for s in sinks]


def _summary(outcome: SinkOutcome) -> str:
    from provscan.alerts.deliver import outcome_line

    return escape(outcome_line(outcome))


def _send_round(store: Store, sink: str | None) -> list[SinkOutcome]:
    """Everything pending, to every chosen sink (overdue cases checked first)."""
    from provscan.alerts.deliver import deliver, open_senders, select_sinks
    from provscan.config import load_config

    store.record_overdue()
    sinks = select_sinks(load_config().alerts, sink)
    with open_senders(sinks) as senders:
        return deliver(store, senders)


def send(
    sink: SinkOption = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Send what is pending now and exit (default: keep sending every --interval).",
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval", min=1.0, metavar="SECONDS", help="Seconds between rounds without --once."
        ),
    ] = 60.0,
    db: DbOption = None,
) -> None:
    """Deliver pending events to the configured sinks (config file [[alerts.*]]).

    Each sink gets each event once: its place in the outbox moves only after its receiver
    took a batch. Overdue cases are checked first.
    """
    try:
        if not _sink_names(sink):  # an unknown sink or a bad config: exit 2 before anything
            raise fail(_NO_SINKS, EXIT_USAGE)
        with open_db(db, must_exist=True) as store:
            while True:
                outcomes = _send_round(store, sink)
                for outcome in outcomes:
                    if once or outcome.delivered or not outcome.ok:  # quiet idle rounds
                        stderr.print(_summary(outcome), highlight=False)
                failed = [o for o in outcomes if not o.ok]
                if once:
                    if failed:
                        raise typer.Exit(EXIT_ERROR)
                    return
                time.sleep(interval)
    except KeyboardInterrupt:
        stderr.print("provscan: interrupted", highlight=False, markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except ProvscanError as exc:
        raise fail_for(exc) from None


#: The columns of ``events list``: the time of each run of events is said on a line above
#: them (the events of one scan share it), so that the rest fits 80 columns.
_COLUMNS = ("Id", "Kind", "IP", "Device", "Case")
_WRAPPING = frozenset({"Device"})
_INDENT = 2


def _row(event: Any) -> dict[str, Text]:
    device = event.payload.get("device") or {}
    case = event.payload.get("case") or {}
    maker = device.get("manufacturer") or ""
    brand = device.get("brand") or ""
    if brand and brand != maker:
        maker = f"{maker or 'unknown'} / {brand}"
    number = case.get("id")
    return {
        "Id": Text(str(event.id)),
        "Kind": Text(printable(event.kind)),
        "IP": Text(printable(str(device.get("ip") or "-"))),
        "Maker": Text(printable(maker)),
        "Model": Text(printable(device.get("model") or "")),
        "Case": Text(printable(f"#{number} {case.get('status', '')}".strip()))
        if number is not None
        else Text("-", style="dim"),
    }


def _device_cell(row: dict[str, Text], width: int) -> Text:
    """Maker and model on one line, or the model whole on a line of its own under the maker
    (which wraps between its words) when the two do not fit ``width``."""
    maker, model = row["Maker"].plain, row["Model"].plain
    label = f"{maker} {model}".strip()
    if len(label) <= width or not maker or not model:
        return Text(label or "-")
    return Text(f"{maker}\n{model}")


def _events_table(name: str, found: Sequence[Any], console: Console) -> None:
    """One sink's pending events: a line per run of events of the same minute, the events
    under it in columns fitted to the terminal (addresses, kinds and models never cut)."""
    from provscan.report.formats import fit_columns, print_columns

    console.print(Text(f"{printable(name)}: {len(found)} pending", style="bold"))
    if not found:
        return
    rows = [_row(event) for event in found]
    for row in rows:
        row["Device"] = Text(f"{row['Maker'].plain} {row['Model'].plain}".strip() or "-")
    # the Device column narrows down to its longest model or maker word, no further
    narrowest = max(
        [len("Device")]
        + [len(row["Model"].plain) for row in rows]
        + [len(word) for row in rows for word in row["Maker"].plain.split()]
    )
    widths = fit_columns(
        _COLUMNS, rows, console.width, shrink=(("Device", narrowest),), drop=(), indent=_INDENT
    )
    for row in rows:
        row["Device"] = _device_cell(row, widths["Device"])
    runs: list[tuple[str, list[dict[str, Text]]]] = []
    for event, row in zip(found, rows, strict=True):
        when = event.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if not runs or runs[-1][0] != when:
            runs.append((when, []))
        runs[-1][1].append(row)
    for index, (when, members) in enumerate(runs):
        console.print(Text(when, style="dim"))
        print_columns(
            members, widths, console, header=index == 0, wrapping=_WRAPPING, indent=_INDENT
        )


def list_events(
    sink: SinkOption = None,
    fmt: Annotated[
        ListFormat,
        typer.Option("--format", "-f", metavar="table|json", help="Output format."),
    ] = ListFormat.table,
    db: DbOption = None,
) -> None:
    """Events each sink has not yet taken, oldest first."""
    from provscan.compliance import render

    try:
        names = _sink_names(sink)
        if not names:
            raise fail(_NO_SINKS, EXIT_USAGE)
        with open_db(db, must_exist=True) as store:
            pending = {name: store.pending_events(name, LIST_LIMIT) for name in names}
    except ProvscanError as exc:
        raise fail_for(exc) from None
    console = output_console()
    if fmt is ListFormat.json:
        document = {
            "sinks": {name: [e.to_json() for e in found] for name, found in pending.items()}
        }
        render.deliver(render.json_text(document), None, console)
        return
    for name, found in pending.items():
        _events_table(name, found, console)


def register(app: typer.Typer) -> None:
    events_app.command(
        short_help="Deliver pending events to the configured sinks.",
        name="send",
        epilog=_epilog(
            "provscan events send --once                 (from cron)",
            "provscan events send --sink siem --once",
            "provscan events send --interval 30          (keeps running)",
        ),
    )(send)
    events_app.command(
        name="list",
        epilog=_epilog("provscan events list", "provscan events list --sink siem -f json"),
    )(list_events)
    app.add_typer(events_app)
