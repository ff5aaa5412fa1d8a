"""The REST API under ``/api/v1``: every route names the weakest role it admits.

Every error answer is ``{"detail": "<one line>"}`` naming the parameter, field or header at
fault and the problem (:class:`provscan.web.responses.Problem`; the app's handlers make
FastAPI's own answers so). 400: something the route does not take (an unknown query
parameter, form field or JSON field, one given twice), a JSON body that cannot be read, or a
value the route or the store refuses; 415: a body of another type than the route reads (the
same words on every route); 422: a value that does not fit the documented schema (type,
range, length, list of values, a required field). The whole list: the OpenAPI document's
description (:data:`provscan.web.app.API_DESCRIPTION`).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict

from provscan.errors import ProvscanError, StoreError, StoreRequestError, StoreRequestRefused
from provscan.report.contract import VERDICTS
from provscan.screening.verdict import ScreenRow
from provscan.store.cases import SETTABLE
from provscan.store.cases import STATES as CASE_STATES
from provscan.store.db import spelt_otherwise
from provscan.store.inventory import STATUSES
from provscan.store.pages import MAX_PAGE, SORTS, PageFilters
from provscan.store.users import Accounts, LoginRefused
from provscan.web.auth import (
    NOT_JSON,
    ROLE_KEY,
    SAFE_METHODS,
    SESSION_COOKIE,
    UNREADABLE_JSON,
    Principal,
    body_type,
    client_address,
    is_json,
    known_query,
    principal,
    require,
    store_message,
    store_of,
)
from provscan.web.responses import (
    AuditLog,
    CaseList,
    CaseOut,
    DeviceDetail,
    DevicePage,
    DiffOut,
    KnowledgeStatus,
    LoggedOut,
    PasswordReset,
    PolicyList,
    Problem,
    Removed,
    ScanJobOut,
    ScanList,
    ScreenedRows,
    SessionOut,
    StoredScan,
    Summary,
    Unlocked,
    UserList,
    UserOut,
    ok,
)
from provscan.web.security import MAX_BODY_BYTES

if TYPE_CHECKING:
    from provscan.screening.tables import InputTable

PREFIX = "/api/v1"
#: Rows a screened upload may hold (the CLI allows more; the web answers in one response).
MAX_SCREEN_ROWS = 20_000
#: How often a progress stream looks for new events.
SSE_POLL_SECONDS = 0.2
#: Longest text ``/lookup`` takes.
MAX_LOOKUP_TEXT = 500

#: Operation ids are the routes' names (``list_devices``), not FastAPI's path-derived ones.
router = APIRouter(prefix=PREFIX, generate_unique_id_function=lambda route: route.name)


def _pattern(regex: str) -> Callable[[dict[str, Any]], None]:
    """The OpenAPI schema of a text that matches ``regex`` (checked by the route or the
    store, whose 400 says what was wrong)."""

    def extra(schema: dict[str, Any]) -> None:
        for part in schema.get("anyOf", [schema]):
            if part.get("type") == "string":
                part["pattern"] = regex

    return extra


def _date_time(schema: dict[str, Any]) -> None:
    for part in schema.get("anyOf", [schema]):
        if part.get("type") == "string":
            part["format"] = "date-time"


_DATE_TIME = _date_time


def _number_cursor(schema: dict[str, Any]) -> None:
    """The cursor of a page of cases or audit entries (the number of the last one before
    it), documented as such; another text is a 400 (not a cursor this server gave out)."""
    for part in schema.get("anyOf", [schema]):
        if part.get("type") == "string":
            part["pattern"] = "^[0-9]{0,10}$"  # empty: the first page


_NUMBER_CURSOR = _number_cursor
Caller = Annotated[Principal, Depends(principal)]
#: Case numbers are database integers (an out-of-range one would reach the driver).
CaseId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def problem(text: str) -> dict[str, Any]:
    """A ``responses=`` entry of an error answer (:class:`Problem`)."""
    return {"model": Problem, "description": text}


#: The error answers every route may give (413 and 415 are added to the routes that read a
#: body, and 422 documented as the one shape, by the app's OpenAPI document).
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: problem(
        "a bad value (an unknown status or verdict, a damaged cursor, a refused change), "
        "a query parameter or field the route does not take, or a JSON body that cannot "
        "be read"
    ),
    401: problem("no or unknown credentials"),
    403: problem("the role does not allow it, or a cookie write without its CSRF token"),
    404: problem("no such scan, device, case, user or site"),
}


def route(
    method: str, path: str, role: str, *, summary: str, finds: bool = False, **options: Any
) -> Callable[[Any], Any]:
    """Register ``path`` for ``role`` and the roles above it (recorded in the OpenAPI
    document as ``x-provscan-role``, which the tests enumerate), with its ``summary``; a
    query parameter the route does not take is refused (:func:`known_query`), and a body of
    another type than it reads (:func:`body_type`, 415). A 404 is documented for a path that
    names something (``{id}``), or with ``finds``: a route whose parameters name a site,
    device or scan that may not be there."""
    # The success answer is documented by ``responses=ok(Model)`` (provscan.web.responses),
    # not inferred from the ``dict`` the route returns.
    options.setdefault("response_model", None)
    problems = dict(_PROBLEMS)
    if role == "viewer" and method in SAFE_METHODS:
        problems.pop(403)  # every user may read it, and a read needs no CSRF token
    if "{" not in path and not finds:
        problems.pop(404)
    return router.api_route(
        path,
        methods=[method],
        summary=summary,
        dependencies=[Depends(require(role)), Depends(known_query), Depends(body_type)],
        openapi_extra={ROLE_KEY: role},
        **{**options, "responses": {**problems, **options.get("responses", {})}},
    )


#: The command line's syntax that messages from below name, as the API says it.
_API_WORDS = (
    ("unknown organisation type(s) for --as:", "unknown organisation type(s) for acting_as:"),
    ("; see `provscan policies --as-types`", ""),
    ("name them: provscan diff OLD NEW", "name them: ?old=SCAN_ID&new=SCAN_ID"),
    ("no scan was stored with --site", "no scan was stored with a site"),
)


def api_words(text: str) -> str:
    """A message with the command line's options it names put in the API's terms."""
    for cli, web in _API_WORDS:
        text = text.replace(cli, web)
    return text


def _said(exc: Exception, request: Request | None) -> str:
    """The store's message without the database it names (a file path on the server), in
    the API's words (:func:`api_words`)."""
    return api_words(store_message(exc, request) if request is not None else str(exc))


