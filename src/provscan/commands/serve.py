"""``provscan serve``: the web API over a store (FastAPI on uvicorn; loopback unless told)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provscan.commands.common import (
    EXIT_USAGE,
    DbOption,
    ExitCode,
    epilog,
    fail,
    fail_for,
    warn,
)
from provscan.errors import ProvscanError

if TYPE_CHECKING:
    from provscan.store.db import Store

_EXIT_CODES: list[ExitCode] = [
    (0, "stopped (Ctrl-C)"),
    (
        1,
        "the database cannot be opened, the port is taken, or the --broker went away "
        "since it was checked (message on stderr)",
    ),
    (
        2,
        "bad argument (a non-loopback --host without --allow-remote, a missing TLS file, "
        "no database file at --db or no provscan tables in it, a --sensor-keys directory "
        "without a key, a --broker that is not an amqp:// or redis:// URL)",
    ),
]


def _epilog(*examples: str) -> str:
    return epilog(*examples, codes=_EXIT_CODES)


def register(app: typer.Typer) -> None:
    app.command(
        short_help="Serve the REST API and the web console over a store.",
        name="serve",
        epilog=_epilog(
            "provscan users add admin --role admin && provscan serve",
            "provscan serve --db /srv/provscan.db --port 8443 --tls-cert cert.pem --tls-key key.pem",
            "provscan serve --host ADDRESS --allow-remote --tls-cert cert.pem --tls-key key.pem",
        ),
    )(serve)


#: The Host headers a server on loopback answers.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def _allowed_hosts(host: str) -> list[str] | None:
    """The Host names to answer: loopback ones on an IPv4 loopback address or localhost
    (compared without the port; IPv6 literals are not listed, so a server on ::1 answers
    any name); None for a remote deployment."""
    if host != "localhost" and ":" in host:
        return None
    return [*LOOPBACK_HOSTS, host] if is_loopback_host(host) else None


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    db: DbOption = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            help="Address to listen on (default loopback; any other needs --allow-remote).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="TCP port.")
    ] = 8080,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow listening on a non-loopback address (use TLS: the store maps weak devices).",
        ),
    ] = False,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", metavar="FILE", help="TLS certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", metavar="FILE", help="TLS private key (PEM).")
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            metavar="URL",
            help="Run the sensors' central on this broker (amqp://… or redis://…).",
        ),
    ] = None,
    sensor_keys: Annotated[
        Path | None,
        typer.Option(
            "--sensor-keys",
            metavar="DIR",
            help="Site keys for --broker, one NAME.key per site (default: DIR sensor-keys "
            "in the data directory).",
        ),
    ] = None,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /api/v1/openapi.json) over a store.

    The store must exist (a mistyped --db is refused). Nobody can log in until an account
    exists: create one with `provscan users add` (its --create starts a new store).
    """
    if not is_loopback_host(host) and not allow_remote:
        raise fail(
            f"--host {host} is not a loopback address; add --allow-remote to listen there",
            EXIT_USAGE,
        )
    if (tls_cert is None) != (tls_key is None):
        raise fail("--tls-cert and --tls-key go together", EXIT_USAGE)
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise fail(f"{path} is not a readable file", EXIT_USAGE)
    if broker is not None and "://" not in broker:
        raise fail(f"{broker!r} is not a broker URL (amqp://… or redis://…)", EXIT_USAGE)
    central = None
    if broker is not None:
        from provscan import paths
        from provscan.sensors.broker import check_broker, check_broker_url
        from provscan.sensors.central import Central, SiteKeys

        try:
            check_broker_url(broker)
        except ProvscanError as exc:
            raise fail_for(exc) from None
        keys = SiteKeys(sensor_keys or paths.data_dir() / "sensor-keys")
        if not keys.directory.is_dir():
            raise fail(f"--sensor-keys {keys.directory} is not a directory", EXIT_USAGE)
        if not keys.sites():
            # A central without keys could open no sensor's result (they would wait in the
            # broker, parked, until a key is added): a wrong directory, not a setting.
            raise fail(
                f"--sensor-keys {keys.directory} holds no site key (NAME.key, made with "
                "`provscan sensor keygen --site NAME --out DIR/NAME.key`)",
                EXIT_USAGE,
            )
        for warning in keys.warnings():
            warn(warning)
        broker_url = broker

        try:
            check_broker(broker_url)
        except ProvscanError as exc:
            raise fail_for(exc) from None

        def central(store: Store) -> Central:
            return Central(store, broker_url, keys)

    import uvicorn

    from provscan.commands.common import open_db, require_existing_db
    from provscan.store.db import normalise_db_arg
    from provscan.web.app import create_app

    try:
        require_existing_db(db)
    except ProvscanError as exc:
        # serve has no --create: a new console's store starts with its first account (the
        # --db URL may hold a password: not repeated)
        raise fail(
            f"{exc}; to start a new store, add its first account: provscan users add NAME "
            "--role admin --create, with the same --db",
            EXIT_USAGE,
        ) from None
    try:
        # an existing store only (a mistyped --db would serve an empty one nobody can log in
        # to), with the organisation's settings, as every command uses
        with open_db(db, must_exist=True) as store:
            settings = store.settings
        app = create_app(
            normalise_db_arg(db),
            settings,
            tls=tls_cert is not None,
            # On loopback only loopback names are answered (DNS rebinding); a remote
            # deployment names its own hosts behind its proxy.
            allowed_hosts=_allowed_hosts(host),
            central=central,
        )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    _check_port(host, port)  # one line, before uvicorn logs its own failure
    hub = app.state.central
    if hub is not None:
        # Started here rather than in the app's start-up (which finds it running): a broker
        # gone since it was checked is one line naming it and the cause, exit 1, rather
        # than uvicorn's traceback and a word about the port.
        try:
            hub.start()
        except ProvscanError as exc:
            app.state.store.close()
            raise fail(str(exc)) from None
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
            server_header=False,
            proxy_headers=False,
            log_level="info",
        )
    except SystemExit as exc:
        # uvicorn exits 3 when it cannot start (a taken port); 3 means "restricted" here.
        if exc.code not in (0, None):
            raise fail(
                f"cannot serve on {host}:{port} (the port is taken or not allowed)"
            ) from None


def _check_port(host: str, port: int) -> None:
    """Exit 1 with one line when ``host:port`` cannot be listened on (taken, not an address
    of this machine); binding sends nothing."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = {
                errno.EADDRINUSE: "the port is taken",
                errno.EACCES: (
                    "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
                ),
                errno.EADDRNOTAVAIL: "not an address of this machine",
            }.get(exc.errno or 0, exc.strerror or str(exc))
            raise fail(f"cannot serve on {host}:{port}: {why}") from None
