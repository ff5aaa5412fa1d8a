"""The application: ``create_app(store_url, settings)`` opens the store and mounts the API."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provscan.alerts.deliver import Deliverer
from provscan.errors import KnowledgeError, StoreError, StoreRequestError
from provscan.store.db import Store, StoreSettings, open_store
from provscan.web import api, pages, sites
from provscan.web.auth import (
    CSRF_HEADER,
    ROLE_KEY,
    SAFE_METHODS,
    SESSION_COOKIE,
    UNREADABLE_JSON,
)
from provscan.web.problems import one_line
from provscan.web.scans import ScanJobs
from provscan.web.security import (
    SECURITY_HEADERS,
    BodyLimit,
    SecurityHeaders,
    TrustedHosts,
    refuse_nul,
)

log = logging.getLogger("provscan.web")


def _for_people(request: Request) -> bool:
    """Whether an error answers a console address (an HTML page) rather than the API (JSON)."""
    path = request.url.path
    return not (path == api.PREFIX or path.startswith(f"{api.PREFIX}/"))


#: What the OpenAPI document says of every answer, the errors' one shape first.
API_DESCRIPTION = """\
Every error answer is JSON of one shape, `{"detail": "<one line>"}`: the line names the
parameter, field or header at fault and what is wrong with it. The statuses:

- **400**: the request names something the route does not take (an unknown query parameter,
  form field or JSON field; a query parameter given twice), a JSON body that cannot be read,
  text with a NUL character, or a value the route refuses (an unknown status or verdict, a
  damaged cursor, a refused change).
- **401** no or unknown credentials; **403** the role does not allow it, or a cookie
  session's change without its CSRF token; **404** no such scan, device, case, user or site.
- **409** (`POST /scans`) another scan is running.
- **413** a request body over 5 MiB; **415** a body sent as another type than the route
  reads (`application/json`, or `multipart/form-data` for an upload).
- **422**: a value that does not fit this document's schema (a wrong type, a number out of
  range, a text too long, a value not in the list, a required field missing).
- **429** (`POST /session`) the account or address is locked out for a while.

`HEAD` is answered wherever `GET` is."""

#: The OpenAPI names of the bodies FastAPI names after the route (``Body_<operation id>``).
_BODY_NAMES = {"Body_screen": "ScreenUpload"}
#: Where the one error shape lives in the OpenAPI document.
PROBLEM_REF = "#/components/schemas/Problem"


class HeadAsGet:
    """Answers ``HEAD`` wherever ``GET`` is answered (uptime monitors send HEAD): the GET's
    status and headers, without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def headless(message: Message) -> None:
            nonlocal ended
            if message["type"] != "http.response.body":
                await send(message)
            elif not ended:  # one empty body ends the answer; the rest is dropped
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, headless)


def create_app(
    store_url: str,
    settings: StoreSettings | None = None,
    *,
    tls: bool = False,
    allowed_hosts: Sequence[str] | None = None,
    central: Callable[[Store], Any] | None = None,
) -> FastAPI:
    """The web app over the store at ``store_url`` (opened and migrated now: a bad URL fails
    here, before the server listens). ``tls``: cookies are Secure and HSTS is sent.
    ``allowed_hosts``: the only ``Host`` headers answered (a page on another site that
    rebinds its DNS name to loopback gets 400), None: any. ``central``: makes the sensors'
    central over the store (``provscan serve --broker``), started and stopped with the app."""
    store = open_store(store_url, settings)
    hub = central(store) if central is not None else None
    #: Delivers pending events after an API scan or a case change, off the event loop.
    alerts = Deliverer(store, name="provscan-web-alerts")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if hub is not None:
            hub.start()
        yield
        if hub is not None:
            hub.stop()
        alerts.stop()
        store.close()

    app = FastAPI(
        title="provscan",
        summary="Restricted-vendor devices, cases and reports",
        description=API_DESCRIPTION,
        openapi_url=f"{api.PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI loads script from a CDN and needs inline script
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],  # no NUL in any text input, on every route
    )
    app.state.store = store
    app.state.tls = tls
    app.state.alerts = alerts
    app.state.scan_jobs = ScanJobs(store, alerts)
    app.state.central = hub
    app.include_router(api.router)
    app.include_router(sites.router)
    app.include_router(pages.router)
    # StaticFiles serves only files under the directory (no traversal), from the package.
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # No route, a wrong method, a refusal: JSON for the API, a page for a person.
        if exc.status_code == 405:
            others = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
            exc.headers = {**others, "Allow": _allowed(request)}
        if _for_people(request):
            answer = pages.error_page(request, exc.status_code, exc.detail)
            if exc.headers:
                answer.headers.update(exc.headers)
            return answer
        if exc.status_code == 404 and exc.detail == "Not Found":  # no route: a near miss?
            exc.detail = api.near_miss(request.url.path) or exc.detail
        if exc.detail == "There was an error parsing the body":  # FastAPI's words for it
            exc.detail = UNREADABLE_JSON
        elif not isinstance(exc.detail, str):
            exc.detail = str(exc.detail)
        return await http_exception_handler(request, exc)

    @app.exception_handler(StoreRequestError)
    async def bad_request(request: Request, exc: StoreRequestError) -> Response:
        said = str(exc).replace(f" in {store.display_name}", "")  # no server path
        if _for_people(request):
            return pages.error_page(request, 400, said)
        return JSONResponse({"detail": said}, status_code=400)

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError) -> Response:
        log.error("store error on %s %s: %s", request.method, request.url.path, exc)
        if _for_people(request):
            return pages.error_page(request, 503)
        return JSONResponse({"detail": "the store could not answer"}, status_code=503)

    @app.exception_handler(KnowledgeError)
    async def knowledge_failed(request: Request, exc: KnowledgeError) -> Response:
        # An installed pack changed on disk, or data that does not load: the server refuses
        # to judge with it (decision 0011) and says so; the message names paths, so it
        # stays in the log.
        log.error("knowledge error on %s %s: %s", request.method, request.url.path, exc)
        said = (
            "the server's knowledge cannot be used (damaged or changed since it was "
            "installed): an administrator runs `provscan knowledge status`"
        )
        if _for_people(request):
            return pages.error_page(request, 503, said)
        return JSONResponse({"detail": said}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # One line naming the parameter or field at fault, never the input echoed back.
        status, said = one_line(request, exc.errors())
        if _for_people(request):
            return pages.error_page(request, status, said)
        return JSONResponse({"detail": said}, status_code=status)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        # Nothing about the failure leaves the server; the log has it.
        if isinstance(exc, HTTPException):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        log.exception("internal error on %s %s", request.method, request.url.path)
        # This answer leaves through Starlette's outermost middleware, around SecurityHeaders.
        if _for_people(request):
            try:
                answer = pages.error_page(request, 500)
            except Exception:  # the page itself failed: the plain answer below
                log.exception("the error page failed")
            else:
                answer.headers.update(SECURITY_HEADERS)
                return answer
        return JSONResponse({"detail": "internal error"}, status_code=500, headers=SECURITY_HEADERS)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    if allowed_hosts is not None:
        app.add_middleware(TrustedHosts, allowed_hosts=list(allowed_hosts))
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, tls=tls)
    return app