def _not_found(exc: StoreRequestError, request: Request) -> HTTPException:
    return HTTPException(404, _said(exc, request))


# --- session -----------------------------------------------------------------------------


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": Login.model_json_schema()},
        },
    }
}


@router.post(
    "/session",
    openapi_extra=_LOGIN_BODY,
    response_model=None,
    summary="Log in",
    responses={
        **ok(SessionOut, text="logged in: the user and the CSRF token"),
        400: problem("the body is not JSON that can be read, a field it does not take, or NUL"),
        401: problem("wrong name or password"),
        415: problem("the body is not JSON"),
        422: problem("no name or password sent, or one too long"),
        429: problem("the account or address is locked out"),
    },
)
async def log_in(request: Request, response: Response) -> dict[str, Any]:
    """Log in with a name and password (JSON only): sets the session cookie and returns the
    CSRF token to send as ``X-CSRF-Token`` with every state-changing request.

    JSON only, so that no cross-site form can log a browser into someone else's account
    (a form cannot send ``application/json`` without a CORS preflight, which is refused);
    the console's login page has its own form with a CSRF token."""
    from provscan.web.problems import one_line

    if not is_json(request.headers.get("content-type", "")):
        raise HTTPException(415, NOT_JSON)  # the words of every JSON route
    try:
        raw: Any = await request.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than it can be read
        raise HTTPException(400, UNREADABLE_JSON) from None
    try:
        login = Login.model_validate(raw)
    except ValidationError as exc:  # as a route's own body is refused
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise HTTPException(*one_line(request, errors)) from None
    accounts = store_of(request).accounts()
    address = client_address(request)
    try:
        user = await run_in_threadpool(
            accounts.authenticate, login.name, login.password, address=address
        )
    except LoginRefused as exc:
        raise HTTPException(429 if exc.throttled else 401, str(exc)) from None
    cookie, csrf = await run_in_threadpool(accounts.open_session, user, address=address)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.tls),
        path="/",
    )
    return {"user": user.to_json(), "csrf_token": csrf}


@route("GET", "/session", "viewer", summary="Who is logged in", responses=ok(SessionOut))
def who_am_i(caller: Caller, request: Request) -> dict[str, Any]:
    """The logged-in user (and, for a cookie session, its CSRF token)."""
    csrf = None
    if caller.via == "session":
        found = store_of(request).accounts().session_user(request.cookies[SESSION_COOKIE])
        csrf = found[1] if found else None
    return {"user": caller.user.to_json(), "via": caller.via, "csrf_token": csrf}


@route("DELETE", "/session", "viewer", summary="Log out", responses=ok(LoggedOut))
def log_out(caller: Caller, request: Request, response: Response) -> dict[str, Any]:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        store_of(request).accounts().close_session(
            cookie, actor=caller.user.name, address=client_address(request)
        )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"logged_out": True}


# --- scans, devices, diff ----------------------------------------------------------------


@route("GET", "/scans", "viewer", summary="Stored scans", responses=ok(ScanList))
def list_scans(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> dict[str, Any]:
    return {"scans": [s.to_json() for s in store_of(request).scans(limit)]}


def _policy_ids(schema: dict[str, Any]) -> None:
    """A list of policy ids: each one of the knowledge base's (``GET /policies``)."""
    from provscan.screening.run import default_knowledge

    for part in schema.get("anyOf", [schema]):
        if part.get("type") == "array":
            part["items"] = {"type": "string", "enum": list(default_knowledge().policies)}


#: A scan (the default kind) names at least one target (``targets`` required); a pcap or
#: discover job need not (a 400 says so otherwise).
_SCAN_NEEDS_TARGETS: JsonDict = {
    "if": {"properties": {"kind": {"const": "scan"}}},
    "then": {"required": ["targets"], "properties": {"targets": {"minItems": 1}}},
}


class StartScan(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_SCAN_NEEDS_TARGETS)
    #: ``scan``; with a ``site``, also ``pcap`` (captures on the site's sensor) or
    #: ``discover`` (multicast on the sensor's interface, or unicast to ``targets``).
    kind: Literal["scan", "pcap", "discover"] = "scan"
    #: Addresses, networks (CIDR) or ranges; no host names, no @files. A scan needs one
    #: (required for it in the OpenAPI document); a pcap job needs none.
    targets: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=64
    )
    ports: list[Annotated[int, Field(ge=1, le=65535)]] | None = Field(
        default=None, min_length=1, max_length=1000
    )
    policies: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=100, json_schema_extra=_policy_ids
    )
    site: str | None = Field(default=None, max_length=200)
    #: A ``site`` nothing in the store names yet (no stored scan, device, sensor or schedule)
    #: is refused (404, with the known ones) unless this is true: a misspelt site would be a
    #: second site with the same devices (``provscan schedule add --new-site``).
    new_site: bool = False
    #: pcap: the captures, by their paths under the sensor's ``--captures`` directory.
    captures: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list, max_length=64
    )
    #: discover: one of the sensor's ``--interface``s (default: its first).
    interface: str | None = Field(default=None, min_length=1, max_length=15)
    #: discover: seconds to wait for replies.
    timeout: float | None = Field(default=None, ge=0.1, le=60.0)


