"""The application: ``create_app(store_url, settings)`` opens the store and mounts the API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import Response

from provscan.errors import StoreError, StoreRequestError
from provscan.store.db import Store, StoreSettings, open_store
from provscan.web import api, pages, sites
from provscan.web.scans import ScanJobs
from provscan.web.security import SECURITY_HEADERS, BodyLimit, SecurityHeaders

log = logging.getLogger("provscan.web")


def _for_people(request: Request) -> bool:
    """Whether an error answers a console address (an HTML page) rather than the API (JSON)."""
    path = request.url.path
    return not (path == api.PREFIX or path.startswith(f"{api.PREFIX}/"))


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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if hub is not None:
            hub.start()
        yield
        if hub is not None:
            hub.stop()
        store.close()

    app = FastAPI(
        title="provscan",
        summary="Restricted-vendor devices, cases and reports",
        openapi_url=f"{api.PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI loads script from a CDN and needs inline script
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.tls = tls
    app.state.scan_jobs = ScanJobs(store)
    app.state.central = hub
    app.include_router(api.router)
    app.include_router(sites.router)
    app.include_router(pages.router)
    # StaticFiles serves only files under the directory (no traversal), from the package.
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # No route, a wrong method, a refusal: JSON for the API, a page for a person.
        if _for_people(request):
            return pages.error_page(request, exc.status_code, exc.detail)
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

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The fields at fault, without echoing the input back.
        problems = [
            {"loc": list(error.get("loc", ())), "msg": error.get("msg", "")}
            for error in exc.errors()
        ]
        return JSONResponse({"detail": problems}, status_code=422)

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

    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, tls=tls)
    return app
