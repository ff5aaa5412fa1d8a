"""The console's server-rendered pages; each names the weakest role it admits (``PAGE_ROLES``).

Jinja2 with autoescape on every template: device text is always escaped. No inline script
or style (the CSP forbids both); one packaged script (``static/console.js``) only enhances
(live scan progress). Every form carries a CSRF token: before login a double-submit cookie,
after it the session's synchronizer token, checked before the form is acted on. Without a
session every page redirects to ``/login``; below the page's role it answers 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import secrets
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from pydantic import ValidationError
from starlette.datastructures import FormData, QueryParams, UploadFile

from provscan.errors import ProvscanError, StoreRequestError
from provscan.model import REVIEW_MEANING
from provscan.report.contract import VERDICTS
from provscan.store.cases import RESTRICTED, SETTABLE, STATES, Case
from provscan.store.inventory import STATUSES
from provscan.store.pages import MAX_PAGE, SORTS, PageFilters, PageWindow
from provscan.store.screenings import FORMATS as SCREEN_FORMATS
from provscan.store.screenings import KEEP_FOR
from provscan.store.sensors import FINAL_STATES
from provscan.store.users import (
    ADDRESS_WINDOW,
    REFUSALS,
    REFUSALS_PER_ADDRESS,
    REFUSALS_TOTAL,
    ROLES,
    SUPPRESSED,
    LoginRefused,
    User,
)
from provscan.web.auth import (
    SESSION_COOKIE,
    Principal,
    client_address,
    record_refusal,
    store_message,
    store_of,
)
from provscan.web.charts import TREND_POINTS, trend_chart

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
#: The double-submit cookie of the login form (there is no session yet).
LOGIN_CSRF_COOKIE = "provscan_login_csrf"
#: Restricted devices listed on the dashboard.
DASHBOARD_DEVICES = 20
#: Rows per devices page offered in its form (the first is the default); a URL may ask for
#: any number from 1 to :data:`MAX_PAGE` (the API's limit), anything else is refused.
PAGE_SIZES = (50, 25, 100, 250)
#: Cases shown in one column of the board (a state's own pages show the rest).
BOARD_COLUMN = 25
#: Cases on one page of a state (keyset pages: the same cost at any depth).
CASE_PAGE = 100
#: Audit entries on one page.
AUDIT_PAGE = 100
#: Screened rows shown on the page (the download has every row).
SHOWN_SCREEN_ROWS = 1000
#: Stored scans listed on the scans page.
STORED_SCANS = 25
#: Scan jobs listed on a site's page and on the scans page.
SITE_JOBS = 50
#: Devices listed on a stored scan's page (its JSON has all of them).
SCAN_DEVICES = 1000
#: Newest stored scans on the dashboard.
DASHBOARD_SCANS = 5
#: Longest text accepted from a filter box.
MAX_FILTER = 200
#: Each verdict as the console names it, and what it means: the words and explanations of
#: the scan table's groups (``provscan scan``, ``provscan inventory``).
VERDICT_WORDS = {
    "restricted": ("restricted", "Restricted", ""),
    "review": ("review", "To review", REVIEW_MEANING),
    "unknown": ("unknown", "Unknown maker", "nothing identified it: check it by hand"),
    "clear": ("clear", "Clear", ""),
}

router = APIRouter(include_in_schema=False)
#: (method, path) -> the weakest role the page admits; None: open to everyone (the login).
PAGE_ROLES: dict[tuple[str, str], str | None] = {}

Handler = TypeVar("Handler", bound=Callable[..., Any])


def page(method: str, path: str, role: str | None) -> Callable[[Handler], Handler]:
    """Register a page for ``role`` and the roles above it (recorded in :data:`PAGE_ROLES`,
    which the tests enumerate)."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def register(handler: Handler) -> Handler:
        PAGE_ROLES[(method, path)] = role
        router.api_route(path, methods=[method])(handler)
        return handler

    return register


# --- rendering ---------------------------------------------------------------------------


def _path_part(value: object) -> str:
    """A value made safe to put in a URL path segment."""
    return quote(str(value), safe="")


def _pretty(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _key_address(key: object) -> str:
    """The address an inventory address key stands for (``store.inventory.address_key``)."""
    text = str(key)
    try:
        if text[:1] == "4" and len(text) == 9:
            return str(ipaddress.IPv4Address(int(text[1:], 16)))
        if text[:1] == "6" and len(text) == 33:
            return str(ipaddress.IPv6Address(int(text[1:], 16)))
    except ValueError:
        pass
    return text


@cache
def _templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    environment.filters["path"] = _path_part
    environment.filters["pretty"] = _pretty
    environment.filters["address"] = _key_address
    return environment


#: Messages a redirect may ask a page to show (``?done=KEY``); nothing else is echoed.
DONE = {
    "case": "The case was updated.",
    "case-overdue": "The case was updated. Its due date has already passed: it is overdue.",
    "user-added": "The user was added.",
    "role": "The role was changed.",
    "disabled": "The account was disabled; its sessions and API tokens ended.",
    "enabled": "The account was enabled.",
    "password": "Your password was changed; your other sessions ended.",
    "schedule-added": "The schedule was added.",
    "schedule-removed": "The schedule was removed; the scans it sent stay.",
}


@dataclass(frozen=True)
class Visitor:
    """The logged-in user of a page and the session's CSRF token."""

    user: User
    csrf: str


def _render(
    request: Request,
    name: str,
    visitor: Visitor | None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    done = DONE.get(request.query_params.get("done", ""))
    html = (
        _templates()
        .get_template(name)
        .render(
            user=visitor.user if visitor else None,
            csrf=visitor.csrf if visitor else None,
            here=request.url.path,
            done=done,
            **values,
        )
    )
    return HTMLResponse(html, status_code=status)


def _refused(request: Request, visitor: Visitor, status: int, message: str) -> HTMLResponse:
    titles = {400: "Not done", 403: "Not allowed", 404: "Not found"}
    return _render(
        request,
        "problem.html.j2",
        visitor,
        status,
        title=titles.get(status, "Problem"),
        problem=message,
    )


#: What an error page says for the errors raised outside a page (no route, a wrong method).
_ERRORS = {
    404: ("Not found", "There is no page at this address."),
    405: ("Not a page", "This address is a form's target: it does not answer a {method} request."),
    400: ("Not done", "The request could not be read."),
    413: ("Too large", "The request is too large."),
    503: ("Not available", "The store could not answer; try again later."),
    500: ("Problem", "Something went wrong on the server; the server's log has the details."),
}


def error_page(request: Request, status: int, detail: object = None) -> HTMLResponse:
    """An error of a console address (not /api) as a page, with the console's menu when a
    session is open: a missing page, a wrong method, a store that cannot answer. ``detail``:
    a message meant for people (a string, shown as it is: braces are text), else the
    standard one for ``status``."""
    title, said = _ERRORS.get(status, ("Problem", "The request was refused."))
    # only the standard messages are templates ({method}); a detail is never formatted
    said = said.format(method=request.method[:10])
    if isinstance(detail, str) and status not in (404, 405, 500, 503):
        said = detail
    user, csrf = None, None
    if status < 500:  # the store may be the problem: no session is looked up then
        try:
            found = _session(request)
        except Exception:  # an error page must not fail in turn
            found = None
        if found is not None:
            user, csrf = found
    html = (
        _templates()
        .get_template("problem.html.j2")
        .render(
            title=title,
            problem=said,
            user=user,
            csrf=csrf,
            here=request.url.path,
            done=None,
        )
    )
    return HTMLResponse(html, status_code=status)


def _to_login() -> Response:
    return RedirectResponse("/login", status_code=303)


def _session(request: Request) -> tuple[User, str] | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return store_of(request).accounts().session_user(cookie) if cookie else None


def _visitor(request: Request, role: str) -> Visitor | Response:
    """The visitor of a GET page, or the answer instead of it (login, 403)."""
    found = _session(request)
    if found is None:
        return _to_login()
    visitor = Visitor(*found)
    if not visitor.user.can(role):
        return _refused(request, visitor, 403, f"This page needs the {role} role.")
    return visitor


async def _posted(request: Request, role: str) -> tuple[Visitor, FormData] | Response:
    """The visitor and form of a POST, or the answer instead of acting on it: login without
    a session, 403 without the session's CSRF token or below ``role``."""
    found = await run_in_threadpool(_session, request)
    if found is None:
        return _to_login()
    visitor = Visitor(*found)
    form = await request.form()
    sent = form.get("csrf_token")
    problem = None
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), visitor.csrf.encode()):
        problem = (
            "The form did not carry this session's token (it expired, or it did not come "
            "from this console). Reload the page and try again."
        )
        refusal: tuple[str, dict[str, str]] = ("refused.csrf", {})
    elif not visitor.user.can(role):
        problem = f"This needs the {role} role."
        refusal = ("refused.role", {"role": visitor.user.role, "needs": role})
    if problem is not None:
        await form.close()  # an upload is a temporary file: closed now, not left to the GC
        # the refusal is an audit row (within the store's budget for refusals)
        await run_in_threadpool(record_refusal, request, visitor.user.name, *refusal)
        return _refused(request, visitor, 403, problem)
    return visitor, form