@route(
    "POST",
    "/scans",
    "analyst",
    summary="Start a scan",
    finds=True,
    status_code=202,
    responses={**ok(ScanJobOut, 202), 409: problem("another scan is running")},
)
def start_scan(caller: Caller, request: Request, start: StartScan) -> dict[str, Any]:
    """Start a scan (one at a time; the same scope rules as the CLI, discovery off): 202 with
    the job, whose progress ``GET /scans/jobs/{job_id}/events`` streams. With a ``site`` (and
    a central): the site's sensor runs it, a ``scan``, ``pcap`` or ``discover`` job."""
    from provscan.transport.limits import DEFAULT_PORTS
    from provscan.web.scans import ScanBusy, ScanRefused

    _, _, org_types = _judging(start.policies, None)
    if start.site is not None and not start.new_site:
        _known_scan_site(request, start.site)
    central = getattr(request.app.state, "central", None)
    if start.site is not None and central is not None:
        return _send_to_site(caller, request, start, org_types)  # the site's sensor scans
    if start.kind != "scan":
        raise HTTPException(400, f"a {start.kind} job runs on a site's sensor: name its site")
    if not start.targets:
        raise HTTPException(400, "a scan names its targets")
    jobs = request.app.state.scan_jobs
    try:
        job = jobs.start(
            start.targets,
            actor=caller.user.name,
            ports=start.ports or DEFAULT_PORTS,
            policy_ids=start.policies,
            acting_as=org_types,
            site=start.site,
        )
    except ScanRefused as exc:
        raise HTTPException(400, str(exc)) from None
    except ScanBusy as exc:
        raise HTTPException(409, str(exc)) from None
    store_of(request).accounts().audit(
        caller.user.name,
        "scan.start",
        client_address(request),
        job.id,
        {"targets": start.targets, "site": start.site},
    )
    result: dict[str, Any] = job.to_json()
    result["events_url"] = f"{PREFIX}/scans/jobs/{job.id}/events"
    return result


class UnknownScanSite(HTTPException):
    """404: a scan sent to a site nothing names (:func:`_known_scan_site`). Keeps the parts
    of its message, so that the console says how a person starts a new site (a box to tick)
    from them rather than by rewriting the API's words (``"new_site": true``)."""

    #: How an API client starts a new site (the request's JSON field).
    API_REMEDY = 'send "new_site": true'

    def __init__(self, site: str, known: str, hint: str) -> None:
        self.site, self.known, self.hint = site, known, hint
        super().__init__(404, self.message(self.API_REMEDY))

    def message(self, remedy: str) -> str:
        """The refusal with ``remedy``: what to do to start a new site instead."""
        return f"no site {self.site!r}: {self.known}{self.hint}; {remedy} to start a new site"


def _known_scan_site(request: Request, site: str) -> None:
    """404 for a site a scan is sent to that nothing names (no stored scan or device, no
    sensor, schedule or job, no site key of the central), the known ones listed, unless
    ``new_site``."""
    store = store_of(request)
    fleet = store.fleet()
    # a site the central holds a key for is one its sensors may serve, before any has run
    central = getattr(request.app.state, "central", None)
    keyed = set(central.keys.sites()) if central is not None else set()
    if site in keyed or site in store.sites() or fleet.site_known(site):
        return
    known = sorted({row["name"] for row in fleet.sites()} | set(store.sites()) | keyed)
    listed = ", ".join(known[:20]) + (f" … ({len(known)} in all)" if len(known) > 20 else "")
    said = f"known sites: {listed}" if known else "no site is known yet"
    same = spelt_otherwise(site, known)
    hint = f" (site names are case-sensitive: did you mean {same!r}?)" if same else ""
    raise UnknownScanSite(site, said, hint)


def _send_to_site(
    caller: Principal, request: Request, start: StartScan, org_types: Any
) -> dict[str, Any]:
    from provscan.sensors.broker import BrokerError
    from provscan.web.scans import ScanRefused, check_targets

    try:
        if start.targets:  # a scan's, or a unicast discovery's; the sensor checks again
            check_targets(start.targets)
        job = request.app.state.central.request_scan(
            start.site,
            start.targets,
            requested_by=caller.user.name,
            ports=start.ports,
            policies=start.policies,
            acting_as=list(org_types),
            kind=start.kind,
            captures=start.captures,
            interface=start.interface,
            timeout=start.timeout,
        )
    except BrokerError as exc:
        raise HTTPException(503, str(exc)) from None
    except StoreError:
        raise  # the app's handler: 503, and the log says why
    except (ScanRefused, ProvscanError) as exc:
        raise HTTPException(400, _said(exc, request)) from None
    store_of(request).accounts().audit(
        caller.user.name,
        "scan.start",
        client_address(request),
        job.id,
        {"kind": start.kind, "targets": job.targets, "site": start.site},
    )
    result: dict[str, Any] = job.to_json()
    result["status_url"] = f"{PREFIX}/scans/jobs/{job.id}"
    return result


