"""``provscan sensor`` (a site's scan sensor, a Celery worker) and ``provscan schedule``
(jobs the central sends to sites on a timetable: scans, capture analyses, discoveries)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from provscan.commands.common import (
    EXIT_USAGE,
    DbOption,
    epilog,
    fail,
    fail_for,
    open_db,
    require_existing_db,
    warn,
)
from provscan.errors import ProvscanError

#: Where ``provscan sensor`` reads its key when --key is not given.
KEY_ENV = "PROVSCAN_SENSOR_KEY"

schedule_app = typer.Typer(
    short_help="Jobs the central sends to a site on a timetable.",
    name="schedule",
    help=(
        "Jobs (scans, capture analyses, discoveries) the central (`provscan serve --broker`) "
        "sends to a site on a timetable."
    ),
    no_args_is_help=True,
)
sensor_app = typer.Typer(name="sensor")


def register(app: typer.Typer) -> None:
    app.add_typer(sensor_app)
    app.add_typer(schedule_app)


@sensor_app.callback(
    short_help="Run a scan sensor: take a site's jobs from the broker.",
    invoke_without_command=True,
    epilog=epilog(
        "provscan sensor --site plant-3 --broker amqp://user:pw@central/ "
        "--allow SITE_CIDR --key /etc/provscan/plant-3.key",
        "provscan sensor --site plant-3 --broker amqp://user:pw@central/ --allow SITE_CIDR "
        "--key /etc/provscan/plant-3.key --captures /var/lib/provscan/captures --interface eth1",
        "provscan sensor keygen --site plant-3 --out plant-3.next.key",
    ),
)
def sensor(
    context: typer.Context,
    site: Annotated[
        str | None, typer.Option("--site", metavar="NAME", help="The site this sensor serves.")
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option("--broker", metavar="URL", help="Broker URL (amqp://… or redis://…)."),
    ] = None,
    allow: Annotated[
        str | None,
        typer.Option(
            "--allow",
            metavar="CIDR[,CIDR...]",
            help="The only networks this sensor scans, whatever it is asked.",
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help=f"The site's keys (hex, one a line; default: the file named by ${KEY_ENV}).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="This sensor's name (default site/host; a second sensor of the site on this "
            "host is site/host-2). Refused while a sensor of that name runs on this host.",
        ),
    ] = None,
    heartbeat: Annotated[
        float,
        typer.Option("--heartbeat", metavar="SECONDS", min=1.0, help="Seconds between heartbeats."),
    ] = 30.0,
    captures: Annotated[
        Path | None,
        typer.Option(
            "--captures",
            metavar="DIR",
            help="Captures a request may name for analysis (only files under DIR).",
        ),
    ] = None,
    interfaces: Annotated[
        list[str] | None,
        typer.Option(
            "--interface",
            metavar="NAME",
            help="Interface for discovery requests (repeatable); its subnet must be in --allow.",
        ),
    ] = None,
) -> None:
    """Run a scan sensor: consume the site's queue, scan locally, report through the broker.

    Requests are checked against the site's keys (HMAC) and the sensor's own settings: scan
    targets inside --allow, captures under --captures, discovery on an --interface; anything
    else is refused and reported. The sensor needs no database. Ctrl-C (or SIGTERM) stops
    it after the job in hand; a second Ctrl-C gives that job back to the queue at once.
    """
    if context.invoked_subcommand is not None:
        return
    from provscan.sensors.broker import check_broker, check_broker_url
    from provscan.sensors.messages import KeyFile, key_file_warnings
    from provscan.sensors.sensor import Sensor, SensorSettings, claim_name

    if site is None or broker is None or allow is None:
        raise fail("a sensor needs --site NAME, --broker URL and --allow CIDR", EXIT_USAGE)
    networks = _check_site_and_allow(site, allow)
    if key is None:
        from_env = os.environ.get(KEY_ENV)
        if not from_env:
            raise fail(f"a sensor needs its site key: --key FILE or ${KEY_ENV}", EXIT_USAGE)
        key = Path(from_env)
    # A key file whose header names another site is refused: every request would fail
    # verification here (and stay queued) while the sensor looked ready.
    keys = KeyFile(key, site)
    try:
        keys.ring()
        check_broker_url(broker)
    except ProvscanError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    for warning in key_file_warnings(key):
        warn(warning)
    if captures is not None and not captures.is_dir():
        raise fail(f"--captures {captures} is not a directory", EXIT_USAGE)
    names = tuple(dict.fromkeys(interfaces or ()))
    _check_interfaces(names, networks)
    try:
        # as `serve` does: a wrong password, an unknown virtual host or no broker at all is
        # one line now, not a worker retrying with tracebacks
        check_broker(broker)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    try:
        sensor_name, _held = claim_name(site, name)
    except ProvscanError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = SensorSettings(
        site,
        broker,
        networks,
        keys,
        sensor_name,
        heartbeat,
        captures=captures.resolve() if captures is not None else None,
        interfaces=names,
    )
    try:
        code = Sensor(settings).run()
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if code:
        raise typer.Exit(code)


def _check_site_and_allow(site: str, allow: str) -> Any:
    """The site's name and the --allow networks, under the scope rules of `provscan scan`."""
    from provscan.sensors.scope import check_allow, parse_allow
    from provscan.store.sensors import check_site_name

    try:
        check_site_name(site)
        networks = parse_allow(allow)
        check_allow(networks)
        return networks
    except (ProvscanError, ValueError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def _check_interfaces(names: tuple[str, ...], networks: Any) -> None:
    """Each --interface is up with an address, and its whole subnet lies inside --allow."""
    from provscan.discovery.netif import segment_for_interface
    from provscan.sensors.scope import check_interface_name, segment_inside

    for interface in names:
        try:
            check_interface_name(interface)
            segment = segment_for_interface(interface)
        except ProvscanError as exc:
            raise fail(f"--interface {interface}: {exc}", EXIT_USAGE) from None
        if not segment_inside(segment.network, networks):
            raise fail(
                f"--interface {interface}: its subnet {segment.network} is not inside --allow",
                EXIT_USAGE,
            )


@sensor_app.command(
    "keygen",
    epilog=epilog("provscan sensor keygen --site plant-3 --out /etc/provscan/plant-3.next.key"),
)
def keygen(
    site: Annotated[str, typer.Option("--site", metavar="NAME", help="The key's site.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="The new key file (never replaced).")
    ],
) -> None:
    """Make a new site key in a new file (mode 0600); its id is printed. A site holds up to
    two keys, one a line: the first signs, both verify (docs/decisions/0021-sensors.md)."""
    from provscan.sensors.messages import key_file_text, key_id, new_key
    from provscan.store.sensors import check_site_name

    try:
        check_site_name(site)
    except ProvscanError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    key = new_key()
    try:
        # O_EXCL: never over an existing file (nor through a link someone left there)
        handle = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise fail(f"{out} exists: a key file is never replaced", EXIT_USAGE) from None
    except OSError as exc:
        raise fail(f"cannot create {out}: {exc.strerror}") from None
    with os.fdopen(handle, "w", encoding="ascii") as file:
        file.write(key_file_text(key, site))
    typer.echo(f"wrote the key {key_id(bytes.fromhex(key))} for site {site} to {out}")


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{text!r} is not an ISO time (2026-12-05T02:00:00+00:00)", EXIT_USAGE) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: What ``schedule add --kind`` takes (store.sensors.JOB_KINDS).
SCHEDULE_KINDS = ("scan", "pcap", "discover")


@schedule_app.command(
    "add",
    short_help="Add a schedule (a missed run runs once).",
    epilog=epilog(
        "provscan schedule add --site plant-3 --targets CAMERA_CIDR --every 24h",
        'provscan schedule add --site plant-3 --targets CAMERA_CIDR --cron "30 2 * * *"',
        "provscan schedule add --site plant-3 --kind pcap --captures 'mirror/*.pcapng' --every 1h",
        "provscan schedule add --site plant-3 --kind discover --every 6h",
        "provscan schedule add --site plant-4 --new-site --targets CAMERA_CIDR --every 24h",
    ),
)
def schedule_add(
    site: Annotated[str, typer.Option("--site", metavar="NAME", help="The site to send to.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            metavar="scan|pcap|discover",
            help="scan: --targets; pcap: --captures on the sensor; discover: on one of the "
            "sensor's interfaces (--interface), inside its --allow.",
        ),
    ] = "scan",
    targets: Annotated[
        str | None,
        typer.Option(
            "--targets", metavar="SPEC[,SPEC...]", help="Addresses, networks or ranges (scan)."
        ),
    ] = None,
    captures: Annotated[
        str | None,
        typer.Option(
            "--captures",
            metavar="NAME[,NAME...]",
            help="Capture files or globs under the sensor's --captures directory (pcap).",
        ),
    ] = None,
    interface: Annotated[
        str | None,
        typer.Option(
            "--interface",
            metavar="NAME",
            help="One of the sensor's --interface to discover on (discover; default: its first).",
        ),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", metavar="INTERVAL", help="e.g. 15m, 24h, 7d (1m to 366d)."),
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option(
            "--cron",
            metavar="LINE",
            help='"m h dom mon dow" (UTC; day of week 0-7, 0 and 7 are Sunday).',
        ),
    ] = None,
    ports: Annotated[
        str | None, typer.Option("--ports", metavar="PORTS", help="e.g. 80,443,554.")
    ] = None,
    first: Annotated[
        str | None,
        typer.Option("--first", metavar="TIME", help="First run (ISO time; default: now)."),
    ] = None,
    new_site: Annotated[
        bool,
        typer.Option(
            "--new-site",
            help="Schedule for a site nothing in the database names yet (no sensor of it has "
            "reported to the central, no scan names it).",
        ),
    ] = False,
    db: DbOption = None,
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Start a new store at --db when there is none; without it a missing database "
            "(or one without provscan's tables) is refused.",
        ),
    ] = False,
) -> None:
    """Add a schedule (the central sends its jobs; a missed run runs once, not many times).

    Schedules run only while `provscan serve --db` (this database) `--broker URL` runs, with
    the site's key in its --sensor-keys, and only a `provscan sensor --site` of that site
    takes the jobs. Targets follow the scope rules of `provscan scan` (reserved, public and
    CGNAT space refused: a sensor has no --allow-public; PROVSCAN_ALLOWED_TARGETS; at most
    4096 addresses a job), checked now, when each job is sent, and on the sensor, which also
    checks each job against its own settings: targets inside its --allow, captures under its
    --captures, discovery on its --interface. The site must be known to the database (a
    sensor of it has reported, or a scan names it) unless --new-site is given; a run that
    falls due while the previous one still waits in the site's queue is skipped. --every is
    1 minute to 366 days; --cron is five fields, UTC (day of week 0-7, 0 and 7 are Sunday)."""
    from provscan.sensors.beat import cron_schedule, next_run, parse_every
    from provscan.sensors.scope import (
        MAX_CAPTURES,
        check_capture_name,
        check_interface_name,
        request_targets,
    )
    from provscan.targets import is_address_spec, parse_ports

    if kind not in SCHEDULE_KINDS:
        raise fail(f"--kind is one of {', '.join(SCHEDULE_KINDS)}, not {kind!r}", EXIT_USAGE)
    if (every is None) == (cron is None):
        raise fail("give --every INTERVAL or --cron LINE (one of them)", EXIT_USAGE)
    specs = [spec.strip() for spec in (targets or "").split(",") if spec.strip()]
    names = [name.strip() for name in (captures or "").split(",") if name.strip()]
    if kind != "scan" and (targets is not None or ports is not None):
        raise fail(f"a {kind} schedule takes no --targets or --ports", EXIT_USAGE)
    if kind != "pcap" and captures is not None:
        raise fail("--captures is for --kind pcap", EXIT_USAGE)
    if kind != "discover" and interface is not None:
        raise fail("--interface is for --kind discover", EXIT_USAGE)
    if kind == "scan":
        bad = [spec for spec in specs if not is_address_spec(spec)]
        if not specs:
            raise fail("a scan schedule needs --targets SPEC[,SPEC...]", EXIT_USAGE)
        if bad:
            raise fail(f"targets are addresses, networks or ranges: {bad!r}", EXIT_USAGE)
        try:
            # the scope rules of `provscan scan` (no --allow-public: a sensor refuses public
            # space), checked again when the central sends each job and by the sensor
            request_targets(specs)
        except ProvscanError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
    if kind == "pcap" and not 1 <= len(names) <= MAX_CAPTURES:
        raise fail(f"a pcap schedule names 1 to {MAX_CAPTURES} --captures", EXIT_USAGE)
    now = cron_first = datetime.now(UTC)
    try:
        for name in names:
            check_capture_name(name)
        if interface is not None:
            check_interface_name(interface)
        every_seconds = parse_every(every) if every is not None else None
        if cron is not None:
            cron_schedule(cron)
            cron_first = next_run((None, cron), now)
        port_list = list(parse_ports(ports)) if ports is not None else None
    except (ProvscanError, ValueError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    start = _parse_time(first) or (now if every_seconds else cron_first)
    if not create:
        try:
            require_existing_db(db)
        except ProvscanError as exc:
            raise fail(f"{exc}; or add --create to start a new store", EXIT_USAGE) from None
    try:
        with open_db(db) as store:
            if not new_site:
                _require_known_site(store, site)
            schedule = store.fleet().add_schedule(
                site,
                specs,
                every_seconds=every_seconds,
                cron=cron,
                next_run=start,
                ports=port_list,
                kind=kind,
                captures=names,
                interface=interface,
            )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(json.dumps(schedule.to_json()))
    # stdout stays one JSON line; how the schedule comes to run goes to stderr
    typer.echo(
        f"provscan: note: schedule {schedule.id} runs only while `provscan serve` on this "
        f"database runs with --broker URL and the site's key; a `provscan sensor --site {site}` "
        "takes its jobs",
        err=True,
    )


def _require_known_site(store: Any, site: str) -> None:
    """Exit 2 for a site nothing in ``store`` names: its schedule would never find a sensor
    (a typo, or a central without the site's key)."""
    from provscan.store.db import spelt_otherwise
    from provscan.store.sensors import check_site_name

    try:
        check_site_name(site)
    except ProvscanError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if store.fleet().site_known(site) or site in store.sites():
        return
    known = sorted({row["name"] for row in store.fleet().sites()} | set(store.sites()))
    same = spelt_otherwise(site, known)
    hint = f" (did you mean {same!r}?)" if same else ""
    listed = f"; known sites: {', '.join(known)}" if known else ""
    raise fail(
        f"no sensor of site {site!r} has reported to {store.display_name} and no scan names "
        f"it{hint}{listed}: start the central with the site's key (`provscan serve --broker "
        f"URL --sensor-keys DIR`, DIR/{site}.key) and `provscan sensor --site {site}`, or add "
        "--new-site to schedule it anyway",
        EXIT_USAGE,
    )


@schedule_app.command("list", short_help="The schedules, as JSON lines.")
def schedule_list(db: DbOption = None) -> None:
    """The schedules, as JSON lines (each with its kind: scan, pcap or discover)."""
    try:
        with open_db(db, must_exist=True) as store:
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
        with open_db(db, must_exist=True) as store:
            store.fleet().remove_schedule(schedule_id)
    except ProvscanError as exc:
        raise fail_for(
            exc,
        ) from None
    typer.echo(f"removed schedule {schedule_id}")
