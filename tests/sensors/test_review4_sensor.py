"""Fourth review, the sensor: its key must be its site's (item 3), a request it cannot verify
is reported, not swallowed (item 3), a second Ctrl-C mid-scan gives the request back and
exits 130 (item 4), key modes and --allow are checked as elsewhere (item 5), a bad broker is
one line (item 6), a name is held on its host (item 9), Celery's root warning names no
--uid option (item 12). Real sensor processes on a RabbitMQ virtual host of this module's
own; the only target is a silent server of the test's own on loopback."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from review4_tools import SensorRun, depth, own_vhost, write_key
from sensors_tools import wait_for
from typer.testing import CliRunner

from provscan.cli import app
from provscan.sensors.broker import site_queue
from provscan.sensors.central import Central, SiteKeys
from provscan.sensors.messages import key_file_text, new_key
from provscan.sensors.sensor import NameTaken, claim_name
from provscan.store.db import Store, open_store

SITE = "r4-sensor"
#: The silent host's network (loopback): every sensor here allows it and nothing else.
ALLOW = "127.0.44.0/24"
SILENT = "127.0.44.9"


@pytest.fixture(scope="module")
def vhost() -> Iterator[str]:
    with own_vhost() as url:
        yield url


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return write_key(tmp_path / f"{SITE}.key", SITE)


def _sensor(*args: str, **env: str) -> Any:
    done = CliRunner().invoke(app, ["sensor", *args], env=env or None)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done


def _one_line(done: Any, code: int, said: str) -> None:
    assert done.exit_code == code, done.output
    assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_review4_a_sensor_refuses_bad_settings_in_one_line(
    vhost: str, key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    base = ["--site", SITE, "--allow", ALLOW]
    # another site's key (its header names the site)
    other = write_key(tmp_path / "site-b.key", "site-b")
    done = _sensor(*base, "--broker", vhost, "--key", str(other))
    _one_line(done, 2, f"{other} is the key file of site 'site-b', not of '{SITE}'")
    # --allow under scan's scope rules (these addresses are data: nothing is sent anywhere)
    for allow, said in (
        ("0.0.0.0/0", "--allow 0.0.0.0/0: multicast, unspecified or reserved address"),
        ("10.0.0.0/8", "--allow 10.0.0.0/8: outside PROVSCAN_ALLOWED_TARGETS"),
        ("127.0.44.0/24,8.8.8.0/24", "--allow 8.8.8.0/24: public address"),
    ):
        done = _sensor("--site", SITE, "--allow", allow, "--broker", vhost, "--key", str(key))
        _one_line(done, 2, said)
    # a broker URL no transport reads, a wrong password, a virtual host that does not exist
    done = _sensor(*base, "--broker", "http://user:secret@127.0.0.1/", "--key", str(key))
    _one_line(done, 2, "http://127.0.0.1/ is not a broker URL")
    wrong = vhost.replace("guest:guest@", "guest:not-the-password@")
    done = _sensor(*base, "--broker", wrong, "--key", str(key))
    _one_line(done, 1, "ACCESS_REFUSED")
    assert "not-the-password" not in done.stderr
    gone = vhost.rsplit("/", 1)[0] + "/provscan-r4-no-such-vhost"
    done = _sensor(*base, "--broker", gone, "--key", str(key))
    _one_line(done, 1, "vhost provscan-r4-no-such-vhost not found")


def test_review4_key_files_others_can_read_are_warned_about(
    vhost: str, key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    # a password the broker refuses: each command stops there (exit 1), after the warnings
    nobody = vhost.replace("guest:guest@", "guest:refused@")
    for mode, said in ((0o644, "by every user (mode 644)"), (0o640, "by its group")):
        key.chmod(mode)
        done = _sensor("--site", SITE, "--allow", ALLOW, "--broker", nobody, "--key", str(key))
        assert done.exit_code == 1 and f"site key file {key} is readable {said}" in done.stderr
        assert "cannot reach the broker" in done.stderr and "ACCESS_REFUSED" in done.stderr
    # the central warns about its keys the same way
    keys = tmp_path / "keys"
    keys.mkdir()
    write_key(keys / f"{SITE}.key", SITE, mode=0o644)
    done = CliRunner().invoke(
        app,
        ["serve", "--db", str(tmp_path / "c.db"), "--broker", nobody, "--sensor-keys", str(keys)],
    )
    assert done.exit_code == 1 and "cannot reach the broker" in done.stderr
    assert f"site key file {keys / (SITE + '.key')} is readable by every user" in done.stderr
    # a private key file: no warning
    key.chmod(0o600)
    done = _sensor("--site", SITE, "--allow", ALLOW, "--broker", nobody, "--key", str(key))
    assert "warning" not in done.stderr


def test_review4_names_are_held_on_their_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    host = socket.gethostname()
    held: list[int] = []
    try:
        # two sensors of one site on one host, default names: each its own
        for expected in (f"{SITE}/{host}", f"{SITE}/{host}-2", f"{SITE}/{host}-3"):
            name, handle = claim_name(SITE, None)
            assert name == expected and handle is not None
            held.append(handle)
        # a name given twice: the second is refused while the first holds it
        name, handle = claim_name(SITE, "plant/one")
        assert name == "plant/one" and handle is not None
        with pytest.raises(NameTaken) as taken:
            claim_name(SITE, "plant/one")
        assert str(taken.value) == (
            f"a sensor named 'plant/one' already runs on this host (pid {os.getpid()}): stop "
            "it, or give this one another --name"
        )
        # and taken again once the first ends (its lock goes with its descriptor)
        os.close(handle)
        name, handle = claim_name(SITE, "plant/one")
        assert handle is not None
        held.append(handle)
        os.close(held.pop(0))  # site/host is free again: the next default takes it
        name, handle = claim_name(SITE, None)
        assert name == f"{SITE}/{host}" and handle is not None
        held.append(handle)
    finally:
        for handle in held:
            os.close(handle)


class _Silent:
    """A host on loopback whose ports accept and never answer (a scan of it lasts seconds)."""

    def __init__(self, address: str, count: int = 2) -> None:
        self.sockets: list[socket.socket] = []
        self.held: list[socket.socket] = []
        self.ports: list[int] = []
        for _ in range(count):
            listener = socket.socket()
            listener.bind((address, 0))
            listener.listen(64)
            self.sockets.append(listener)
            self.ports.append(listener.getsockname()[1])
            threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        for sock in self.sockets + self.held:
            sock.close()


def _state(store: Store, job_id: str) -> str:
    job = store.fleet().job(job_id)
    assert job is not None
    return job.state


def test_review4_a_second_ctrl_c_gives_the_job_back_and_exits_130(
    vhost: str, key: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "central-keys"
    keys.mkdir()
    (keys / f"{SITE}.key").write_bytes(key.read_bytes())
    (keys / f"{SITE}.key").chmod(0o600)
    silent = _Silent(SILENT)
    sensor = SensorRun(SITE, vhost, ALLOW, key, tmp_path, name=f"{SITE}/one")
    with open_store(f"sqlite:///{tmp_path / 'central.db'}") as store:
        central = Central(store, vhost, SiteKeys(keys))
        central.start(schedules=False)
        try:
            sensor.start()
            wait_for("the sensor", lambda: "ready." in sensor.text(), 60)
            # a second sensor under the same name on this host is refused while it runs
            twin = SensorRun(SITE, vhost, ALLOW, key, tmp_path, name=f"{SITE}/one").run()
            assert twin.returncode == 2, twin.stderr
            assert f"a sensor named '{SITE}/one' already runs on this host" in twin.stderr
            # Given a scan in hand (of a host that never answers)
            job = central.request_scan(SITE, [SILENT], requested_by="r4", ports=silent.ports)
            wait_for("the scan to start", lambda: _state(store, job.id) == "running", 30)
            # When Ctrl-C is pressed twice
            assert sensor.process is not None
            sensor.process.send_signal(signal.SIGINT)
            wait_for("the first Ctrl-C", lambda: "stopping after the job" in sensor.text(), 10)
            sensor.process.send_signal(signal.SIGINT)
            # Then the sensor stops at once, exit 130, the request back in the site's queue
            assert sensor.process.wait(timeout=15) == 130, sensor.text()[-3000:]
            log = sensor.text()
            assert f"job {job.id} given back to the queue" in log
            assert "NotImplementedError" not in log and "Traceback" not in log, log[-3000:]
            assert depth(vhost, site_queue(SITE).name) == 1
            # the job was not recorded as failed (it runs again when a sensor takes it)
            assert _state(store, job.id) == "running"
            # Celery's root warning (a --uid option this command does not have) is reworded
            assert "--uid" not in log
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                assert "the sensor runs as root, which it does not need" in log
            # When the sensor runs again, it takes the request and finishes it; one Ctrl-C
            # then waits for the job in hand, and the exit is 130 again
            again = SensorRun(SITE, vhost, ALLOW, key, tmp_path, name=f"{SITE}/one").start()
            wait_for("the scan to start again", lambda: "received" in again.text(), 60)
            assert again.process is not None
            again.process.send_signal(signal.SIGINT)
            assert again.process.wait(timeout=60) == 130, again.text()[-3000:]
            wait_for("the job to end", lambda: _state(store, job.id) == "done", 30)
        finally:
            sensor.stop()
            central.stop()
            silent.close()


def test_review4_a_request_the_sensor_cannot_verify_is_refused_not_lost(
    vhost: str, key: Path, tmp_path: Path
) -> None:
    # Given the central's key file for the site changed first (the new key signs, the old
    # one, the sensor's, is its second line), a step of a key change done out of order
    keys = tmp_path / "central-keys"
    keys.mkdir()
    old = next(line for line in key.read_text().splitlines() if not line.startswith("#"))
    newer = key_file_text(new_key(), SITE)
    (keys / f"{SITE}.key").write_text(f"{newer}{old}\n")
    (keys / f"{SITE}.key").chmod(0o600)
    sensor = SensorRun(SITE, vhost, ALLOW, key, tmp_path, name=f"{SITE}/two")
    with open_store(f"sqlite:///{tmp_path / 'central.db'}") as store:
        central = Central(store, vhost, SiteKeys(keys))
        central.start(schedules=False)
        try:
            sensor.start()
            wait_for("the sensor", lambda: "ready." in sensor.text(), 60)
            # When a request signed with the new key reaches the sensor
            job = central.request_scan(SITE, [SILENT], requested_by="r4", ports=[9])
            # Then the job does not stay queued: it is refused, saying which key is missing
            wait_for("the job's outcome", lambda: _state(store, job.id) != "queued", 30)
            found = store.fleet().job(job.id)
            assert found is not None and found.state == "refused", found
            assert found.detail is not None
            assert f"sensor {SITE}/two cannot verify the request" in found.detail
            assert f"its key file {key} must hold the key the central signs with" in found.detail
            assert depth(vhost, site_queue(SITE).name) == 0
        finally:
            sensor.stop()
            central.stop()
