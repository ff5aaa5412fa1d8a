"""Shared by the browser tests: a real scan of a small lab (a hostile device among it) in a
throwaway store, the real `provscan serve` over it in a subprocess, and Debian's Chromium
driven by Playwright (no browser download: ``executable_path`` is the system's Chromium)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES, TEST_LIMITS, open_case_on
from sqlalchemy import create_engine, text
from webtools import PASSWORD

from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import ScanResult
from provscan.pipeline import run_scan
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.store.users import ROLES
from provscan.targets import build_targets

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = os.environ.get("PROVSCAN_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
POSTGRES = os.environ.get("PROVSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
#: 127.253.x.y: the browser tests' own lab (see tests/helpers.py for the other octets).
NET = f"127.253.{os.getpid() % 250}"
RANGE = f"{NET}.0/24"
SITE = "head-office"
#: What the hostile device puts in its Server header, page title and firmware version.
MARKUP = '<script>alert("pwn")</script><img src=x id=injected onerror=alert(1)>'
#: The pages are checked against what the scan read (the hostile firmware above all), so the
#: scan must not lose a slow answer on a loaded CI machine: the suite's deadlines, relaxed
#: (five devices, no slow one among them).
PATIENT_LIMITS = dataclasses.replace(
    TEST_LIMITS,
    connect_timeout_s=5.0,
    read_timeout_s=5.0,
    per_connection_deadline_s=15.0,
    per_host_deadline_s=60.0,
)
#: A case made overdue, so the dashboard's overdue number is not trivially zero.
LONG_AGO = "2026-01-01"
OPENED_LONG_AGO = datetime(2025, 12, 1, tzinfo=UTC)
BY_ID = {device.id: device for device in SESSION_DEVICES}


def _at(device_id: str, host: int) -> DeviceSpec:
    return BY_ID[device_id].model_copy(update={"address": f"{NET}.{host}"})


def _hostile(host: int) -> DeviceSpec:
    """A Hikvision PTZ camera (still attributed by its certificate and ONVIF reply) whose
    Server header, page title and firmware version are markup and script."""
    raw = BY_ID["hik-ptz"].model_dump()
    raw.update(id="hostile-markup", address=f"{NET}.{host}")
    raw["identity"]["firmware"] = MARKUP
    for service in raw["services"]:
        if service["protocol"] != "http":
            continue
        for route in service["options"]["routes"]:
            route["headers"] = [
                [name, MARKUP if name == "Server" else value] for name, value in route["headers"]
            ]
            route["body"] = route["body"].replace("<title></title>", f"<title>{MARKUP}</title>")
    return DeviceSpec.model_validate(raw)


HOSTILE_ADDRESS = f"{NET}.14"
LAB = [
    _at("dahua-ipc", 10),
    _at("hik-ipc-g2", 11),
    _at("axis-p3225", 12),
    _at("neg-hp-printer", 13),
    _hostile(14),
]


PORTS = sorted({service.port for device in LAB for service in device.services})


def _in_worker(work: Callable[[], Any]) -> Any:
    """Runs ``work`` in a thread of its own: Playwright's sync API keeps an event loop on the
    main thread, and the lab and the scan each start one."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(work).result()


@pytest.fixture(scope="session")
def browser_lab() -> Iterator[list[DeviceSpec]]:
    """The lab, up for the whole session (the consoles scan it too)."""
    up, down = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            with run_lab_in_thread(LAB):
                up.set()
                down.wait()
        except BaseException as exc:
            failure.append(exc)
            up.set()

    thread = threading.Thread(target=serve, name="browser-lab", daemon=True)
    thread.start()
    up.wait()
    if failure:
        raise failure[0]
    yield LAB
    down.set()
    thread.join(timeout=30)


@pytest.fixture(scope="session")
def browser_lab_scan(browser_lab: list[DeviceSpec]) -> ScanResult:
    """One real scan of the lab over loopback, through the whole pipeline."""
    result: ScanResult = _in_worker(
        lambda: asyncio.run(run_scan(build_targets([RANGE]), [RANGE], PORTS, limits=PATIENT_LIMITS))
    )
    assert {device.ip for device in result.devices} == {device.address for device in LAB}
    return result


def _fill(url: str, result: ScanResult) -> None:
    """The scan (opening a case per restricted device), one overdue case, a user per role."""
    with open_store(url) as store:
        store.save(result, site=SITE, coverage=coverage_ranges([RANGE]))
        first = store.cases()[0]
        # opened before its due date (the store refuses a due date before the opening)
        open_case_on(url, first.id, OPENED_LONG_AGO)
        store.update_case(first.id, actor="test", due=LONG_AGO)
        accounts = store.accounts()
        for role in ROLES:
            accounts.add_user(role, role, PASSWORD, actor="test", address="cli")


