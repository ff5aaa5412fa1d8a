"""``provscan events send`` and ``provscan events list``: the outbox of events (new restricted
devices, cases opened, reopened, overdue, verified) delivered to syslog, files and webhooks."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

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

if TYPE_CHECKING:
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


def _row(event: Any) -> list[str]:
    device = event.payload.get("device") or {}
    case = event.payload.get("case") or {}
    maker = device.get("manufacturer") or ""
    model = device.get("model") or ""
    return [
        str(event.id),
        event.at.strftime("%Y-%m-%d %H:%M"),
        event.kind,
        str(device.get("ip") or ""),
        f"{maker} {model}".strip(),
        f"#{case['id']} {case.get('status', '')}" if case.get("id") is not None else "",
    ]


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
        table = Table(title=f"{name}: {len(found)} pending", title_justify="left")
        for column in ("id", "at (UTC)", "kind", "ip", "device", "case"):
            table.add_column(column)
        for event in found:
            table.add_row(*(escape(cell) for cell in _row(event)))
        console.print(table)


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
