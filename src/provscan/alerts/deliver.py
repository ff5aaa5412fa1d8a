"""Moving events from the outbox to every configured sink: a sink's cursor moves only after
its receiver took a batch, so a receiver that is down loses nothing and gets each event once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from provscan.alerts.file import FileSender
from provscan.alerts.interface import DeliveryError, Sender, SinkConfigError
from provscan.alerts.syslog import SyslogSender
from provscan.alerts.webhook import WebhookSender
from provscan.config import AlertsSettings, FileSink, SyslogSink, WebhookSink, load_config
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


#: One delivery at a time in a process (the CLI's, an API scan's, the central's, a case
#: change's): two at once would read the same pending batch and send it twice.
_DELIVERING = threading.Lock()


def send_after_save(
    store: Store, settings: AlertsSettings | None, warn: Callable[[str], None]
) -> None:
    """Deliver pending events after a stored scan or a case change: the one function every
    path that stores one calls (the CLI, scans started from the API, the central's sensor
    results, a person's case change), directly or through a :class:`Deliverer`. ``settings``:
    the config file's ``[alerts]`` (None: read now). A failure is a warning (``warn``), never
    a failed scan: the events wait in the outbox for the next delivery or
    ``provscan events send``."""
    try:
        if settings is None:
            settings = load_config().alerts
        if not settings.send_after_scan or not settings.sinks():
            return
        with _DELIVERING, open_senders(settings.sinks()) as senders:
            outcomes = deliver(store, senders)
    except ProvscanError as exc:  # a missing secret, a store that cannot be read, the config
        warn(f"events not sent: {exc}")
        return
    for outcome in outcomes:
        if not outcome.ok:
            warn(f"{outcome_line(outcome)} (`provscan events send`)")


class Deliverer:
    """Runs :func:`send_after_save` in its own thread when kicked, so that the caller (an API
    request, a scan job, the central's consumer of sensor results) never waits for a sink
    that is slow or down; kicks while it delivers make one more run, never a lost event.
    Warnings go to the log."""

    def __init__(self, store: Store, *, name: str = "provscan-alerts") -> None:
        self.store = store
        self.name = name
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    def kick(self) -> None:
        """Deliver the pending events soon (starts the thread on first use)."""
        with self._lock:
            if self._stopping:
                return
            self._idle.clear()
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Whether every kick so far has been delivered (waits up to ``timeout``)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        log = logging.getLogger("provscan.alerts")
        while True:
            self._wanted.wait()
            with self._lock:
                if self._stopping:
                    self._idle.set()
                    return
                self._wanted.clear()
            try:
                send_after_save(self.store, None, log.warning)
            except Exception:  # the thread lives on; the events wait in the outbox
                log.exception("delivering events failed")
            with self._lock:
                if not self._wanted.is_set():
                    self._idle.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the delivery in progress (what is pending stays in the outbox)."""
        with self._lock:
            self._stopping = True
            self._wanted.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


__all__ = [
    "Deliverer",
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
