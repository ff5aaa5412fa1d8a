"""``provscan sensor`` (a site's scan sensor, a Celery worker) and ``provscan schedule``
(scans the central sends to sites on a timetable)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from provscan.commands.common import EXIT_USAGE, DbOption, epilog, fail, fail_for, open_db
from provscan.errors import ProvscanError

#: Where ``provscan sensor`` reads its key when --key is not given.
KEY_ENV = "PROVSCAN_SENSOR_KEY"

schedule_app = typer.Typer(
    name="schedule",
    help="Scans the central (`provscan serve --broker`) sends to a site on a timetable.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command(
        name="sensor",
        epilog=epilog(
            "provscan sensor --site plant-3 --broker amqp://user:pw@central/ "
            "--allow 10.30.0.0/16 --key /etc/provscan/plant-3.key",
        ),
    )(sensor)
    app.add_typer(schedule_app)


def sensor(
    site: Annotated[
        str, typer.Option("--site", metavar="NAME", help="The site this sensor serves.")
    ],
    broker: Annotated[
        str,
        typer.Option("--broker", metavar="URL", help="Broker URL (amqp://… or redis://…)."),
    ],
    allow: Annotated[
        str,
        typer.Option(
            "--allow",
            metavar="CIDR[,CIDR...]",
            help="The only networks this sensor scans, whatever it is asked.",
        ),
    ],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help=f"The site's key (hex; default: the file named by ${KEY_ENV}).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="NAME", help="This sensor's name (default site/host)."),
    ] = None,
    heartbeat: Annotated[
        float,
        typer.Option("--heartbeat", metavar="SECONDS", min=1.0, help="Seconds between heartbeats."),
    ] = 30.0,
) -> None:
    """Run a scan sensor: consume the site's queue, scan locally, report through the broker.

    Requests are checked against the site key (HMAC) and the --allow list; a request outside
    it is refused and reported. The sensor needs no database.
    """
    from provscan.sensors.messages import load_key
    from provscan.sensors.scope import parse_allow
    from provscan.sensors.sensor import Sensor, SensorSettings
    from provscan.store.sensors import check_site_name

    try:
        check_site_name(site)
        networks = parse_allow(allow)
    except (ProvscanError, ValueError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if key is None:
        from_env = os.environ.get(KEY_ENV)
        if not from_env:
            raise fail(f"a sensor needs its site key: --key FILE or ${KEY_ENV}", EXIT_USAGE)
        key = Path(from_env)
    try:
        secret = load_key(key)
    except ProvscanError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if "://" not in broker:
        raise fail(f"{broker!r} is not a broker URL (amqp://… or redis://…)", EXIT_USAGE)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = SensorSettings(site, broker, networks, secret, name or "", heartbeat)
    try:
        Sensor(settings).run()
    except ProvscanError as exc:
        raise fail_for(exc) from None


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{text!r} is not an ISO time (2026-12-05T02:00:00+00:00)", EXIT_USAGE) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@schedule_app.command(
    "add",
    epilog=epilog(
        "provscan schedule add --site plant-3 --targets 10.30.0.0/24 --every 24h",
        'provscan schedule add --site plant-3 --targets 10.30.0.0/24 --cron "30 2 * * *"',
    ),
)
def schedule_add(
    site: Annotated[str, typer.Option("--site", metavar="NAME", help="The site to scan.")],
    targets: Annotated[
        str,
        typer.Option("--targets", metavar="SPEC[,SPEC...]", help="Addresses, networks or ranges."),
    ],
    every: Annotated[
        str | None, typer.Option("--every", metavar="INTERVAL", help="e.g. 15m, 24h, 7d.")
    ] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", metavar="LINE", help='"m h dom mon dow" (UTC).')
    ] = None,
    ports: Annotated[
        str | None, typer.Option("--ports", metavar="PORTS", help="e.g. 80,443,554.")
    ] = None,
    first: Annotated[
        str | None,
        typer.Option("--first", metavar="TIME", help="First run (ISO time; default: now)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a schedule (the central sends its scans; a missed run runs once, not many times)."""
    from provscan.sensors.central import cron_schedule, next_run, parse_every
    from provscan.sensors.scope import is_address_spec
    from provscan.targets import parse_ports

    if (every is None) == (cron is None):
        raise fail("give --every INTERVAL or --cron LINE (one of them)", EXIT_USAGE)
    specs = [spec.strip() for spec in targets.split(",") if spec.strip()]
    bad = [spec for spec in specs if not is_address_spec(spec)]
    if not specs or bad:
        raise fail(f"targets are addresses, networks or ranges: {bad or targets!r}", EXIT_USAGE)
    try:
        every_seconds = parse_every(every) if every is not None else None
        if cron is not None:
            cron_schedule(cron)
        port_list = list(parse_ports(ports)) if ports else None
    except (ProvscanError, ValueError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    now = datetime.now(UTC)
    start = _parse_time(first) or (now if every_seconds else next_run((None, cron), now))
    try:
        with open_db(db) as store:
            schedule = store.fleet().add_schedule(
                site, specs, every_seconds=every_seconds, cron=cron, next_run=start, ports=port_list
            )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(json.dumps(schedule.to_json()))


@schedule_app.command("list")
def schedule_list(db: DbOption = None) -> None:
    """The schedules, as JSON lines."""
    try:
        with open_db(db) as store:
            found = store.fleet().schedules()
    except ProvscanError as exc:
        raise fail_for(exc) from None
    for schedule in found:
        typer.echo(json.dumps(schedule.to_json()))


@schedule_app.command("remove")
def schedule_remove(
    schedule_id: Annotated[int, typer.Argument(metavar="ID", min=1)], db: DbOption = None
) -> None:
    """Remove a schedule (jobs it already sent stay)."""
    try:
        with open_db(db) as store:
            store.fleet().remove_schedule(schedule_id)
    except ProvscanError as exc:
        raise fail_for(
            exc,
        ) from None
    typer.echo(f"removed schedule {schedule_id}")