JobId = Annotated[str, PathParam(min_length=1, max_length=64)]

#: Where the scan jobs are, for the 404 of a path near them that is no route.
JOB_ROUTES = (
    f"one scan job is at {PREFIX}/scans/jobs/{{job_id}}; the scans sent to a site are "
    f"listed at {PREFIX}/sites/{{name}}/jobs"
)


def near_miss(path: str) -> str | None:
    """The 404's words for a path near the scan jobs' routes (``/scans/jobs`` with no id,
    ``/jobs``, ``/jobs/ID``): the routes to use; None for any other path."""
    trimmed = path.rstrip("/")
    if trimmed in (f"{PREFIX}/scans/jobs", f"{PREFIX}/jobs"):
        return f"no route {trimmed}: {JOB_ROUTES}"
    rest = trimmed.removeprefix(f"{PREFIX}/jobs/")
    if rest != trimmed and rest and "/" not in rest:
        return f"no route {trimmed}: the job is at {PREFIX}/scans/jobs/{rest[:64]}"
    return None


@route("GET", "/scans/jobs/{job_id}", "viewer", summary="A scan job", responses=ok(ScanJobOut))
def get_scan_job(request: Request, job_id: JobId) -> dict[str, Any]:
    job = request.app.state.scan_jobs.get(job_id)
    if job is None:
        from provscan.web.sites import site_job

        return site_job(request, job_id)  # a scan sent to a site's sensor, or 404
    result: dict[str, Any] = job.to_json()
    return result


@route(
    "GET",
    "/scans/jobs/{job_id}/events",
    "viewer",
    summary="A scan job's progress (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress events"}},
)
def scan_job_events(request: Request, job_id: JobId) -> StreamingResponse:
    """The job's progress as server-sent events (``started``, ``host``, ``scanned``,
    ``stored`` or ``failed``), from the first; the stream ends with the job."""
    job = request.app.state.scan_jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no scan job {job_id!r}")

    async def stream() -> AsyncIterator[str]:
        index = 0
        while True:
            events, ended = job.since(index)
            for event in events:
                yield f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"
            index += len(events)
            if ended and not events:
                return
            await asyncio.sleep(SSE_POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream")


@route("GET", "/scans/{scan_id}", "viewer", summary="A stored scan", responses=ok(StoredScan))
def get_scan(request: Request, scan_id: str) -> dict[str, Any]:
    """A stored scan: its summary and the full contract document it was saved from."""
    if scan_id == "jobs":  # /scans/jobs without a job id: no scan of that name
        raise HTTPException(404, near_miss(request.url.path))
    store = store_of(request)
    try:
        summary = store.scan_summary(scan_id)
        document = store.load(scan_id)
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None
    return {"summary": summary.to_json(), "document": document.model_dump(mode="json")}


@route("GET", "/summary", "viewer", summary="The dashboard's numbers", responses=ok(Summary))
def dashboard(request: Request) -> dict[str, Any]:
    """The dashboard's numbers: devices, restricted by site, maker and jurisdiction, the trend
    over stored scans, cases, knowledge."""
    from provscan.knowledge.packs import active_pack
    from provscan.web.charts import TREND_POINTS

    store = store_of(request)
    counts = store.dashboard()
    counts["restricted_by_jurisdiction"] = store.restricted_by_jurisdiction()
    points, _parties = store.trend(TREND_POINTS)
    counts["trend"] = [
        {
            "at": point.at.isoformat(),
            "scan_id": point.scan_id,
            "devices": point.devices,
            "restricted": point.restricted,
            "open_cases": point.open_cases,
            "overdue_cases": point.overdue_cases,
        }
        for point in points
    ]
    pack = active_pack()
    counts["knowledge"] = {"version": pack.version, "as_of": pack.as_of}
    return counts


def _one_of(values: list[str]) -> Callable[[dict[str, Any]], None]:
    """The OpenAPI schema of a text parameter that takes one of ``values`` (or nothing):
    the enum on the string, not beside a ``null`` it would exclude."""

    def extra(schema: dict[str, Any]) -> None:
        for part in schema.get("anyOf", [schema]):
            if part.get("type") == "string":
                part["enum"] = list(values)
                part.pop("maxLength", None)

    return extra


#: Values a filter takes, listed in the OpenAPI document (the store checks them: an unknown
#: one is a 400 that names them, as an unknown ``sort`` is).
_VERDICT_VALUES = _one_of(list(VERDICTS))
_STATUS_VALUES = _one_of(list(STATUSES))
_SORT_VALUES = _one_of([order for name in SORTS for order in (name, f"-{name}")])


def _known_site(request: Request, site: str | None) -> None:
    """404 for a site no stored scan or device names (the known ones listed), as the CLI's
    ``--site`` refuses it: a mistyped site must not read as a site with nothing in it."""
    try:
        store_of(request).require_site(site)
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None


def device_filters(
    request: Request,
    restricted: bool | None = None,
    verdict: Annotated[str | None, Query(max_length=16, json_schema_extra=_VERDICT_VALUES)] = None,
    site: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=16, json_schema_extra=_STATUS_VALUES)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    maker: Annotated[str | None, Query(max_length=200)] = None,
    brand: Annotated[str | None, Query(max_length=200)] = None,
    family: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(max_length=16, json_schema_extra=_SORT_VALUES)] = "site",
    remaining: bool = False,
) -> PageFilters:
    """The filters of ``/devices`` and ``/devices/export`` (a dependency of both): a site no
    stored scan names is a 404."""
    _known_site(request, site)
    return PageFilters(
        restricted=restricted,
        site=site,
        status=status,
        q=q or None,
        manufacturer=maker,
        brand=brand,
        family=family,
        sort=sort,
        verdict=verdict,
        remaining=remaining,
    )