def _allowed(request: Request) -> str:
    """The ``Allow`` header of a 405: every method some route takes at this path (each
    method of a path is its own route, so Starlette names only the first one's)."""
    path = request.url.path
    methods: set[str] = set()
    for router in (api.router, sites.router, pages.router):
        for candidate in router.routes:
            pattern = getattr(candidate, "path_regex", None)
            if pattern is not None and pattern.match(path):
                methods.update(getattr(candidate, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")  # HeadAsGet
    return ", ".join(sorted(methods))


#: How a caller proves who they are, in the OpenAPI document.
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token (`provscan users token NAME`)",
    },
    "cookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "the session cookie POST /api/v1/session sets",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": "the CSRF token POST /api/v1/session returns; with the cookie on "
        "every state-changing request",
    },
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with the security schemes, and on each operation the ways in: a
    Bearer token, or the session cookie (with its CSRF token on a state-changing request);
    none on logging in."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    _errors_documented(document)
    inputs: list[Any] = []
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            if isinstance(operation, dict):
                inputs += [operation.get("parameters", []), operation.get("requestBody", {})]
    refs = {ref.rsplit("/", 1)[-1] for ref in _refs(inputs)}
    schemas = document.get("components", {}).get("schemas", {})
    _no_nul([inputs, [schemas[name] for name in sorted(refs) if name in schemas]])
    for methods in document.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or ROLE_KEY not in operation:
                continue
            cookie: dict[str, list[str]] = {"cookie": []}
            if method.upper() not in SAFE_METHODS:
                cookie["csrf"] = []
            operation["security"] = [{"bearer": []}, cookie]
    app.openapi_schema = document
    return document


#: The errors every route that reads a body may give (and only those).
_BODY_PROBLEMS = {
    "413": "the request body is over 5 MiB",
    "415": "the body is not of the type the route reads (JSON, or multipart/form-data for "
    "an upload)",
}
_INVALID = (
    "a value that does not fit the schema (type, range, length, list of values, a required "
    "field): detail names it"
)


def _errors_documented(document: dict[str, Any]) -> None:
    """Every error answer documented as the one shape (``Problem``): FastAPI's 422 (a list
    of dicts it documents as ``HTTPValidationError``) is answered as one line by the app;
    413 and 415 on the routes that read a body; the bodies FastAPI names after the route
    given their names (:data:`_BODY_NAMES`)."""
    problem = {"application/json": {"schema": {"$ref": PROBLEM_REF}}}
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "422" in responses and "HTTPValidationError" in json.dumps(responses["422"]):
                responses["422"] = {"description": _INVALID, "content": problem}
            if "requestBody" in operation:
                for status, text in _BODY_PROBLEMS.items():
                    responses.setdefault(status, {"description": text, "content": problem})
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for old, new in _BODY_NAMES.items():
        if old in schemas:
            schemas[new] = {**schemas.pop(old), "title": new}
    text = json.dumps(document)
    for old, new in _BODY_NAMES.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    document.clear()
    document.update(json.loads(text))


#: Text without a NUL character: what every text input takes (:func:`refuse_nul`).
NO_NUL = "^[^\\u0000]*$"


def _refs(node: Any) -> set[str]:
    """The ``$ref`` targets under ``node``."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def _no_nul(node: Any) -> None:
    """Document on every text schema a request sends (without a pattern or list of values of its own, and
    not a file) that it takes no NUL character, as :func:`refuse_nul` enforces."""
    if isinstance(node, dict):
        if (
            node.get("type") == "string"
            and not {"pattern", "enum", "const"} & node.keys()
            and node.get("format") not in ("binary", "date-time")
        ):
            node["pattern"] = NO_NUL
        for value in node.values():
            _no_nul(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul(value)
