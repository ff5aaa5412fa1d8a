"""Moving events from the outbox to every configured sink: a sink's cursor moves only after
its receiver took a batch, so a receiver that is down loses nothing and gets each event once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from provscan.alerts.file import FileSender
from provscan.alerts.interface import DeliveryError, Sender, SinkConfigError
from provscan.alerts.syslog import SyslogSender
from provscan.alerts.webhook import WebhookSender
from provscan.config import AlertsSettings, FileSink, SyslogSink, WebhookSink
from provscan.errors import ProvscanError
from provscan.store.db import Store


@dataclass(frozen=True)
class SinkOutcome:
    """What one sink got in one delivery run."""

    sink: str
    kind: str
    where: str
    delivered: int
    #: Why the sink stopped early (None: it took everything pending, or its batch with once).
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, object]:
        return {
            "sink": self.sink,
            "kind": self.kind,
            "where": self.where,
            "delivered": self.delivered,
            "error": self.error,
        }


def build_sender(sink: SyslogSink | FileSink | WebhookSink) -> Sender:
    if isinstance(sink, SyslogSink):
        return SyslogSender(sink)
    if isinstance(sink, FileSink):
        return FileSender(sink)
    return WebhookSender(sink)


def select_sinks(
    settings: AlertsSettings, name: str | None = None
) -> tuple[SyslogSink | FileSink | WebhookSink, ...]:
    """Every configured sink, or the one named (SinkConfigError when there is none)."""
    sinks = settings.sinks()
    if name is None:
        return sinks
    chosen = tuple(sink for sink in sinks if sink.name == name)
    if not chosen:
        known = ", ".join(sink.name for sink in sinks) or "none configured"
        raise SinkConfigError(f"no sink named {name!r} (configured: {known})")
    return chosen


@contextmanager
def open_senders(
    sinks: Sequence[SyslogSink | FileSink | WebhookSink],
) -> Iterator[list[Sender]]:
    senders: list[Sender] = []
    try:
        for sink in sinks:
            senders.append(build_sender(sink))
        yield senders
    finally:
        for sender in senders:
            sender.close()


def deliver_to(store: Store, sender: Sender, *, once: bool = False) -> SinkOutcome:
    """Send ``sender``'s pending events batch by batch until none is left (``once``: one
    batch); the cursor moves after each batch the receiver took."""
    delivered = 0
    while True:
        batch = store.pending_events(sender.name, sender.batch_size)
        if not batch:
            break
        try:
            sender.send(batch)
        except DeliveryError as exc:
            return SinkOutcome(sender.name, sender.kind, sender.describe(), delivered, str(exc))
        store.acknowledge_events(sender.name, batch[-1].id)
        delivered += len(batch)
        if once or len(batch) < sender.batch_size:
            break
    return SinkOutcome(sender.name, sender.kind, sender.describe(), delivered)


def deliver(store: Store, senders: Sequence[Sender], *, once: bool = False) -> list[SinkOutcome]:
    """Every sender in turn; one sink's failure never stops the others."""
    return [deliver_to(store, sender, once=once) for sender in senders]


def outcome_line(outcome: SinkOutcome) -> str:
    """One line saying what a sink got (and why it stopped)."""
    if outcome.ok:
        return f"{outcome.sink} ({outcome.where}): {outcome.delivered} event(s) delivered"
    return (
        f"{outcome.sink} ({outcome.where}): {outcome.delivered} event(s) delivered, then "
        f"failed: {outcome.error}; the rest waits in the outbox"
    )


def send_after_save(store: Store, settings: AlertsSettings, warn: Callable[[str], None]) -> None:
    """Deliver pending events after a stored scan. A failure is a warning (``warn``), never a
    failed scan: the events wait for ``provscan events send``."""
    if not settings.send_after_scan or not settings.sinks():
        return
    try:
        with open_senders(settings.sinks()) as senders:
            outcomes = deliver(store, senders)
    except ProvscanError as exc:  # a missing secret, a store that cannot be read
        warn(f"events not sent: {exc}")
        return
    for outcome in outcomes:
        if not outcome.ok:
            warn(f"{outcome_line(outcome)} (`provscan events send`)")


__all__ = [
    "SinkConfigError",
    "SinkOutcome",
    "build_sender",
    "deliver",
    "deliver_to",
    "open_senders",
    "outcome_line",
    "select_sinks",
    "send_after_save",
]
