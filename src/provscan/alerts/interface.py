"""What every sender shares: the interface, its error, and where a sender may connect."""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Sequence

from provscan.errors import InputError, ProvscanError
from provscan.interlock import ALLOWED_TARGETS_ENV, allowed_networks, outside_interlock
from provscan.store.events import Event


class DeliveryError(ProvscanError):
    """A receiver did not take a batch (down, refused, timed out, answered an error)."""


class SinkConfigError(InputError):
    """A sink cannot be set up from the configuration (a missing secret, a bad CA file)."""


class Sender(ABC):
    """Delivers batches of events to one receiver; ``send`` returns only when the receiver
    took the whole batch, else raises :class:`DeliveryError` (the caller then keeps the
    batch in the outbox)."""

    #: The sink's name (its cursor in the outbox).
    name: str
    #: "syslog", "file" or "webhook".
    kind: str
    #: Events handed to ``send`` at most at once.
    batch_size: int

    @abstractmethod
    def send(self, events: Sequence[Event]) -> None: ...

    def describe(self) -> str:
        """Where the sender delivers to, for messages (never a secret)."""
        return self.kind

    def close(self) -> None:
        """Release what the sender holds (connections); the default holds nothing."""
        return None


def check_destination(host: str) -> None:
    """Refuse a receiver outside ``PROVSCAN_ALLOWED_TARGETS`` when that interlock is on.

    Under the interlock only address literals are accepted: resolving a name would itself
    send a query, and the name could point anywhere.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if allowed_networks() is not None:
            raise DeliveryError(
                f"receiver {host} refused: {ALLOWED_TARGETS_ENV} is set and names are not "
                "resolved under it (give an address)"
            ) from None
        return
    if outside_interlock(address):
        raise DeliveryError(f"receiver {host} refused: outside {ALLOWED_TARGETS_ENV}")
