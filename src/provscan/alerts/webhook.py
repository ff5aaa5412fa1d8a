"""Generic JSON webhook: one POST per batch, retried with exponential back-off and jitter."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from provscan import __version__
from provscan.alerts.interface import DeliveryError, Sender, SinkConfigError, check_destination
from provscan.alerts.syslog import client_context
from provscan.config import WebhookSink
from provscan.store.events import Event

#: The longest single back-off, whatever the retry count.
MAX_BACKOFF_SECONDS = 60.0
#: Answers worth another try: the receiver is busy or failing, not refusing the content.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: The longest secret file read.
MAX_SECRET_BYTES = 16 * 1024


def read_secret(sink: WebhookSink) -> str | None:
    """The secret header's value from the environment or a file (never from the config)."""
    if sink.secret_env is not None:
        value = os.environ.get(sink.secret_env, "").strip()
        if not value:
            raise SinkConfigError(
                f"webhook {sink.name}: environment variable {sink.secret_env} is not set"
            )
        return value
    if sink.secret_file is not None:
        path = sink.secret_file.expanduser()
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_SECRET_BYTES + 1)
        except OSError as exc:
            raise SinkConfigError(
                f"webhook {sink.name}: secret file {path} cannot be read: {exc.strerror or exc}"
            ) from None
        value = data.decode("utf-8", "replace").strip()
        if not value or len(data) > MAX_SECRET_BYTES or "\n" in value:
            raise SinkConfigError(f"webhook {sink.name}: secret file {path} must hold one line")
        return value
    return None


class WebhookSender(Sender):
    kind = "webhook"

    def __init__(
        self,
        sink: WebhookSink,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = sink.name
        self.batch_size = sink.batch_size
        self.url = sink.url
        self.retries = sink.retries
        self.backoff = sink.backoff_seconds
        self.sleep = sleep
        headers = {"User-Agent": f"provscan/{__version__}", "Content-Type": "application/json"}
        secret = read_secret(sink)
        if sink.secret_header is not None and secret is not None:
            headers[sink.secret_header] = secret
        verify: Any = True
        if sink.tls_ca_file is not None:
            verify = client_context(sink.tls_ca_file)
        self.client = httpx.Client(
            headers=headers,
            timeout=sink.timeout_seconds,
            verify=verify,
            transport=transport,
            follow_redirects=False,  # a redirect could carry the secret to another host
            trust_env=False,  # no proxy from the environment: the receiver is configured here
        )

    def describe(self) -> str:
        url = httpx.URL(self.url)
        port = f":{url.port}" if url.port else ""
        return f"webhook {url.scheme}://{url.host}{port}{url.path}"

    def payload(self, events: Sequence[Event]) -> dict[str, Any]:
        return {
            "source": "provscan",
            "version": __version__,
            "sink": self.name,
            "events": [event.to_json() for event in events],
        }

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        ceiling = min(MAX_BACKOFF_SECONDS, self.backoff * 2**attempt)
        if retry_after and retry_after.strip().isdigit():
            return min(MAX_BACKOFF_SECONDS, float(retry_after.strip()))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never zero, spread out

    def send(self, events: Sequence[Event]) -> None:
        if not events:
            return
        check_destination(httpx.URL(self.url).host)
        # Receivers can drop a retried batch they already took by its key (or by event ids).
        headers = {"Idempotency-Key": f"provscan-{self.name}-{events[0].id}-{events[-1].id}"}
        content = httpx.Request("POST", self.url, json=self.payload(events)).content
        problem = ""
        for attempt in range(self.retries + 1):
            retry_after: str | None = None
            try:
                response = self.client.post(self.url, content=content, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.is_success:
                    return
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    break
                retry_after = response.headers.get("Retry-After")
            if attempt < self.retries:
                self.sleep(self._delay(attempt, retry_after))
        tries = f" after {attempt + 1} attempts" if attempt else ""
        raise DeliveryError(f"{problem}{tries}")

    def close(self) -> None:
        self.client.close()