def problem_with_parameters(params: QueryParams, known: tuple[str, ...]) -> str | None:
    """What is wrong with a list page's query parameters, in one line (None: nothing): one
    the page does not take (a misspelt filter must not read as "no filter" and list every
    row), or one given twice; the API's rule (:func:`provscan.web.auth.known_query`)."""
    unknown = sorted(set(params) - set(known))
    if unknown:
        names = ", ".join(repr(name[:40]) for name in unknown[:5])
        takes = f"this page takes {', '.join(known)}" if known else "this page takes none"
        return f"unknown parameter{'s' if len(unknown) > 1 else ''} {names}: {takes}"
    repeated = sorted({name for name, _ in params.multi_items() if len(params.getlist(name)) > 1})
    if repeated:
        names = ", ".join(repr(name[:40]) for name in repeated[:5])
        return f"parameter {names} given more than once: each takes one value"
    return None


def _text(form: FormData | Mapping[str, Any], name: str, limit: int = MAX_FILTER) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _console_words(text: str) -> str:
    """A store message in the web's words, not the CLI's (:func:`provscan.web.api.api_words`:
    one table of the command line's options for the API and the console)."""
    from provscan.web.api import api_words

    return api_words(text)


def _said(exc: Exception, request: Request) -> str:
    """A store message as the console shows it: without the database it names
    (:func:`provscan.web.auth.store_message`), in the console's words, not the CLI's."""
    return _console_words(store_message(exc, request))


def _back(path: str, done: str, anchor: str = "") -> Response:
    return RedirectResponse(f"{path}?{urlencode({'done': done})}{anchor}", status_code=303)


# --- login, logout, dashboard ------------------------------------------------------------


def _login_page(request: Request, problem: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = (
        _templates()
        .get_template("login.html.j2")
        .render(title="Log in", user=None, csrf=token, problem=problem, here="/login", done=None)
    )
    answer = HTMLResponse(response, status_code=status)
    answer.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.tls),
        path="/login",
    )
    return answer


@page("GET", "/login", None)
def login_form(request: Request) -> Response:
    return _login_page(request)


@page("POST", "/login", None)
async def login(request: Request) -> Response:
    form = await request.form()
    sent, expected = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        named = str(form.get("name", ""))[:64] or None
        await run_in_threadpool(
            lambda: (
                store_of(request)
                .accounts()
                .refused(
                    "-",
                    "refused.login-form",
                    client_address(request),
                    named,
                    {"method": "POST", "path": "/login"},
                )
            )
        )
        return _login_page(request, "The form expired; please try again.", 403)
    accounts = store_of(request).accounts()
    address = client_address(request)
    try:
        user = await run_in_threadpool(
            accounts.authenticate,
            str(form.get("name", ""))[:64],
            str(form.get("password", ""))[:1024],
            address=address,
        )
    except LoginRefused as exc:
        problem = (
            "Too many failed logins; try again later."
            if exc.throttled
            else "Wrong user name or password."
        )
        return _login_page(request, problem, 429 if exc.throttled else 401)
    cookie, _ = await run_in_threadpool(accounts.open_session, user, address=address)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.tls),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@page("POST", "/logout", "viewer")
async def logout(request: Request) -> Response:
    posted = await _posted(request, "viewer")
    if isinstance(posted, Response):
        if posted.status_code == 303:  # nothing to log out of
            posted.delete_cookie(SESSION_COOKIE, path="/")
        return posted
    visitor, _ = posted
    await run_in_threadpool(
        store_of(request).accounts().close_session,
        request.cookies[SESSION_COOKIE],
        actor=visitor.user.name,
        address=client_address(request),
    )
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@page("GET", "/", "viewer")
def dashboard(request: Request) -> Response:
    """The dashboard: totals, restricted devices by maker and site, the first of them, the
    newest scans."""
    from provscan.knowledge.packs import active_pack

    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    store = store_of(request)
    # the restricted devices the headline counts (remaining: not gone, their case not
    # verified), by the one rule the compliance report's "now" point counts with
    devices, _ = store.inventory_page(
        None, DASHBOARD_DEVICES, PageFilters(restricted=True, remaining=True)
    )
    pack = active_pack()
    # ending on the headline's numbers (a now point when changes since the newest scan moved
    # them), as the compliance report's trend does
    points, parties = store.trend(TREND_POINTS, until_now=True)
    # The verdicts and their "binding" are the stored ones, judged at scan time for the party
    # each scan names (as the compliance report says); the console's own party judges only
    # the scans and screenings it starts.
    stored = sorted({_party_text(party) for party in parties})
    console_party = _console_party()
    return _render(
        request,
        "dashboard.html.j2",
        visitor,
        title="Dashboard",
        counts=store.dashboard(),
        jurisdictions=store.restricted_by_jurisdiction(),
        judged_for=stored or [console_party],
        console_party=console_party,
        chart=trend_chart(points),
        trend=points,
        devices=devices,
        scans=store.scans(DASHBOARD_SCANS),
        knowledge={"version": pack.version, "as_of": pack.as_of},
    )


def _party_text(stored: str) -> str:
    """Whom a scan was judged for, from its stored ``acting_as`` (comma-separated)."""
    from provscan.compliance.facts import judged_for_text

    return judged_for_text([party for party in stored.split(",") if party])


def _console_party() -> str:
    """Whom the console judges for: the config file's ``[organisation] as`` (the scans it
    starts and the lists it screens use it), else the default reading."""
    from provscan.config import load_config

    try:
        return _party_text(",".join(load_config().organisation.acting_as))
    except ProvscanError:
        return "(the configuration file could not be read)"


# --- devices -----------------------------------------------------------------------------


#: The query parameters of the devices page (and of its export, with ``format``).
DEVICE_PARAMETERS = (
    "q",
    "site",
    "maker",
    "verdict",
    "restricted",
    "remaining",
    "status",
    "sort",
    "limit",
    "cursor",
    "before",
)


