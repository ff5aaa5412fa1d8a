"""Who is asking: a Bearer API token or a session cookie (with its CSRF token on every
state-changing request), and whether their role allows the route."""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, params
from fastapi.routing import APIRoute

from provscan.store.db import Store
from provscan.store.users import ROLES, User

SESSION_COOKIE = "provscan_session"
CSRF_HEADER = "x-csrf-token"
#: Methods that change nothing; every other one needs the CSRF token with a cookie.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The OpenAPI extension naming the weakest role a route admits (the tests read it).
ROLE_KEY = "x-provscan-role"


@dataclass(frozen=True)
class Principal:
    user: User
    #: ``token`` or ``session``.
    via: str


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def store_message(exc: Exception, request: Request) -> str:
    """A store message without the database it names (a file path on the server)."""
    shown = store_of(request).display_name
    return str(exc).replace(f" in {shown}", "").replace(shown, "the store")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def _unauthenticated(message: str = "log in or send an API token") -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def principal(request: Request) -> Principal:
    """The caller, or 401. A cookie session's unsafe request without its CSRF token: 403."""
    accounts = store_of(request).accounts()
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("the Authorization header takes a Bearer token")
        user = accounts.token_user(token.strip())
        if user is None:
            # a guessed or revoked token: audited (within the refusal budget), never echoed
            record_refusal(request, UNKNOWN_ACTOR, "refused.token")
            raise _unauthenticated("unknown API token")
        return Principal(user, "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise _unauthenticated()
    found = accounts.session_user(cookie)
    if found is None:
        raise _unauthenticated("the session has ended; log in again")
    user, csrf = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode(), csrf.encode()):
            record_refusal(request, user.name, "refused.csrf")
            raise HTTPException(403, "missing or wrong CSRF token (header X-CSRF-Token)")
    return Principal(user, "session")


#: The actor of an audit row when the caller could not be told (an unknown API token).
UNKNOWN_ACTOR = "(unknown)"
#: Longest request path an audit row keeps.
AUDITED_PATH = 200


def record_refusal(
    request: Request, actor: str, action: str, detail: Mapping[str, object] | None = None
) -> None:
    """The audit row of a refused attempt on this request (within the store's refusal
    budget, :func:`provscan.store.users.refusal_entry`): who, what (the method and path),
    from where."""
    store_of(request).accounts().refused(
        actor,
        action,
        client_address(request),
        request.url.path[:AUDITED_PATH],
        {"method": request.method, **(detail or {})},
    )


def require(role: str) -> Callable[[Request, Principal], Principal]:
    """A dependency admitting ``role`` and the roles above it (403 for the others)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def check(request: Request, caller: Annotated[Principal, Depends(principal)]) -> Principal:
        if not caller.user.can(role):
            if request.method not in SAFE_METHODS:  # a change refused: audited
                record_refusal(
                    request,
                    caller.user.name,
                    "refused.role",
                    {"role": caller.user.role, "needs": role},
                )
            raise HTTPException(403, f"this needs the {role} role")
        return caller

    return check


#: id of a route -> the query parameters it takes (routes live as long as the app).
_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` takes (its own and its dependencies')."""
    known = _QUERY_NAMES.get(id(route))
    if known is not None:
        return known
    names: set[str] = set()
    dependants = [route.dependant]
    while dependants:
        dependant = dependants.pop()
        names.update(param.alias for param in dependant.query_params)
        dependants.extend(dependant.dependencies)
    _QUERY_NAMES[id(route)] = frozenset(names)
    return _QUERY_NAMES[id(route)]


def known_query(request: Request) -> None:
    """Refuse (400) a query parameter the route does not take, or one given twice (every
    parameter takes one value): a misspelt or unsupported filter must not read as "no
    filter" and answer every row, nor ``?verdict=restricted&verdict=clear`` as one of them."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = f"it takes {', '.join(sorted(known))}" if known else "it takes none"
        names = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise HTTPException(
            400, f"unknown query parameter{'s' if len(unknown) > 1 else ''} {names}: {takes}"
        )
    given = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, times in given.items() if times > 1)
    if repeated:
        names = ", ".join(repr(name[:40]) for name in repeated[:5])
        raise HTTPException(
            400, f"query parameter {names} given more than once: each takes one value"
        )


#: The one answer (415) to a body sent as another type than the route reads, every route.
NOT_JSON = "the body must be JSON: send it with content-type: application/json"
NOT_MULTIPART = "the upload must be multipart/form-data (content-type: multipart/form-data)"
#: The one answer (400) to a JSON body that cannot be read, every route.
UNREADABLE_JSON = "the body is not JSON that can be read"


def is_json(content_type: str) -> bool:
    """Whether a ``content-type`` header names JSON (``application/json``, ``…+json``)."""
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def takes_form(route: APIRoute) -> bool:
    """Whether ``route``'s body is a form (an upload), not JSON."""
    return route.body_field is not None and isinstance(route.body_field.field_info, params.Form)


def body_type(request: Request) -> None:
    """Refuse (415) a body of another type than the route reads: JSON for a route that
    takes a JSON body (:data:`NOT_JSON`, as ``POST /session`` says it), multipart/form-data
    for an upload; a route without a body takes anything (and reads nothing)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    sent = request.headers.get("content-type", "")
    if takes_form(route):
        if sent.split(";")[0].strip().lower() != "multipart/form-data":
            raise HTTPException(415, NOT_MULTIPART)
    elif not is_json(sent):
        raise HTTPException(415, NOT_JSON)