DeviceFilters = Annotated[PageFilters, Depends(device_filters)]


@route(
    "GET",
    "/devices",
    "viewer",
    summary="Inventory devices, a page at a time",
    finds=True,
    responses=ok(DevicePage),
)
def list_devices(
    request: Request,
    filters: DeviceFilters,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    """Inventory devices (the inventory JSON objects), a page at a time; ``next`` is the
    cursor of the following page, null on the last. ``verdict``: restricted, review,
    unknown or clear (the newest sighting's, as ``provscan inventory`` shows it); ``site``:
    one that a stored scan named (404 otherwise, with the known ones). ``maker``: the
    manufacturer, ``brand``: the brand on the label (LTS, Lorex), ``family``: the corporate
    family (hikvision, dahua), each the whole value, in any case; makers are open-ended, so
    one the inventory does not hold is an empty page, not an error. ``remaining``: only the
    restricted devices that remain (not gone, their case not verified: the dashboard's and
    the compliance report's count). ``sort``: site (default), ip, maker, model or status,
    ``-name`` to reverse; a cursor holds for the order it was made in."""
    try:
        devices, after = store_of(request).inventory_page(cursor or None, limit, filters)
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    return {"devices": devices, "next": after}


_EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@route(
    "GET",
    "/devices/export",
    "viewer",
    summary="Export every matching device (CSV or JSON)",
    finds=True,
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "every device the filters match, as a download",
        }
    },
)
def export_devices(
    request: Request,
    filters: DeviceFilters,
    format: Literal["csv", "json"] = "csv",  # the console export's parameter name
) -> Response:
    """Every device the filters match (those of ``/devices``), as the console's export:
    CSV (the inventory columns: ``policies`` binding the user, ``other_policies``) or JSON
    (``{"devices": [...], "next": null}``)."""
    from provscan.compliance.render import INVENTORY_COLUMNS, csv_text, inventory_csv_rows

    store = store_of(request)
    found: list[dict[str, Any]] = []
    after: str | None = None
    try:
        while True:
            page, after = store.inventory_page(after, MAX_PAGE, filters)
            found += page
            if after is None:
                break
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    if format == "csv":
        body = csv_text(INVENTORY_COLUMNS, inventory_csv_rows(found)).encode("utf-8")
    else:
        body = json.dumps({"devices": found, "next": None}, ensure_ascii=False).encode("utf-8")
    return Response(
        body,
        media_type=_EXPORT_TYPES[format],
        headers={"content-disposition": f'attachment; filename="provscan-devices.{format}"'},
    )


@route(
    "GET",
    "/devices/{device_id}",
    "viewer",
    summary="A device and its evidence",
    responses=ok(DeviceDetail),
)
def get_device(request: Request, device_id: str) -> dict[str, Any]:
    """One device: its inventory entry, the full document of the sighting its verdict comes
    from (its evidence and findings: the newest that identified it), that sighting, the
    newer one that identified nothing when there is one, and its cases."""
    from provscan.compliance.render import case_json

    try:
        # as the console's device page: the evidence is what the verdict was made of, not a
        # newer sighting that identified nothing (a capture of the device's resets)
        device, evidence, cases = store_of(request).device_evidence(device_id)
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None
    newer = evidence.newer
    return {
        "device": device.to_json(),
        "document": evidence.document,
        "sighting": evidence.source.to_json(),
        "newer_sighting": (
            newer.to_json() | {"unidentified": evidence.unidentified} if newer else None
        ),
        "cases": [case_json(case) for case in cases],
    }


@route(
    "GET",
    "/diff",
    "viewer",
    summary="What changed between two scans",
    finds=True,
    responses=ok(DiffOut),
)
def get_diff(
    request: Request,
    old: Annotated[str | None, Query(max_length=64)] = None,
    new: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """What changed between two scans (default: the newest two whose scopes overlap)."""
    try:
        return store_of(request).diff(old, new).to_json()
    except StoreRequestRefused as exc:  # a scan compared with itself
        raise HTTPException(400, _said(exc, request)) from None
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None


# --- cases -------------------------------------------------------------------------------


_CASE_STATUS_VALUES = _one_of(["active", *CASE_STATES])


@route(
    "GET", "/cases", "viewer", summary="Cases, a page at a time", finds=True, responses=ok(CaseList)
)
def list_cases(
    request: Request,
    status: Annotated[
        str | None, Query(max_length=16, json_schema_extra=_CASE_STATUS_VALUES)
    ] = None,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    site: Annotated[str | None, Query(max_length=200)] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=20, json_schema_extra=_NUMBER_CURSOR)] = None,
) -> dict[str, Any]:
    """Cases by number, a page at a time; ``next`` is the cursor of the following page, null
    on the last. ``status``: a case state, or ``active`` (every state but verified);
    ``site``: the cases of that site's devices (404 for a site no stored scan names);
    ``device_id``: that device's (404 for one the inventory does not hold)."""
    from provscan.compliance.render import case_json

    _known_site(request, site)
    try:
        store_of(request).require_device(device_id)
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None
    after = 0
    if cursor:
        if not cursor.isdigit() or len(cursor) > 10:
            raise HTTPException(400, "not a cursor this server gave out")
        after = int(cursor)
    try:
        found = store_of(request).cases(
            status=status,
            device_id=device_id,
            overdue=overdue,
            site=site,
            after=after,
            limit=limit + 1,  # one more: whether there is a next page
            history=True,  # each case's trail, as `provscan cases list -f json` gives it
        )
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    page = found[:limit]
    return {
        "cases": [case_json(case) for case in page],
        "next": str(page[-1].id) if len(found) > limit else None,
    }