@dataclass(frozen=True)
class DeviceQuery:
    """The devices page's filters, order and position, read from (and written to) its URL."""

    q: str = ""
    site: str = ""
    maker: str = ""
    #: "", or one of the verdicts (restricted, review, unknown, clear).
    verdict: str = ""
    #: "", "yes", "no": the filter before the verdict one (links made then keep working).
    restricted: str = ""
    #: "", "yes": only the restricted devices that remain (not gone, their case not
    #: verified): the dashboard's "N restricted" links here.
    remaining: str = ""
    status: str = ""
    sort: str = "site"
    limit: int = PAGE_SIZES[0]
    #: The page after this cursor, or (``before``) the page that ends just before it.
    cursor: str = ""
    before: str = ""

    @classmethod
    def read(
        cls, params: QueryParams, extra: tuple[str, ...] = ()
    ) -> tuple[DeviceQuery, str | None]:
        """The query the URL asks for, and what is wrong with it (None: nothing): an unknown
        parameter, an unknown verdict, status or order, a size that is not a whole number of
        rows up to :data:`MAX_PAGE`. A misspelt filter is refused, never read as "no filter"
        (the API refuses it too); the query returned keeps the values that could be read, for
        the form. ``extra``: the other parameters the page takes (the export's format)."""
        problems: list[str] = []
        known = problem_with_parameters(params, (*DEVICE_PARAMETERS, *extra))
        if known:
            problems.append(known)

        def pick(name: str, allowed: tuple[str, ...], what: str, listed: str = "") -> str:
            value = params.get(name, "")
            if value in allowed:
                return value
            shown = listed or ", ".join(v for v in allowed if v)
            problems.append(f"unknown {what} {value[:40]!r} (one of {shown})")
            return allowed[0]

        sorts = tuple(SORTS) + tuple(f"-{name}" for name in SORTS)
        limit_text = params.get("limit", "").strip()
        limit = DeviceQuery.limit
        if limit_text:
            if limit_text.isdigit() and 1 <= int(limit_text) <= MAX_PAGE:
                limit = int(limit_text)
            else:
                problems.append(
                    f"rows per page must be a whole number from 1 to {MAX_PAGE}, "
                    f"not {limit_text[:20]!r}"
                )
        query = cls(
            q=_text(params, "q"),
            site=_text(params, "site"),
            maker=_text(params, "maker"),
            verdict=pick("verdict", ("", *VERDICTS), "verdict"),
            restricted=pick("restricted", ("", "yes", "no"), "restricted filter"),
            remaining=pick("remaining", ("", "yes"), "remaining filter", "yes, or empty"),
            status=pick("status", ("", *STATUSES), "status"),
            sort=pick("sort", ("", *sorts), "order", f"{', '.join(SORTS)}, or -name to reverse")
            or "site",
            limit=limit,
            cursor=params.get("cursor", "")[:2000],
            before="" if params.get("cursor") else params.get("before", "")[:2000],
        )
        return query, problems[0] if problems else None

    def filters(self) -> PageFilters:
        return PageFilters(
            restricted={"yes": True, "no": False}.get(self.restricted),
            site=self.site or None,
            status=self.status or None,
            q=self.q or None,
            manufacturer=self.maker or None,
            sort=self.sort,
            verdict=self.verdict or None,
            remaining=self.remaining == "yes",
        )

    def url(self, path: str = "/devices", **changes: Any) -> str:
        """This query's URL with ``changes`` (a new filter or order starts at page one; a
        page after one cursor is not also before another)."""
        if set(changes) - {"cursor", "before"}:
            changes.setdefault("cursor", "")
            changes.setdefault("before", "")
        elif "cursor" in changes:
            changes.setdefault("before", "")
        elif "before" in changes:
            changes.setdefault("cursor", "")
        values = replace(self, **changes)
        defaults = DeviceQuery()
        pairs = [
            (name, getattr(values, name))
            for name in DEVICE_PARAMETERS
            if getattr(values, name) != getattr(defaults, name)
        ]
        return f"{path}?{urlencode(pairs)}" if pairs else path

    def sort_link(self, name: str) -> str:
        """The URL that sorts by ``name``: ascending first, then the other way."""
        return self.url(sort=f"-{name}" if self.sort == name else name)

    def sorted_as(self, name: str) -> str | None:
        """``aria-sort`` of the column ``name``."""
        if self.sort == name:
            return "ascending"
        return "descending" if self.sort == f"-{name}" else None

    def export(self, fmt: str) -> str:
        """The download of every device this query matches, in ``fmt``."""
        whole = replace(self, cursor="", before="", limit=PAGE_SIZES[0]).url(
            "/devices/export", cursor=""
        )
        return f"{whole}{'&' if '?' in whole else '?'}{urlencode({'format': fmt})}"


@page("GET", "/devices", "viewer")
def devices(request: Request) -> Response:
    """The inventory a page at a time (keyset pages both ways: "next" reads after the last
    device, "previous" before the first): filters, search, order, export."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    query, problem = DeviceQuery.read(request.query_params)
    store = store_of(request)
    status = 200 if problem is None else 400
    window, total = PageWindow([], None, None), None
    if problem is None:
        try:  # a mistyped site is not a site with no device (the CLI refuses it too)
            store.require_site(query.site or None)
        except StoreRequestError as exc:
            problem, status = _said(exc, request), 404
    # A refused query lists nothing: no table, no export, no pages. (A damaged cursor is
    # only a page that cannot be read: the table says so; "first page" reads the query.)
    refused = problem is not None
    if problem is None:
        try:
            window = store.inventory_window(
                query.limit,
                query.filters(),
                after=query.cursor or None,
                before=query.before or None,
            )
            total = store.inventory_count(query.filters())
        except StoreRequestError as exc:
            problem, status = _said(exc, request), 400
    return _render(
        request,
        "devices.html.j2",
        visitor,
        status,
        title="Devices",
        query=query,
        devices=window.devices,
        next_url=query.url(cursor=window.next) if window.next else None,
        previous_url=query.url(before=window.previous) if window.previous else None,
        first_page=window.previous is None and status != 400,  # 400: a bad cursor
        choices=store.device_choices(),
        statuses=STATUSES,
        verdicts=VERDICT_WORDS,
        page_sizes=sorted({*PAGE_SIZES, query.limit}),
        problem=problem,
        refused=refused,
        total=total,
    )


def _all_devices(request: Request, query: DeviceQuery) -> Iterator[dict[str, Any]]:
    """Every device the query matches, read a full page at a time."""
    store = store_of(request)
    after: str | None = None
    while True:
        found, after = store.inventory_page(after, MAX_PAGE, query.filters())
        yield from found
        if after is None:
            return


@page("GET", "/devices/export", "viewer")
def export_devices(request: Request) -> Response:
    """The devices the page's filters match, all of them, as CSV or JSON (a download)."""
    from provscan.compliance.render import INVENTORY_COLUMNS, csv_text, inventory_csv_rows

    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    query, problem = DeviceQuery.read(request.query_params, ("format",))
    if problem is not None:
        return _refused(request, visitor, 400, f"Nothing was exported: {problem}.")
    fmt = request.query_params.get("format", "csv")
    if fmt not in ("csv", "json"):
        return _refused(request, visitor, 400, "The export is CSV or JSON.")
    try:
        store_of(request).require_site(query.site or None)
    except StoreRequestError as exc:
        return _refused(request, visitor, 404, _said(exc, request))
    try:
        found = list(_all_devices(request, query))
    except StoreRequestError as exc:
        return _refused(request, visitor, 400, _said(exc, request))
    if fmt == "csv":
        body = csv_text(INVENTORY_COLUMNS, inventory_csv_rows(found)).encode("utf-8")
        media = "text/csv; charset=utf-8"
    else:
        body = json.dumps({"devices": found, "next": None}, ensure_ascii=False).encode("utf-8")
        media = "application/json"
    return Response(
        body,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="provscan-devices.{fmt}"'},
    )


def _safe_link(url: object) -> str | None:
    """A reference worth linking (http or https); anything else is shown as text."""
    return url if isinstance(url, str) and re.match(r"https?://", url) else None