def _sqlite_url(directory: Path) -> Iterator[str]:
    yield normalise_db_arg(str(directory / "console.db"))


def _postgres_url() -> Iterator[str]:
    """A throwaway database on the test server, dropped afterwards (skips without one,
    except on CI)."""
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    name = f"provscan_browser_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {POSTGRES}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"provscan serve exited {server.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"provscan serve did not answer within 30 s: {log.read_text()}")


@dataclass(frozen=True)
class Console:
    """A running `provscan serve` and the database under it."""

    backend: str
    url: str
    base_url: str
    #: What the lab's hostile device says in its Server header, title and firmware.
    markup: str = MARKUP
    hostile_address: str = HOSTILE_ADDRESS
    #: The due date of the case the fixture made overdue.
    overdue_since: str = LONG_AGO
    #: The lab (up while the console is), its ports, and the site its scans are stored as.
    lab_addresses: tuple[str, ...] = tuple(device.address for device in LAB)
    lab_ports: tuple[int, ...] = tuple(PORTS)
    site: str = SITE

    def rows(self, sql: str, **values: Any) -> list[tuple[Any, ...]]:
        """Rows read straight from the database (SQL, not the store's code)."""
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql), values)]
        finally:
            engine.dispose()

    def scalar(self, sql: str, **values: Any) -> Any:
        """The one value a query reads straight from the database."""
        [(value,)] = self.rows(sql, **values)
        return value


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def console(
    request: pytest.FixtureRequest,
    browser_lab_scan: ScanResult,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Console]:
    """The real `provscan serve` (uvicorn) on a free loopback port over a filled store."""
    directory = tmp_path_factory.mktemp(f"console-{request.param}")
    urls = _sqlite_url(directory) if request.param == "sqlite" else _postgres_url()
    url = next(urls)
    try:
        _fill(url, browser_lab_scan)
        base_url = f"http://127.0.0.1:{_free_port()}"
        log = directory / "serve.log"
        command = [sys.executable, "-m", "provscan", "serve", "--db", url]
        command += ["--host", "127.0.0.1", "--port", base_url.rsplit(":", 1)[1]]
        with log.open("wb") as output:
            server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_until_serving(base_url, server, log)
            yield Console(request.param, url, base_url)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    finally:
        urls.close()  # drops the PostgreSQL database


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (without its sandbox when running as root, as on CI)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM} (scripts/dev test installs it)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    arguments = ["--no-sandbox"] if os.geteuid() == 0 else []
    for old in SCREENSHOTS.glob("*.png"):  # the artifacts are this run's
        old.unlink()
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=arguments
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh browser context (no cookies) with one page. Fails the test on any dialog and
    on any error the browser logs (a CSP violation, a script error) other than the
    refused responses a test asks for."""
    context = browser.new_context(
        base_url=console.base_url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    opened = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield opened
    context.close()
    assert dialogs == [], f"a page opened a dialog: {dialogs}"
    assert errors == [], f"the browser logged errors: {errors}"


@pytest.fixture
def screenshot(page: Any, console: Console) -> Callable[..., Path | None]:
    """Keeps the whole page, or one element of it (a selector), as a test artifact:
    test-artifacts/screenshots/NAME.png. Taken over SQLite only: the PostgreSQL console
    renders the same pages, and full-page shots of long pages cost seconds."""

    def keep(name: str, element: str | None = None) -> Path | None:
        if console.backend != "sqlite":
            return None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        if element is None:
            page.screenshot(path=str(path), full_page=True)
        else:
            page.locator(element).screenshot(path=str(path))
        return path

    return keep


@pytest.fixture
def log_in(page: Any) -> Callable[[str], None]:
    """Logs ``page`` in through the form, as a person would."""

    def fill_in(name: str) -> None:
        page.goto("/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/")

    return fill_in


@pytest.fixture
def assert_inert(page: Any) -> Callable[[], None]:
    """Checks that the hostile markup is on the page as text only: no element it would have
    made exists (the dialogs it would have opened are checked by ``page``)."""

    def check() -> None:
        assert page.locator("#injected").count() == 0
        assert page.locator("img[src=x]").count() == 0
        scripts = "[...document.scripts].filter(s => s.textContent.includes('pwn')).length"
        assert page.evaluate(scripts) == 0

    return check


@pytest.fixture
def csrf_of(page: Any) -> Callable[[], str]:
    """The session's CSRF token, from the hidden field of the page's log-out form."""

    def read() -> str:
        token: str = page.locator("form.logout input[name=csrf_token]").input_value()
        return token

    return read