@route("GET", "/cases/{case_id}", "viewer", summary="A case", responses=ok(CaseOut))
def get_case(request: Request, case_id: CaseId) -> dict[str, Any]:
    from provscan.compliance.render import case_json

    try:
        return case_json(store_of(request).case(case_id))
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None


class CaseChange(BaseModel):
    #: At least one field: an empty change is refused (400, "nothing to change").
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    status: str | None = Field(
        default=None, max_length=16, json_schema_extra=_one_of(list(SETTABLE))
    )
    #: ``""`` clears the owner.
    owner: str | None = Field(default=None, max_length=200)
    #: YYYY-MM-DD (another text is a 400 that says so).
    due: str | None = Field(
        default=None, max_length=10, json_schema_extra=_pattern(r"^\d{4}-\d{2}-\d{2}$")
    )
    note: str | None = Field(default=None, max_length=4000)


class CaseChanged(CaseOut):
    #: Said when the change was made but needs attention: a due date already past.
    warning: str | None = None


@route("PATCH", "/cases/{case_id}", "analyst", summary="Change a case", responses=ok(CaseChanged))
def change_case(
    caller: Caller, request: Request, case_id: CaseId, change: CaseChange
) -> dict[str, Any]:
    """Change a case's status, owner (``""`` clears it), due date or add a note (audited;
    a ``case.updated`` event goes to the alert sinks). A due date before the case was
    opened is refused (400); a past one after it is accepted, with a ``warning`` that the
    case is overdue."""
    from provscan.compliance.render import case_json

    store = store_of(request)
    try:
        store.case(case_id)
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None
    try:
        case = store.update_case(
            case_id,
            actor=caller.user.name,
            status=change.status,
            owner=change.owner,
            due=change.due,
            note=change.note,
            address=client_address(request),  # audited in the change's transaction
        )
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    request.app.state.alerts.kick()  # its case.updated event to the sinks, off this request
    answer = case_json(case)
    if change.due is not None and case.overdue:
        answer["warning"] = f"case {case.id} is overdue: its due date {case.due} has passed"
    return answer


# --- lookup and screening ----------------------------------------------------------------


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_LOOKUP_TEXT)
    policies: list[str] | None = Field(default=None, json_schema_extra=_policy_ids)
    #: Org types (``ca:federal-institution``); default: the config file's ``[organisation] as``.
    acting_as: list[str] | None = None


def _judging(policy_ids: list[str] | None, acting_as: list[str] | None) -> tuple[Any, Any, Any]:
    from provscan.config import load_config
    from provscan.policy.evaluate import parse_acting_as
    from provscan.screening.run import bundled_identifier

    identifier = bundled_identifier()
    try:
        policies = identifier.knowledge.select_policies(policy_ids)
        values = acting_as if acting_as is not None else list(load_config().organisation.acting_as)
        org_types = parse_acting_as(values, identifier.knowledge.policies.values())
    except ProvscanError as exc:
        raise HTTPException(400, _said(exc, None)) from None
    return identifier, policies, org_types


@route("POST", "/lookup", "analyst", summary="Look up who makes a product", responses=ok(ScreenRow))
def lookup(request: LookupRequest) -> dict[str, Any]:
    """Who really makes a product: the same result as ``provscan lookup -f json``."""
    from provscan.policy.evaluate import maker_countries
    from provscan.screening.verdict import judge_product

    identifier, policies, org_types = _judging(request.policies, request.acting_as)
    row = judge_product(
        identifier.identify(request.text.strip()),
        policies,
        acting_as=org_types,
        countries=maker_countries(identifier.knowledge.vendors),
    )
    result: dict[str, Any] = row.model_dump(mode="json")
    return result