@page("GET", "/devices/{device_id}", "viewer")
def device_page(request: Request, device_id: str) -> Response:
    """One device: identity with its evidence, findings with citations, posture, cases."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    return _device_answer(request, visitor, device_id[:64])


def _in_force_later(findings: list[Any], section: Any) -> dict[tuple[str, str], str]:
    """(policy, measure) -> its day, for the findings of measures not in force on the scan's
    day that bind the party it was judged for once they are: the page says "from DAY" for
    them, not that they bind nobody (the active knowledge's measures)."""
    from provscan.policy.evaluate import binds_once_in_force, not_yet_in_force

    on = section.started_at.date()
    pending = [
        f
        for f in findings
        if isinstance(f, Mapping)
        and f.get("binding") is False
        and not_yet_in_force(str(f.get("effective")), on)
    ]
    if not pending:
        return {}
    from provscan.knowledge.loader import load_knowledge

    knowledge = load_knowledge()
    ids = [policy for policy in section.policies if policy in knowledge.policies]
    policies = knowledge.select_policies(ids or None)
    return {
        (str(f.get("policy")), str(f.get("measure"))): str(f.get("effective"))
        for f in pending
        if binds_once_in_force(f, policies, section.acting_as, on)
    }


def _device_answer(
    request: Request,
    visitor: Visitor,
    device_id: str,
    *,
    problem: str | None = None,
    status: int = 200,
    failed_case: int | None = None,
) -> Response:
    from provscan.model import finding_restricts
    from provscan.policy.evaluate import REVIEW_NOTE_PREFIX

    try:
        # the sighting the verdict comes from, so that the evidence shown is what the verdict
        # was made of (not a newer sighting that identified nothing: a capture of resets)
        device, evidence, cases = store_of(request).device_evidence(device_id)
        # the covering scans that did not see it since, counted on after it is gone
        absence = store_of(request).absence(device_id) if device.status != "present" else None
    except StoreRequestError:
        return _refused(request, visitor, 404, "There is no such device.")
    document = evidence.document
    findings = document.get("findings") or list(device.findings)
    binding = [f for f in findings if finding_restricts(f)]
    active = [case for case in cases if case.status != "verified"]
    later: dict[tuple[str, str], str] = {}
    try:  # whom the scan the verdict comes from judged it for (its --as)
        section = store_of(request).scan_section(evidence.source.scan_id)
        judged_for = _party_text(",".join(section.acting_as))
        later = _in_force_later(findings, section)
    except ProvscanError:
        judged_for = "the party its scan was judged for"
    later_days: dict[str, str] = {}  # policy -> the first day one of its measures binds
    for (policy, _), day in later.items():
        later_days[policy] = min(day, later_days.get(policy, day))
    # Why a device is to review, as the scan table says it under "To review".
    review_reasons = [
        note.removeprefix(REVIEW_NOTE_PREFIX)
        for note in document.get("notes") or []
        if isinstance(note, str) and note.startswith(REVIEW_NOTE_PREFIX)
    ]
    return _render(
        request,
        "device.html.j2",
        visitor,
        status,
        title=f"Device {device.ip}",
        device=device,
        document=document,
        evidence=evidence,
        absence=absence,
        cases=cases,
        binding=binding,
        others=len(findings) - len(binding),
        later=later,
        later_days=later_days,
        verdict_words=VERDICT_WORDS,
        review_reasons=review_reasons if device.verdict == "review" else [],
        summary_cases=active or cases[-1:],
        priority_one=[r for r in document.get("remediation") or [] if r.get("priority") == 1],
        judged_for=judged_for,
        case_states={case.id: _case_choices(case) for case in cases},
        can_edit=visitor.user.can("analyst"),
        problem=problem,
        failed_case=failed_case,
        safe_link=_safe_link,
        matched_by=_matched_by(device.match_rule),
    )


def _case_choices(case: Case) -> tuple[str, ...]:
    """The states a person can move ``case`` to now (its own first among them): any but
    ``verified``, which only a scan's proof sets, except for a restricted-maker case marked
    removed or replaced, which a person may ask to verify (refused without a complete scan
    since the device was last seen that proves it gone)."""
    offered = [state for state in SETTABLE if state != "verified"]
    if case.status == "verified" or (
        case.subject == RESTRICTED and case.status in ("removed", "replaced")
    ):
        offered.append("verified")
    return tuple(offered)


#: The inventory's match rules (provscan.store.inventory) in words, part by part.
_MATCH_PARTS = {
    "mac": "MAC address",
    "serial": "serial number",
    "address": "address at its site",
    "maker": "maker",
    "model": "model",
}


def _matched_by(rule: str) -> str:
    """How the inventory tells this device from the others across scans: ``new`` (no
    earlier sighting matched it) or what matched (``mac``, ``address+maker+model`` ...)."""
    if rule == "new":
        return "a new device: no earlier sighting matched it"
    parts = [_MATCH_PARTS.get(part, part) for part in rule.split("+")]
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"matched to its earlier sightings by {listed}"


# --- cases -------------------------------------------------------------------------------


def _case_number(text: str) -> int | None:
    return int(text) if text.isdigit() and 1 <= int(text) <= 2**31 - 1 else None


@page("GET", "/cases/{case_id}", "viewer")
def case_page(request: Request, case_id: str) -> Response:
    """A case by its number: its place on its device's page (where it is shown and changed)."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    number = _case_number(case_id)
    try:
        if number is None:
            raise StoreRequestError("no such case")
        case = store_of(request).case(number)
    except StoreRequestError:
        return _refused(request, visitor, 404, "There is no such case.")
    return RedirectResponse(
        f"/devices/{_path_part(case.device_id)}#case-{case.id}", status_code=303
    )


@page("POST", "/cases/{case_id}", "analyst")
async def update_case(request: Request, case_id: str) -> Response:
    """The device page's case form: status, owner, due date, a note (one audited change)."""
    posted = await _posted(request, "analyst")
    if isinstance(posted, Response):
        return posted
    visitor, form = posted
    number = _case_number(case_id)
    store = store_of(request)
    try:
        if number is None:
            raise StoreRequestError("no such case")
        case = await run_in_threadpool(store.case, number)
    except StoreRequestError:
        return _refused(request, visitor, 404, "There is no such case.")
    limits = {"status": 16, "owner": 200, "due": 10, "note": 4000}
    values = {name: _text(form, name, 5000) for name in limits}
    too_long = [name for name, limit in limits.items() if len(values[name]) > limit]
    try:
        if too_long:
            raise StoreRequestError(f"the {too_long[0]} is longer than {limits[too_long[0]]}")
        # The store's rule: a due date before the case was opened is refused, a past one
        # after it is accepted and said to make the case overdue.
        changed = await run_in_threadpool(
            lambda: store.update_case(
                case.id,
                actor=visitor.user.name,
                status=values["status"] or None,
                owner=values["owner"] or None,
                due=values["due"] or None,
                note=values["note"] or None,
                address=client_address(request),
            )
        )
    except StoreRequestError as exc:
        problem = f"Case {case.id} was not changed: {_said(exc, request)}"
        return await run_in_threadpool(
            lambda: _device_answer(
                request,
                visitor,
                case.device_id,
                problem=problem,
                status=400,
                failed_case=case.id,
            )
        )
    request.app.state.alerts.kick()  # its case.updated event to the sinks
    done = "case-overdue" if values["due"] and changed.overdue else "case"
    return _back(f"/devices/{_path_part(case.device_id)}", done, f"#case-{case.id}")


#: The query parameters of the cases board.
CASE_PARAMETERS = ("state", "site", "overdue", "after")
#: The states of an active case (not verified): the dashboard's "active cases".
ACTIVE_STATES = tuple(state for state in STATES if state != "verified")


def _case_query(params: QueryParams) -> tuple[str, str | None, bool, str, str | None]:
    """The board's state, site, overdue filter and cursor, and what is wrong with them (None:
    nothing): an unknown parameter, state or overdue value, or a cursor without its state
    are refused, never read as the whole board."""
    problem = problem_with_parameters(params, CASE_PARAMETERS)
    state = params.get("state", "")
    overdue = params.get("overdue", "")
    after = params.get("after", "")[:200]
    if problem is None and state and state not in STATES:
        problem = f"unknown case state {state[:40]!r} (one of {', '.join(STATES)})"
    if problem is None and overdue not in ("", "yes"):
        problem = f"unknown overdue filter {overdue[:40]!r} (yes, or empty)"
    if problem is None and overdue and state == "verified":
        problem = "a verified case is never overdue: choose another state"
    if problem is None and after and not state:
        problem = "'after' pages one state's cases: give the state too"
    return state, _text(params, "site", 64) or None, overdue == "yes", after, problem


@page("GET", "/cases", "viewer")
def cases_board(request: Request) -> Response:
    """Cases by state, overdue first, then by due date: the board shows the first
    :data:`BOARD_COLUMN` of each state, one state's page (``?state=``) :data:`CASE_PAGE` at a
    time (keyset: ``after`` names the last case of the page before); ``site`` keeps to the
    devices of one site, on the board and on every page; ``overdue=yes`` to the overdue cases
    (they come first in every state, so their pages are the first pages cut where the overdue
    ones end)."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    state, site, overdue, after, problem = _case_query(request.query_params)
    one_state = bool(state) and problem is None
    store = store_of(request)
    columns: list[dict[str, Any]] = []
    status = 200 if problem is None else 400
    if problem is None:
        try:  # a mistyped site is not a site with no case (the API and the devices page agree)
            store.require_site(site)
        except StoreRequestError as exc:
            problem, status = _said(exc, request), 404
    refused = problem is not None
    counts = store.case_counts(site) if not refused else {}
    shown_states = (state,) if one_state else ACTIVE_STATES if overdue else STATES
    for name in () if refused else shown_states:
        in_state, late = counts.get(name, (0, 0))
        try:
            found = store.cases_page(
                name,
                limit=CASE_PAGE if one_state else BOARD_COLUMN,
                after=after or None,
                site=site,
                counts=(in_state, late),
            )
        except StoreRequestError as exc:
            problem, status = _said(exc, request), 400
            found = store.cases_page(name, limit=CASE_PAGE, site=site, counts=(in_state, late))
        cases, following = found.cases, found.next
        if overdue:  # overdue cases come first: the page ends where they do
            cases = [case for case in found.cases if case.overdue]
            following = following if len(cases) == len(found.cases) else None
        query = {
            "state": name,
            **({"site": site} if site else {}),
            **({"overdue": "yes"} if overdue else {}),
        }
        columns.append(
            {
                "state": name,
                "count": late if overdue else in_state,
                "overdue": late,
                "cases": cases,
                "all_url": f"/cases?{urlencode(query)}",
                "next_url": f"/cases?{urlencode({**query, 'after': following})}"
                if one_state and following
                else None,
            }
        )
    on_board = {case.device_id for column in columns for case in column["cases"]}
    where = {"site": site} if site and status != 404 else {}
    title = "Overdue cases" if overdue and not refused else "Cases"
    if one_state:
        title += f": {state}"
    active = sum(n for name, (n, _) in counts.items() if name != "verified")
    late_total = sum(late for _, late in counts.values())
    return _render(
        request,
        "cases.html.j2",
        visitor,
        status,
        title=title + (f" at {site}" if where else ""),
        columns=columns,
        places=store.device_places(on_board),
        one_state=one_state,
        state=state if one_state else "",
        site=site or "",
        sites=store.device_choices()["sites"],
        later_page=bool(after) and status == 200,
        first_url=f"/cases?{urlencode({'state': state, **where, **_yes(overdue)})}",
        board_url=f"/cases?{urlencode({**where, **_yes(overdue)})}"
        if where or overdue
        else "/cases",
        overdue=overdue and not refused,
        overdue_url=f"/cases?{urlencode({**where, 'overdue': 'yes'})}",
        every_url=f"/cases?{urlencode(where)}" if where else "/cases",
        active=active,
        late_total=late_total,
        refused=refused,
        problem=problem,
    )


def _yes(overdue: bool) -> dict[str, str]:
    return {"overdue": "yes"} if overdue else {}


# --- scans -------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text) if part]


@page("GET", "/scans", "viewer")
def scans(request: Request) -> Response:
    """Stored scans, running jobs, and (analyst) the form that starts a scan."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    problem = problem_with_parameters(request.query_params, ())
    if problem is not None:  # no filter is a list of every scan: not what was asked
        return _refused(request, visitor, 400, f"The scans page lists nothing for this: {problem}.")
    return _scans_answer(request, visitor)


def _scans_answer(
    request: Request,
    visitor: Visitor,
    problem: str | None = None,
    status: int = 200,
    asked: Mapping[str, str] | None = None,
) -> Response:
    jobs = request.app.state.scan_jobs
    with jobs.lock:
        running = [job.to_json() for job in jobs.jobs.values()]
    store = store_of(request)
    fleet = store.fleet()
    return _render(
        request,
        "scans.html.j2",
        visitor,
        status,
        title="Scans",
        scans=store.scans(STORED_SCANS),
        jobs=running,
        site_jobs=[job.to_json() for job in fleet.jobs(limit=SITE_JOBS)],
        sites=_sites(request),
        central=request.app.state.central is not None,
        can_start=visitor.user.can("analyst"),
        problem=problem,
        asked=asked or {},
    )


@page("POST", "/scans", "analyst")
async def start_scan(request: Request) -> Response:
    """Start a scan through the API's own route (the same scope rules, one at a time)."""
    from provscan.web.api import StartScan, UnknownScanSite
    from provscan.web.api import start_scan as api_start_scan

    posted = await _posted(request, "analyst")
    if isinstance(posted, Response):
        return posted
    visitor, form = posted
    asked = {name: _text(form, name, 5000) for name in ("targets", "ports", "site", "new_site")}
    try:
        ports = [int(port) for port in _split(asked["ports"])] or None
        start = StartScan(
            targets=_split(asked["targets"]),
            ports=ports,
            site=asked["site"] or None,
            new_site=asked["new_site"] == "1",
        )
    except (ValueError, ValidationError):
        return await run_in_threadpool(
            _scans_answer,
            request,
            visitor,
            "Give one to 64 addresses, networks or ranges, and ports as numbers 1-65535.",
            400,
            asked,
        )
    try:
        job = await run_in_threadpool(
            api_start_scan, Principal(visitor.user, "session"), request, start
        )
    except UnknownScanSite as exc:
        # the API's answer names its JSON field; a person ticks the form's box
        said = exc.message('tick "a new site"')
        return await run_in_threadpool(
            _scans_answer, request, visitor, said, exc.status_code, asked
        )
    except HTTPException as exc:
        return await run_in_threadpool(
            _scans_answer, request, visitor, str(exc.detail), exc.status_code, asked
        )
    return RedirectResponse(f"/scans/jobs/{_path_part(job['id'])}", status_code=303)


@page("GET", "/scans/jobs/{job_id}", "viewer")
def scan_job(request: Request, job_id: str) -> Response:
    """A scan's progress: the events so far; live with the script, refreshed without it."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    job = request.app.state.scan_jobs.get(job_id[:64])
    if job is None:
        return _site_job(request, visitor, job_id[:64])
    events, ended = job.since(0)
    hosts = next((event.get("hosts") for event in events if event["event"] == "started"), None)
    return _render(
        request,
        "scan_job.html.j2",
        visitor,
        title="Scan progress",
        job=job.to_json(),
        events=events,
        ended=ended,
        hosts=hosts,
        done_hosts=sum(event["event"] == "host" for event in events),
        # hosts that did not answer (no open port) are one line, not one each: a /24 has
        # hundreds, and they would bury the few finds
        silent=sum(event["event"] == "host" and not event.get("found") for event in events),
        events_url=f"/api/v1/scans/jobs/{_path_part(job.id)}/events",
    )


def _site_job(request: Request, visitor: Visitor, job_id: str) -> Response:
    """A scan sent to a site's sensor: its state as the store has it (no event stream)."""
    fleet = getattr(store_of(request), "fleet", None)
    found = fleet().job(job_id) if fleet is not None else None
    if found is None:
        return _refused(
            request, visitor, 404, "There is no such scan job (a restart forgets them)."
        )
    job = found.to_json()
    return _render(
        request,
        "scan_job.html.j2",
        visitor,
        title="Scan progress",
        job=job,
        events=[],
        ended=job.get("state") in FINAL_STATES,
        hosts=None,
        done_hosts=0,
        silent=0,
        events_url=None,
    )


@page("GET", "/scans/{scan_id}", "viewer")
def stored_scan(request: Request, scan_id: str) -> Response:
    """One stored scan: its summary, notes and devices (each linked to the inventory)."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    store = store_of(request)
    try:
        scan = store.scan_summary(scan_id[:64])
        document = store.load(scan.id)
        sighted = store.sightings(scan.id)
    except StoreRequestError as exc:
        return _refused(request, visitor, 404, _said(exc, request))
    devices = [
        {**device.model_dump(mode="json"), "device_id": sighted.get(position, (None, ""))[0]}
        for position, device in enumerate(document.devices[:SCAN_DEVICES])
    ]
    return _render(
        request,
        "scan.html.j2",
        visitor,
        title=f"Scan {scan.id}",
        scan=scan,
        section=document.scan,
        devices=devices,
        total=len(document.devices),
    )


#: Scans offered in the diff page's choices.
DIFF_CHOICES = 100


@page("GET", "/diff", "viewer")
def scan_diff(request: Request) -> Response:
    """What changed between two stored scans (default: the newest two whose scopes overlap)."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    store = store_of(request)
    old = _text(request.query_params, "old", 64) or None
    new = _text(request.query_params, "new", 64) or None
    problem, status, found = None, 200, None
    unknown = problem_with_parameters(request.query_params, ("old", "new"))
    try:
        if unknown is not None:
            raise StoreRequestError(unknown)
        found = store.diff(old, new)
    except StoreRequestError as exc:
        problem = _said(exc, request)
        # nothing asked: a note, not an error
        status = 400 if old or new or unknown else 200
    return _render(
        request,
        "diff.html.j2",
        visitor,
        status,
        title="Compare scans",
        diff=found,
        choices=store.scans(DIFF_CHOICES),
        old=found.old.id if found else old,
        new=found.new.id if found else new,
        problem=problem,
    )


# --- sites, sensors, schedules -----------------------------------------------------------


def _sites(request: Request) -> list[dict[str, Any]]:
    """Every site with its sensors (each marked silent or not) and its waiting jobs."""
    from datetime import UTC, datetime

    from provscan.web.sites import list_sites

    now = datetime.now(UTC)
    found: list[dict[str, Any]] = list_sites(request)["sites"]
    for site in found:
        for sensor in site["sensors"]:
            sensor["silent_for"] = _for(now - datetime.fromisoformat(sensor["last_heartbeat"]))
        if site["sensors"]:
            newest = max(datetime.fromisoformat(s["last_heartbeat"]) for s in site["sensors"])
            site["silent_for"] = _for(now - newest)
    return found


def _request_lifetime(request: Request) -> str:
    """How long a site's scan waits for a sensor before it expires, in words."""
    from provscan.sensors.central import REQUEST_LIFETIME, lifetime_words

    central = getattr(request.app.state, "central", None)
    return lifetime_words(getattr(central, "request_lifetime", REQUEST_LIFETIME))


def _for(span: Any) -> str:
    """A time span in words, to the minute: "for 3 d 4 h", "for 12 min"."""
    minutes = max(int(span.total_seconds()) // 60, 0)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"for {days} d {hours} h"
    if hours:
        return f"for {hours} h {minutes} min"
    return f"for {minutes} min" if minutes else "for less than a minute"


def _every(seconds: int | None) -> str:
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"every {seconds // size}{unit}"
    return f"every {seconds}s"


@page("GET", "/sites", "viewer")
def sites_page(request: Request) -> Response:
    """Sites and their sensors (which is silent, since when), and the schedules."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    return _sites_answer(request, visitor)


def _sites_answer(
    request: Request,
    visitor: Visitor,
    problem: str | None = None,
    status: int = 200,
    asked: Mapping[str, str] | None = None,
) -> Response:
    from provscan.web.sites import SILENT_AFTER

    return _render(
        request,
        "sites.html.j2",
        visitor,
        status,
        title="Sites and sensors",
        sites=_sites(request),
        schedules=store_of(request).fleet().schedules(),
        every=_every,
        silent_after=int(SILENT_AFTER.total_seconds()),
        request_lifetime=_request_lifetime(request),
        can_schedule=visitor.user.can("admin"),
        problem=problem,
        asked=asked or {},
    )


@page("GET", "/sites/{name}", "viewer")
def site_page(request: Request, name: str) -> Response:
    """One site: its sensors, the scans sent to it and their state, its schedules; an
    analyst can send it a scan."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    from provscan.web.sites import unknown_site

    site = next((s for s in _sites(request) if s["name"] == name[:64]), None)
    if site is None:
        return _refused(
            request, visitor, 404, _console_words(unknown_site(request, name[:64]) or "")
        )
    fleet = store_of(request).fleet()
    return _render(
        request,
        "site.html.j2",
        visitor,
        title=f"Site {site['name']}",
        site=site,
        jobs=[job.to_json() for job in fleet.jobs(site=site["name"], limit=SITE_JOBS)],
        schedules=[s for s in fleet.schedules() if s.site == site["name"]],
        every=_every,
        central=request.app.state.central is not None,
        can_start=visitor.user.can("analyst"),
    )


def _new_schedule(form: FormData) -> dict[str, Any]:
    """The schedule a form asks for, checked as the CLI checks it (StoreRequestError)."""
    from datetime import UTC, datetime

    from provscan.sensors.beat import cron_schedule, next_run, parse_every
    from provscan.sensors.scope import MAX_CAPTURES, check_capture_name, check_interface_name
    from provscan.store.sensors import JOB_KINDS, check_site_name
    from provscan.web.scans import ScanRefused, check_targets

    site = _text(form, "site", 64)
    kind = _text(form, "kind", 16) or "scan"
    targets = _split(_text(form, "targets", 5000))
    captures = _split(_text(form, "captures", 5000))
    interface = _text(form, "interface", 64) or None
    every, cron = _text(form, "every", 16), _text(form, "cron", 200)
    try:
        check_site_name(site)
        if kind not in JOB_KINDS:
            raise StoreRequestError(f"a schedule sends {', '.join(JOB_KINDS)} jobs")
        if bool(every) == bool(cron):
            raise StoreRequestError("give an interval (e.g. 24h) or a cron line, one of them")
        if kind == "scan":
            if not targets or len(targets) > 64:
                raise StoreRequestError("give one to 64 addresses, networks or ranges")
            check_targets(targets)
        elif targets or _text(form, "ports", 5000):
            raise StoreRequestError(f"a {kind} schedule takes no targets or ports")
        if kind == "pcap" and not 1 <= len(captures) <= MAX_CAPTURES:
            raise StoreRequestError(f"a pcap schedule names 1 to {MAX_CAPTURES} captures")
        if kind != "pcap" and captures:
            raise StoreRequestError("captures are for a pcap schedule")
        if kind != "discover" and interface:
            raise StoreRequestError("an interface is for a discover schedule")
        for name in captures:
            check_capture_name(name)
        if interface:
            check_interface_name(interface)
        ports = [int(port) for port in _split(_text(form, "ports", 5000))] or None
        if ports and not all(1 <= port <= 65535 for port in ports):
            raise StoreRequestError("ports are numbers 1-65535")
        every_seconds = parse_every(every) if every else None
        if cron:
            cron_schedule(cron)
        now = datetime.now(UTC)
        first = now if every_seconds else next_run((None, cron), now)
    except ValueError:
        raise StoreRequestError("ports are numbers 1-65535") from None
    except (ScanRefused, ProvscanError) as exc:
        raise StoreRequestError(str(exc)) from None
    return {
        "site": site,
        "targets": targets,
        "every_seconds": every_seconds,
        "cron": cron or None,
        "next_run": first,
        "ports": ports,
        "kind": kind,
        "captures": captures,
        "interface": interface,
    }


@page("POST", "/schedules", "admin")
async def add_schedule(request: Request) -> Response:
    """Add a schedule (the central sends its scans to the site's sensor); audited."""
    posted = await _posted(request, "admin")
    if isinstance(posted, Response):
        return posted
    visitor, form = posted
    asked = {
        name: _text(form, name, 5000)
        for name in ("site", "kind", "targets", "captures", "interface", "every", "cron", "ports")
    }

    def add() -> None:
        wanted = _new_schedule(form)
        # The schedule and its audit row commit together, or neither does.
        with store_of(request).together("schedules") as together:
            schedule = together.fleet.add_schedule(**wanted)
            together.accounts.audit(
                visitor.user.name,
                "schedule.add",
                client_address(request),
                str(schedule.id),
                {
                    "site": schedule.site,
                    "kind": schedule.kind,
                    "targets": schedule.targets,
                    "captures": schedule.captures,
                    "interface": schedule.interface,
                },
            )

    try:
        await run_in_threadpool(add)
    except StoreRequestError as exc:
        return await run_in_threadpool(
            _sites_answer, request, visitor, _said(exc, request), 400, asked
        )
    return _back("/sites", "schedule-added", "#schedules")


@page("POST", "/schedules/{schedule_id}/remove", "admin")
async def remove_schedule(request: Request, schedule_id: str) -> Response:
    """Remove a schedule (the scans it already sent stay); audited."""
    posted = await _posted(request, "admin")
    if isinstance(posted, Response):
        return posted
    visitor, _ = posted
    number = _case_number(schedule_id)  # the same bounds as a case number

    def remove() -> None:
        if number is None:
            raise StoreRequestError(f"no schedule {schedule_id[:20]!r}")
        with store_of(request).together("schedules") as together:  # both or neither
            together.fleet.remove_schedule(number)
            together.accounts.audit(
                visitor.user.name, "schedule.remove", client_address(request), str(number), None
            )

    try:
        await run_in_threadpool(remove)
    except StoreRequestError:
        return _refused(request, visitor, 404, "There is no such schedule.")
    return _back("/sites", "schedule-removed", "#schedules")


# --- screening ---------------------------------------------------------------------------


def _screen_choices(acting_as: str = "") -> dict[str, Any]:
    """The upload form's values: its limits, and whom the verdicts may be judged for (the
    console's own setting, anyone, or one org type of the bundled policies: ``--as``)."""
    from provscan.knowledge.policies import org_type_vocabulary
    from provscan.policy.evaluate import ACT_AS_ANYONE
    from provscan.screening.run import default_knowledge
    from provscan.web.api import MAX_SCREEN_ROWS
    from provscan.web.security import MAX_BODY_BYTES

    vocabulary = org_type_vocabulary(default_knowledge().policies.values())
    return {
        "max_mib": MAX_BODY_BYTES // 1_048_576,
        "max_rows": MAX_SCREEN_ROWS,
        "keep_days": KEEP_FOR.days,
        "acting_as": acting_as,
        "anyone": ACT_AS_ANYONE,
        "console_party": _console_party(),
        "org_types": [(key, kind.description) for key, kind in vocabulary.items()],
    }


@page("GET", "/screen", "analyst")
def screen_form(request: Request) -> Response:
    """Upload a procurement list (CSV or XLSX) to screen."""
    visitor = _visitor(request, "analyst")
    if isinstance(visitor, Response):
        return visitor
    return _render(
        request,
        "screen.html.j2",
        visitor,
        title="Screen a list",
        kept=store_of(request).screenings().mine(visitor.user.name),
        **_screen_choices(),
    )


def _screen_upload(
    data: bytes, sheet: str | None, acting_as: str = ""
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, bytes], list[str]]:
    """The screened rows of an uploaded list as the page keeps them, their counts, and its
    annotated copies (CSV, XLSX: with the measures' citations and, in the XLSX, the audit
    context), read as the API reads one (:func:`provscan.web.api.read_upload`: by content,
    with its limits) and judged for ``acting_as`` (an org type, "all", or "": the console's
    setting); the client's file name is never used."""
    from provscan.knowledge.packs import active_pack
    from provscan.screening.audit import cited_measures, with_audit
    from provscan.screening.columns import unread_model_warning
    from provscan.screening.run import screen_table, table_columns
    from provscan.screening.tables import AuditSheets, render_csv, render_xlsx
    from provscan.screening.verdict import summarise
    from provscan.web.api import _judging, read_upload, web_words

    try:
        identifier, policies, org_types = _judging(None, [acting_as] if acting_as else None)
    except HTTPException as exc:  # an org type the policies do not declare
        raise StoreRequestError(str(exc.detail)) from None
    try:
        table = read_upload(data, sheet)
        columns = table_columns(table, identifier)
        rows = screen_table(table, columns, identifier, policies, acting_as=org_types)
        pack = active_pack()
        knowledge = {"version": pack.version, "as_of": pack.as_of}
        summary = with_audit(
            summarise(
                rows,
                policies,
                columns.names(table.header),
                source="the upload",  # the client's file name is never kept
                acting_as=org_types,
                skipped=[number for number, _ in table.skipped],
            ),
            source=data,
            knowledge=knowledge,
        )
        measures = cited_measures(rows, policies)
        files = {
            "csv": render_csv(table, rows),
            "xlsx": render_xlsx(table, rows, columns, AuditSheets(summary, measures))[0],
        }
    except ProvscanError as exc:
        raise StoreRequestError(str(exc)) from None
    links = {(measure.policy, measure.title): measure.link for measure in measures}
    shown = [_shown_row(row, knowledge, links) for row in rows[:SHOWN_SCREEN_ROWS]]
    counts = {status: sum(row.status == status for row in rows) for status in _SCREEN_STATUSES}
    unread = unread_model_warning(columns, table.header)
    notes = [*table.notes, *([unread] if unread else [])]
    return shown, counts, files, [web_words(note) for note in notes]


@page("POST", "/screen", "analyst")
async def screen(request: Request) -> Response:
    """Screen the uploaded list: the rows on the page, the annotated list as a download."""
    from provscan.web.security import MAX_BODY_BYTES

    posted = await _posted(request, "analyst")
    if isinstance(posted, Response):
        return posted
    visitor, form = posted
    upload = form.get("file")
    sheet = _text(form, "sheet", 100) or None
    acting_as = _text(form, "acting_as", 100)
    limits: dict[str, Any] = {**_screen_choices(acting_as), "sheet": sheet}
    if not isinstance(upload, UploadFile):
        return _render(
            request,
            "screen.html.j2",
            visitor,
            400,
            title="Screen a list",
            problem="Choose a CSV or XLSX file.",
            **limits,
        )
    data = await upload.read(MAX_BODY_BYTES + 1)
    await form.close()
    try:
        if not data:
            raise StoreRequestError("the file is empty: nothing to screen")
        if len(data) > MAX_BODY_BYTES:
            raise StoreRequestError("the list is too large")
        shown, counts, files, notes = await run_in_threadpool(
            _screen_upload, data, sheet, acting_as
        )
    except StoreRequestError as exc:
        return _render(
            request,
            "screen.html.j2",
            visitor,
            400,
            title="Screen a list",
            problem=str(exc),
            **limits,
        )
    kept = await run_in_threadpool(
        lambda: (
            store_of(request)
            .screenings()
            .add(
                visitor.user.name,
                rows=sum(counts.values()),
                counts=counts,
                shown=shown,
                files=files,
                address=client_address(request),
            )
        )
    )
    return _render(
        request,
        "screen.html.j2",
        visitor,
        title="Screened list",
        result=kept,
        notes=notes,
        **_screen_context(kept.shown),
        **limits,
    )


_SCREEN_STATUSES = ("restricted", "review", "clear", "unknown")


def _shown_row(
    row: Any, knowledge: dict[str, str], links: Mapping[tuple[str, str], str | None]
) -> dict[str, Any]:
    """A screened row as the page shows it (kept as JSON): the row; the maker as the CSV
    says it ("Dahua?" when only possible); the measures its verdict rests on, each with its
    citation, official link and the condition the row leaves open, if any (a row restricted
    only on a condition showed "–"); and the knowledge it was judged with."""
    from provscan.screening.audit import row_measures
    from provscan.screening.tables import maker_text

    shown: dict[str, Any] = row.model_dump(mode="json")
    shown["measures"] = list(dict.fromkeys(f.policy for f in row.findings if f.restricts))
    shown["maker_text"] = maker_text(row)
    shown["measure_refs"] = [
        {
            "policy": f.policy,
            "jurisdiction": f.jurisdiction,
            "title": f.measure,
            "citation": f.citation,
            "link": links.get((f.policy, f.measure)),
            "condition": f.condition,
        }
        for f in row_measures(row)
    ]
    shown["knowledge"] = knowledge
    return shown


def _screen_context(shown: list[dict[str, Any]]) -> dict[str, Any]:
    """What a result page says besides its rows: whom the verdicts were judged for, the
    knowledge they were judged with (results kept before it was recorded have none), and
    each measure the shown rows rest on, once, with its citation and link."""
    cited: dict[tuple[str, str], dict[str, Any]] = {}
    for row in shown:
        for ref in row.get("measure_refs") or []:
            cited.setdefault((ref["policy"], ref["title"]), ref)
    first = shown[0] if shown else {}
    return {
        "judged_for": first.get("judged_for"),
        "knowledge": first.get("knowledge"),
        "cited": list(cited.values()),
    }


@page("GET", "/screen/results/{result_id}", "analyst")
def screen_result(request: Request, result_id: str) -> Response:
    """A kept screening result again (only for who screened it, until it expires)."""
    visitor = _visitor(request, "analyst")
    if isinstance(visitor, Response):
        return visitor
    found = store_of(request).screenings().get(result_id[:64], visitor.user.name)
    if found is None:
        return _refused(request, visitor, 404, "That result is gone; screen the list again.")
    return _render(
        request,
        "screen.html.j2",
        visitor,
        title="Screened list",
        result=found,
        **_screen_context(found.shown),
        **_screen_choices(),
    )


@page("GET", "/screen/results/{result_id}/{fmt}", "analyst")
def screen_download(request: Request, result_id: str, fmt: str) -> Response:
    """A screened list with the result columns added (only for who screened it)."""
    visitor = _visitor(request, "analyst")
    if isinstance(visitor, Response):
        return visitor
    body = store_of(request).screenings().download(result_id[:64], visitor.user.name, fmt)
    if body is None:
        return _refused(request, visitor, 404, "That result is gone; screen the list again.")
    return Response(
        body,
        media_type=SCREEN_FORMATS[fmt],
        headers={"content-disposition": f'attachment; filename="provscan-screened.{fmt}"'},
    )


# --- reports -----------------------------------------------------------------------------


@page("GET", "/reports", "viewer")
def reports(request: Request) -> Response:
    """The compliance report as HTML or PDF downloads (served by the API)."""
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    return _render(
        request,
        "reports.html.j2",
        visitor,
        title="Reports",
        **_report_command(store_of(request).display_name, visitor.user.can("admin")),
    )


def _report_command(shown: str, admin: bool) -> dict[str, Any]:
    """The terminal command that writes the same report from this console's database:
    ``--db`` as the store shows it (a server database's password masked: ``***``), for an
    admin; for other roles, who are not shown where the server keeps its data, a placeholder
    (as the console's messages leave the database out)."""
    server = "://" in shown
    if server:  # the store names the driver it chose; the user's URL need not
        scheme, _, rest = shown.partition("://")
        shown = f"{scheme.split('+')[0]}://{rest}"
    db = (shown if admin else "DATABASE") if server or admin else "FILE"
    return {
        "report_db": shlex.quote(db) if admin else db,
        "report_db_server": server,
        "report_db_masked": admin and ":***@" in shown,
        "report_db_hidden": not admin,
    }


# --- users and audit (admin) -------------------------------------------------------------


@page("GET", "/users", "admin")
def users(request: Request) -> Response:
    visitor = _visitor(request, "admin")
    if isinstance(visitor, Response):
        return visitor
    return _users_answer(request, visitor)


def _users_answer(
    request: Request,
    visitor: Visitor,
    problem: str | None = None,
    status: int = 200,
    asked: Mapping[str, str] | None = None,
) -> Response:
    return _render(
        request,
        "users.html.j2",
        visitor,
        status,
        title="Users",
        users=store_of(request).accounts().users(),
        roles=ROLES,
        problem=problem,
        asked=asked or {},
    )


@page("POST", "/users", "admin")
async def add_user(request: Request) -> Response:
    posted = await _posted(request, "admin")
    if isinstance(posted, Response):
        return posted
    visitor, form = posted
    name, role = _text(form, "name", 64), _text(form, "role", 16)
    password, again = str(form.get("password", ""))[:1025], str(form.get("password2", ""))
    try:
        if password != again:
            raise StoreRequestError("the two passwords differ")
        await run_in_threadpool(
            lambda: (
                store_of(request)
                .accounts()
                .add_user(
                    name, role, password, actor=visitor.user.name, address=client_address(request)
                )
            )
        )
    except StoreRequestError as exc:
        return await run_in_threadpool(
            _users_answer, request, visitor, _said(exc, request), 400, {"name": name, "role": role}
        )
    return _back("/users", "user-added")


async def _user_change(
    request: Request, name: str, change: Callable[[Any, str, str], Any], done: str
) -> Response:
    posted = await _posted(request, "admin")
    if isinstance(posted, Response):
        return posted
    visitor, form = posted
    accounts = store_of(request).accounts()
    try:
        await run_in_threadpool(change, accounts, visitor.user.name, _text(form, "role", 16))
    except StoreRequestError as exc:
        return await run_in_threadpool(_users_answer, request, visitor, _said(exc, request), 400)
    return _back("/users", done)


@page("POST", "/users/{name}/role", "admin")
async def change_role(request: Request, name: str) -> Response:
    address = client_address(request)
    return await _user_change(
        request,
        name,
        lambda accounts, actor, role: accounts.set_role(name, role, actor=actor, address=address),
        "role",
    )


@page("POST", "/users/{name}/disable", "admin")
async def disable_user(request: Request, name: str) -> Response:
    address = client_address(request)
    return await _user_change(
        request,
        name,
        lambda accounts, actor, _: accounts.set_disabled(name, True, actor=actor, address=address),
        "disabled",
    )


@page("POST", "/users/{name}/enable", "admin")
async def enable_user(request: Request, name: str) -> Response:
    address = client_address(request)
    return await _user_change(
        request,
        name,
        lambda accounts, actor, _: accounts.set_disabled(name, False, actor=actor, address=address),
        "enabled",
    )


@page("GET", "/audit", "admin")
def audit(request: Request) -> Response:
    """The audit log, newest first, a page at a time."""
    visitor = _visitor(request, "admin")
    if isinstance(visitor, Response):
        return visitor
    params = request.query_params
    before_text = params.get("before", "")
    before = _case_number(before_text)  # an entry id: the same bounds as a case number
    refusals = params.get("show") == "refused"
    problem = problem_with_parameters(params, ("show", "before"))
    if problem is None and params.get("show", "") not in ("", "refused"):
        problem = f"unknown show {params.get('show', '')[:40]!r} (refused, or empty)"
    if problem is None and before_text and before is None:
        problem = f"'before' is an entry number, not {before_text[:20]!r}"
    if problem is not None:
        return _refused(request, visitor, 400, f"The audit log lists nothing for this: {problem}.")
    entries = store_of(request).accounts().audit_log(AUDIT_PAGE, before, refusals=refusals)
    older = entries[-1]["id"] if len(entries) == AUDIT_PAGE else None
    shown = {"show": "refused"} if refusals else {}
    return _render(
        request,
        "audit.html.j2",
        visitor,
        title="Audit log",
        entries=entries,
        refusals=refusals,
        refusal_actions=set(REFUSALS) | {SUPPRESSED},
        budget={
            "minutes": int(ADDRESS_WINDOW.total_seconds() // 60),
            "per_address": REFUSALS_PER_ADDRESS,
            "total": REFUSALS_TOTAL,
        },
        older_url=f"/audit?{urlencode({**shown, 'before': older})}" if older else None,
        newest_url=f"/audit?{urlencode(shown)}" if shown else "/audit",
        first_page=before is not None,
    )


# --- the user's own password -------------------------------------------------------------


@page("GET", "/account/password", "viewer")
def password_form(request: Request) -> Response:
    visitor = _visitor(request, "viewer")
    if isinstance(visitor, Response):
        return visitor
    return _render(request, "password.html.j2", visitor, title="Change your password")


@page("POST", "/account/password", "viewer")
async def change_password(request: Request) -> Response:
    """Change the logged-in user's password (the old one required; audited)."""
    posted = await _posted(request, "viewer")
    if isinstance(posted, Response):
        return posted
    visitor, form = posted
    old, new = str(form.get("old", ""))[:1024], str(form.get("new", ""))[:1025]
    again = str(form.get("new2", ""))
    status = 400
    try:
        if new != again:
            raise StoreRequestError("the two new passwords differ")
        await run_in_threadpool(
            lambda: (
                store_of(request)
                .accounts()
                .change_password(
                    visitor.user.name,
                    old,
                    new,
                    address=client_address(request),
                    keep_session=request.cookies.get(SESSION_COOKIE),
                )
            )
        )
    except LoginRefused as exc:
        status = 429 if exc.throttled else 400
        problem = "Too many wrong passwords; try again later." if exc.throttled else str(exc)
        return _render(
            request, "password.html.j2", visitor, status, title="Change your password",
            problem=problem,
        )  # fmt: skip
    except StoreRequestError as exc:
        return _render(
            request, "password.html.j2", visitor, status, title="Change your password",
            problem=_said(exc, request),
        )  # fmt: skip
    return _back("/account/password", "password")
