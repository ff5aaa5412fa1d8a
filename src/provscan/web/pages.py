"""The console's server-rendered pages (first increment: log in, the dashboard, log out).

Jinja2 with autoescape on every template: device text is always escaped. No inline script
or style (the CSP forbids both); forms carry a CSRF token: before login a double-submit
cookie, after it the session's synchronizer token.
"""

from __future__ import annotations

import hmac
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader

from provscan.store.users import LoginRefused, User
from provscan.web.auth import SESSION_COOKIE, client_address, store_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
#: The double-submit cookie of the login form (there is no session yet).
LOGIN_CSRF_COOKIE = "provscan_login_csrf"
#: Restricted devices listed on the dashboard.
DASHBOARD_DEVICES = 20

router = APIRouter(include_in_schema=False)


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(**values)
    return HTMLResponse(html, status_code=status)


def _session(request: Request) -> tuple[User, str] | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return store_of(request).accounts().session_user(cookie) if cookie else None


def _login_page(request: Request, problem: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = _page(
        "login.html.j2", status, title="Log in", user=None, csrf=token, problem=problem
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.tls),
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    sent, expected = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
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


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    found = await run_in_threadpool(_session, request)
    if found is not None:
        user, csrf = found
        sent = str(form.get("csrf_token", ""))
        if not sent or not hmac.compare_digest(sent.encode(), csrf.encode()):
            return HTMLResponse("missing or wrong CSRF token", status_code=403)
        await run_in_threadpool(
            store_of(request).accounts().close_session,
            request.cookies[SESSION_COOKIE],
            actor=user.name,
            address=client_address(request),
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def dashboard(request: Request) -> Response:
    """The dashboard: totals, restricted devices by maker and site, the first of them."""
    from provscan.knowledge.packs import active_pack
    from provscan.store.pages import PageFilters

    found = _session(request)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    user, csrf = found
    store = store_of(request)
    devices, _ = store.inventory_page(None, DASHBOARD_DEVICES, PageFilters(restricted=True))
    pack = active_pack()
    return _page(
        "dashboard.html.j2",
        title="Dashboard",
        user=user,
        csrf=csrf,
        counts=store.dashboard(),
        devices=devices,
        knowledge={"version": pack.version, "as_of": pack.as_of},
    )