@route(
    "POST", "/screen", "analyst", summary="Screen a procurement list", responses=ok(ScreenedRows)
)
async def screen(
    caller: Caller,
    request: Request,
    file: Annotated[UploadFile, File()],
    sheet: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
    acting_as: Annotated[str | None, Form(max_length=MAX_ACTING_AS)] = None,
) -> dict[str, Any]:
    """Screen an uploaded procurement list (CSV or XLSX, told apart by content): one result
    row per data row, notes on how it was read, and whom the verdicts were judged for.
    ``sheet``: the workbook's sheet to screen (default: the product sheet the reader picks,
    e.g. "BOM" over a "Cover" sheet, as ``provscan screen`` does; the notes say which, and
    that there are others). ``acting_as``: whom to judge the verdicts for, as the console's
    "Judge the verdicts for" and ``provscan screen --as``: org type ids, comma-separated
    (``ca:provincial-or-municipal-body``), or ``all`` (every measure counts); empty or
    absent: the server's ``[organisation] as``, else a national government body. An
    unknown org type, or a form field the upload does not take, is a 400."""
    form = await request.form()  # FastAPI's, already read
    _only_fields(form.multi_items(), SCREEN_FIELDS)
    parties = None
    if acting_as is not None:
        parties = [part for part in acting_as.split(",") if part.strip()]
        if not parties:
            raise HTTPException(400, "acting_as needs at least one org type (or 'all')")
    data = await file.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise HTTPException(413, "the list is too large")
    if not data:
        raise HTTPException(400, "the upload is empty: nothing to screen")
    rows, notes, judged = await run_in_threadpool(_screen_bytes, data, sheet, parties)
    store_of(request).accounts().audit(
        caller.user.name,
        "screen",
        client_address(request),
        None,
        {"rows": len(rows), "acting_as": judged["acting_as"]},
    )
    return {"rows": rows, "notes": notes, **judged}


#: The form fields ``POST /screen`` takes; another one is refused (400), not ignored.
SCREEN_FIELDS = ("file", "sheet", "acting_as")
#: Longest ``acting_as`` text (a few org type ids).
MAX_ACTING_AS = 500


def _only_fields(items: list[tuple[str, Any]], takes: tuple[str, ...]) -> None:
    """Refuse (400) a form field the route does not take, or one given twice: a misspelt
    ``acting-as`` must not read as "judged for the default", nor two of them as one."""
    names = [name for name, _ in items]
    unknown = sorted({name for name in names if name not in takes})
    if unknown:
        listed = ", ".join(repr(name[:40]) for name in unknown[:5])
        plural = "s" if len(unknown) > 1 else ""
        raise HTTPException(
            400, f"unknown form field{plural} {listed}: it takes {', '.join(takes)}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        listed = ", ".join(repr(name) for name in repeated)
        raise HTTPException(400, f"form field {listed} given more than once: each takes one")


#: The CLI's options that messages about a list name, as the web says them.
_WEB_WORDS = (
    ("(use --sheet)", "(name another sheet to screen it)"),
    ("--sheet applies to XLSX files only", "a sheet applies to XLSX files only"),
    ("; split the list or raise --max-rows", ": split the list"),
    ("; split the list or raise --max-bytes", ": split the list"),
)


def web_words(text: str) -> str:
    """A reader's message or note with the CLI's options it suggests put in the web's terms."""
    for cli, web in _WEB_WORDS:
        text = text.replace(cli, web)
    return text


def read_upload(data: bytes, sheet: str | None = None) -> InputTable:
    """An uploaded list read from its bytes: CSV or XLSX by its content (an XLSX is a zip
    file), never by the client's file name, with the web's limits (rows, bytes, and the
    reader's own: the unpacked size of a workbook, so no zip bomb); messages call it "the
    upload". Raises ``ScreenInputError`` (its message in the web's terms)."""
    from provscan.screening.tables import ScreenInputError, read_table_stream

    try:
        return read_table_stream(
            io.BytesIO(data),
            "the upload",
            sheet=sheet,
            max_rows=MAX_SCREEN_ROWS,
            max_bytes=MAX_BODY_BYTES,
            pick_sheet=True,  # the product sheet, not a cover sheet, as `provscan screen`
        )
    except ScreenInputError as exc:
        raise ScreenInputError(web_words(str(exc))) from None


def _screen_bytes(
    data: bytes, sheet: str | None, acting_as: list[str] | None
) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """The screened rows, the reader's notes, and whom the verdicts were judged for
    (``acting_as`` as the rows record it, ``judged_for`` in words)."""
    from provscan.policy.evaluate import ACT_AS_ANYONE, judged_for, judging_parties
    from provscan.screening.columns import unread_model_warning
    from provscan.screening.run import screen_table, table_columns

    identifier, policies, org_types = _judging(None, acting_as)
    try:
        table = read_upload(data, sheet)
        columns = table_columns(table, identifier)
    except ProvscanError as exc:
        raise HTTPException(400, str(exc)) from None
    rows = screen_table(table, columns, identifier, policies, acting_as=org_types)
    unread = unread_model_warning(columns, table.header)
    notes = [*table.notes, *([unread] if unread else [])]
    anyone = not org_types and judging_parties(org_types, policies) is None
    judged = {
        "acting_as": [ACT_AS_ANYONE] if anyone else list(org_types),
        "judged_for": judged_for(org_types, policies),
    }
    return [row.model_dump(mode="json") for row in rows], [web_words(n) for n in notes], judged


# --- reports, policies, knowledge --------------------------------------------------------

_REPORT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@route(
    "GET",
    "/reports/{fmt}",
    "viewer",
    summary="The compliance report (HTML or PDF)",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "the report, as a download",
        }
    },
)
def report(request: Request, fmt: Literal["html", "pdf"]) -> Response:
    """The compliance report of the inventory, as a download."""
    from provscan.compliance.report import render_report

    body = render_report(store_of(request), fmt=fmt)
    return Response(
        body,
        media_type=_REPORT_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="provscan-report.{fmt}"'},
    )


