"""The Celery application both sides share: queues, exchanges and the delivery guarantees.

One durable direct exchange ``provscan``; one durable queue per site (``provscan.site.NAME``)
that only that site's sensors consume; one durable queue ``provscan.results`` that the central
consumes (outcomes, start notices, heartbeats). Messages are persistent; a sensor acknowledges
a scan only after its outcome is published (``acks_late``), takes one at a time (prefetch 1),
and a scan whose worker dies is given back to the queue (``task_reject_on_worker_lost``; with
RabbitMQ the broker redelivers every unacknowledged message of a closed connection).
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery
from kombu.connection import Connection
from kombu.entity import Exchange, Queue

from provscan.errors import InputError, ProvscanError

EXCHANGE = Exchange("provscan", type="direct", durable=True, delivery_mode="persistent")
SCAN_TASK = "provscan.sensor.scan"
REPORT_TASK = "provscan.central.report"
RESULTS_QUEUE_NAME = "provscan.results"
RESULTS_QUEUE = Queue(RESULTS_QUEUE_NAME, EXCHANGE, routing_key=RESULTS_QUEUE_NAME, durable=True)
#: Where the central keeps the results it cannot open or attribute yet (no key for their
#: site, a key it does not hold, a job its database does not hold): never dropped, moved
#: back to ``provscan.results`` every minute (sensors/central.py).
PARKED_QUEUE_NAME = "provscan.results.parked"
PARKED_QUEUE = Queue(PARKED_QUEUE_NAME, EXCHANGE, routing_key=PARKED_QUEUE_NAME, durable=True)
#: Seconds a heartbeat waits in the broker before RabbitMQ drops it (a newer one follows).
HEARTBEAT_TTL_SECONDS = 600


class BrokerError(ProvscanError):
    """The broker cannot be reached or refused an operation."""


class BrokerUrlError(BrokerError, InputError):
    """A broker URL no transport reads (exit 2)."""


#: The URL schemes of the brokers provscan supports (kombu's transports for them).
BROKER_SCHEMES = ("amqp", "amqps", "pyamqp", "redis", "rediss")


def check_broker_url(broker_url: str) -> None:
    """BrokerUrlError unless ``broker_url`` is an ``amqp://`` or ``redis://`` URL (kombu
    would otherwise fail with a KeyError naming the transport, or read it as a path)."""
    scheme, found, rest = broker_url.partition("://")
    if not found or scheme.lower() not in BROKER_SCHEMES:
        shown = f"{scheme}://{rest.rsplit('@', 1)[-1]}" if found else repr(broker_url[:80])
        raise BrokerUrlError(
            f"{shown} is not a broker URL "
            "(amqp://user:password@host:5672/vhost, amqps://…, redis://host:6379/0 or rediss://…)"
        )


def site_queue(site: str) -> Queue:
    """The durable queue of ``site``'s scan requests."""
    name = f"provscan.site.{site}"
    return Queue(name, EXCHANGE, routing_key=name, durable=True)


def _check_client(broker_url: str) -> None:
    """A ``redis://`` broker needs the redis client (the ``redis`` extra)."""
    if broker_url.startswith(("redis://", "rediss://")):
        try:
            import redis  # noqa: F401
        except ImportError:
            raise BrokerError(
                "a redis:// broker needs the redis client: pip install 'provscan[redis]'"
            ) from None


def make_app(broker_url: str, name: str, queues: list[Queue]) -> Celery:
    """A Celery app on ``broker_url`` (``amqp://`` or ``redis://``) that knows ``queues``."""
    _check_client(broker_url)
    app = Celery(name, broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_default_delivery_mode="persistent",
        task_default_exchange=EXCHANGE.name,
        task_default_exchange_type="direct",
        task_queues=queues,
        task_create_missing_queues=False,
        broker_connection_retry_on_startup=True,
        # Remote control (``celery inspect``/``control``) is off: anyone who can publish to
        # the broker could otherwise tell the sensor what to consume or shut it down.
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        # Redis: a task not acknowledged within this time is delivered again (the sensor's
        # scans are bounded far below it); RabbitMQ redelivers on a closed connection.
        broker_transport_options={"visibility_timeout": 6 * 3600},
    )
    return app


_declared: set[tuple[str, str]] = set()
_declared_lock = threading.Lock()


def declare(connection: Connection, queue: Queue, channel: Any = None) -> None:
    """Declare ``queue`` (and its exchange) once per broker per process, so that a message
    sent before any consumer exists waits in it rather than being dropped."""
    key = (connection.as_uri(), queue.name)
    with _declared_lock:
        if key in _declared:
            return
    queue.bind(channel or connection.default_channel).declare()
    with _declared_lock:
        _declared.add(key)


def send(app: Celery, task: str, envelope: dict[str, Any], queue: Queue, **options: Any) -> None:
    """Publish one task message carrying ``envelope`` to ``queue`` (persistent)."""
    try:
        # A pooled connection: a request from the API does not open one of its own.
        with app.producer_or_acquire() as producer:
            declare(producer.connection, queue, producer.channel)
            app.send_task(
                task,
                args=[envelope],
                queue=queue,
                routing_key=queue.routing_key,
                exchange=EXCHANGE,
                delivery_mode=2,
                producer=producer,
                **options,
            )
    except OSError as exc:
        raise BrokerError(f"cannot publish to the broker: {exc}") from exc
    except Exception as exc:
        if type(exc).__module__.startswith(("kombu", "amqp", "redis")):
            raise BrokerError(f"cannot publish to the broker: {exc}") from exc
        raise


def queue_depth(app: Celery, queue: Queue) -> int | None:
    """Messages waiting in ``queue`` (not counting those a consumer holds), None if unknown."""
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            if connection.transport.driver_type == "redis":
                # kombu keeps a Redis queue as lists (one per priority) that vanish when
                # empty, so a passive declare of an empty queue fails: count the lists.
                return int(channel._size(queue.name))
            _, count, _ = queue.bind(channel).queue_declare(passive=True)
            return int(count)
    except Exception:  # a depth is a nicety in a heartbeat; the heartbeat still goes
        return None


def check_broker(broker_url: str) -> None:
    """Connect once to ``broker_url`` (and open a channel: RabbitMQ checks the account and
    the virtual host then); :class:`BrokerError` saying why not, in one line."""
    check_broker_url(broker_url)
    _check_client(broker_url)
    try:
        with Connection(broker_url, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
            connection.default_channel  # noqa: B018  # opening it is the check
    except Exception as exc:  # kombu, amqp, redis and socket errors alike
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise BrokerError(f"cannot reach the broker {shown_url(broker_url)}: {why}") from None


def shown_url(broker_url: str) -> str:
    """The URL as given, its password (when it has one) masked as ``**``: nothing invented
    (kombu's ``as_uri`` shows ``redis://:**@host`` for a URL without a password, and adds
    ``guest`` to an ``amqp://`` one without a user)."""
    scheme, found, rest = broker_url.partition("://")
    if not found:
        return "(an unreadable URL)"
    if "@" not in rest:
        return broker_url
    userinfo, host = rest.rsplit("@", 1)  # never the password, whatever it holds
    user, colon, password = userinfo.partition(":")
    if colon and password:
        return f"{scheme}://{user}:**@{host}"
    return broker_url