@route(
    "GET",
    "/policies",
    "viewer",
    summary="The policies verdicts are judged by",
    responses=ok(PolicyList),
)
def policies() -> dict[str, Any]:
    from provscan.screening.run import default_knowledge

    return {
        "policies": [
            policy.model_dump(mode="json") for policy in default_knowledge().policies.values()
        ]
    }


@route("GET", "/knowledge", "viewer", summary="The knowledge in use", responses=ok(KnowledgeStatus))
def knowledge() -> dict[str, Any]:
    from provscan.knowledge.packs import active_pack

    status: dict[str, Any] = active_pack().as_dict()
    status.pop("path", None)  # where the server keeps its files is nobody's business
    return status


# --- users and audit (admin) -------------------------------------------------------------


@route("GET", "/users", "admin", summary="Users", responses=ok(UserList))
def list_users(request: Request) -> dict[str, Any]:
    return {"users": [user.to_json() for user in store_of(request).accounts().users()]}


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    role: Literal["viewer", "analyst", "admin"]
    password: str = Field(min_length=1, max_length=1024)


@route("POST", "/users", "admin", summary="Add a user", status_code=201, responses=ok(UserOut, 201))
def add_user(caller: Caller, request: Request, new: NewUser) -> dict[str, Any]:
    try:
        user = (
            store_of(request)
            .accounts()
            .add_user(
                new.name,
                new.role,
                new.password,
                actor=caller.user.name,
                address=client_address(request),
            )
        )
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    return user.to_json()


UserName = Annotated[str, PathParam(min_length=1, max_length=64)]


def _accounts_of_user(request: Request, name: str) -> Accounts:
    """The store's accounts, once ``name`` is known to be a user there (404 otherwise)."""
    accounts = store_of(request).accounts()
    try:
        accounts.user(name)
    except StoreRequestError as exc:
        raise _not_found(exc, request) from None
    return accounts


@route("POST", "/users/{name}/unlock", "admin", summary="Unlock a user", responses=ok(Unlocked))
def unlock_user(caller: Caller, request: Request, name: UserName) -> dict[str, Any]:
    """End the lockout failed logins put on a user (five in a row lock an account for 15
    minutes) and forget their failures, as ``provscan users unlock`` (audited as
    ``user.unlock``); their password, sessions and tokens stay. A disabled account is a 400
    (the console's Users page enables it)."""
    accounts = _accounts_of_user(request, name)
    try:
        user, was_locked = accounts.unlock(
            name, actor=caller.user.name, address=client_address(request)
        )
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    return {"user": user.to_json(), "was_locked": was_locked}


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: At least 12 characters (a shorter one is a 400 that says so).
    password: str = Field(min_length=1, max_length=1024)


@route(
    "PUT",
    "/users/{name}/password",
    "admin",
    summary="Reset a user's password",
    responses=ok(PasswordReset),
)
def reset_password(
    caller: Caller, request: Request, name: UserName, new: NewPassword
) -> dict[str, Any]:
    """Set another user's password, as after a compromise (``provscan users
    reset-password``): every login session of theirs ends and every API token of theirs is
    revoked, and a lockout ends; audited as ``password.reset``. Your own password is changed
    in the console (``/account/password``, which keeps your API tokens and this session):
    resetting it here is a 400."""
    if name == caller.user.name:
        raise HTTPException(
            400,
            "that is your own account: change your password at /account/password (a reset "
            "ends every session and API token, the one of this request too)",
        )
    accounts = _accounts_of_user(request, name)
    try:
        user, ended, revoked = accounts.reset_password(
            name, new.password, actor=caller.user.name, address=client_address(request)
        )
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    return {"user": user.to_json(), "sessions_ended": ended, "tokens_revoked": revoked}


@route("DELETE", "/users/{name}", "admin", summary="Remove a user", responses=ok(Removed))
def remove_user(caller: Caller, request: Request, name: UserName) -> dict[str, Any]:
    """Remove a user, their API tokens and sessions (not the last admin)."""
    accounts = _accounts_of_user(request, name)
    try:
        accounts.remove_user(name, actor=caller.user.name, address=client_address(request))
    except StoreRequestError as exc:
        raise HTTPException(400, _said(exc, request)) from None
    return {"removed": name}


@route("GET", "/audit", "admin", summary="The audit log", responses=ok(AuditLog))
def audit(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Annotated[str | None, Query(max_length=20, json_schema_extra=_NUMBER_CURSOR)] = None,
    since: Annotated[str | None, Query(max_length=40, json_schema_extra=_DATE_TIME)] = None,
) -> dict[str, Any]:
    """The audit log, newest first, a page at a time: ``next`` is the cursor of the
    following (older) page, null on the last. ``since`` (ISO 8601 time, with a zone or UTC):
    only entries at or after it."""
    after = None
    if since is not None:
        try:
            after = datetime.fromisoformat(since)
        except ValueError:
            raise HTTPException(400, f"since is an ISO 8601 time, not {since!r}") from None
        # a time without a zone is UTC, as the log's are
        after = (after if after.tzinfo else after.replace(tzinfo=UTC)).astimezone(UTC)
    before = None
    if cursor:
        if not cursor.isdigit() or len(cursor) > 10:
            raise HTTPException(400, "not a cursor this server gave out")
        before = int(cursor)
    found = store_of(request).accounts().audit_log(limit + 1, before, since=after)
    page = found[:limit]
    return {
        "entries": page,
        "next": str(page[-1]["id"]) if len(found) > limit else None,
    }
