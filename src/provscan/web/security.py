"""Headers every response carries, and the request-size limit, as plain ASGI middleware;
and the one check of text input every route gets (no NUL character)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: No inline script or style anywhere, nothing framed, nothing sniffed, no referrer.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}
#: Largest request body accepted (an uploaded procurement list included).
MAX_BODY_BYTES = 5 * 1024 * 1024


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` (and HSTS under TLS) to every response."""

    def __init__(self, app: ASGIApp, *, tls: bool = False) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        if tls:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


#: The one answer to text input with a NUL character (PostgreSQL cannot store it in a text
#: column, SQLite would compare it wrongly, and no name, note or address holds one).
NUL_REFUSED = "text input must not contain a NUL character (\\u0000 or %00)"
#: A JSON ``\u0000`` escape: after an even number of backslashes (``\\u0000`` is a
#: backslash and the text ``u0000``).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
#: Bodies read as text: JSON and HTML forms (an uploaded file is data, never checked).
_TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")


async def refuse_nul(request: Request) -> None:
    """Refuse (400, :data:`NUL_REFUSED`) a request whose path, query string or text body
    (JSON, a form) holds a NUL character: every route of the app, before it reads anything,
    on every store alike (a dependency of the app, not of each route)."""
    scope = request.scope
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
    query = scope.get("query_string", b"")
    if b"\x00" in unquote_to_bytes(raw_path) or b"\x00" in unquote_to_bytes(query):
        raise HTTPException(400, NUL_REFUSED)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in ("GET", "HEAD", "OPTIONS") or kind not in _TEXT_BODIES:
        return
    body = await request.body()  # kept: the route reads it again
    if b"\x00" in body:
        raise HTTPException(400, NUL_REFUSED)
    if kind == "application/json" and b"u0000" in body and _JSON_NUL.search(body):
        raise HTTPException(400, NUL_REFUSED)
    if kind != "application/json" and b"\x00" in unquote_to_bytes(body.replace(b"+", b" ")):
        raise HTTPException(400, NUL_REFUSED)


class BodyLimit:
    """Answers 413 to a request whose body is larger than ``limit`` bytes, declared or not."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(send, scope)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _too_large(send, scope)


class _BodyTooLarge(Exception):
    pass


#: The 413 page of a console address (the API answers JSON); a plain page, as the request
#: was not read far enough to know its session.
_TOO_LARGE_PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Too large · provscan'
    '</title><link rel="stylesheet" href="/static/console.css"></head><body><main id="main">'
    "<h1>Too large</h1>"
    f'<p class="problem" role="alert">The request is over {MAX_BODY_BYTES // 1_048_576} MB: '
    "choose a smaller file.</p>"
    '<p><a href="/">Back to the dashboard</a></p></main></body></html>\n'
).encode()


async def _too_large(send: Send, scope: Scope) -> None:
    await _answer(send, scope, 413, b'{"detail":"request body too large"}', _TOO_LARGE_PAGE)


async def _answer(send: Send, scope: Scope, status: int, api_body: bytes, page: bytes) -> None:
    """Answer ``status`` before the app: ``api_body`` (JSON) to an /api address, ``page``
    (HTML) to a console one, as the app's own errors are answered."""
    path = str(scope.get("path", ""))
    if path == "/api" or path.startswith("/api/"):
        body, kind = api_body, b"application/json"
    else:
        body, kind = page, b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TrustedHosts:
    """Answers only requests whose ``Host`` header names one of ``allowed_hosts`` (a page
    on another site that rebinds its DNS name to loopback is refused): any other, or none,
    gets 400, ``{"detail": ...}`` under /api and a page elsewhere, like the app's errors.
    A name is compared without its port; ``*.example.org`` allows the names under it."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed = [name.lower() for name in allowed_hosts]
        said = f"the Host header does not name this server (it answers {', '.join(allowed_hosts)})"
        self.api_body = json.dumps({"detail": said}).encode()
        self.page = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Not done · '
            'provscan</title></head><body><main id="main"><h1>Not done</h1>'
            f'<p class="problem" role="alert">This server answers only at '
            f"{html.escape(', '.join(allowed_hosts))}: open the console at one of those "
            "names.</p></main></body></html>\n"
        ).encode()

    def _allows(self, header: str | None) -> bool:
        value = (header or "").strip().lower()
        # without the port; an IPv6 literal ([::1]:8080) whole with its brackets
        bracketed = value.startswith("[")
        name = value[: value.find("]") + 1] if bracketed else value.split(":", 1)[0]
        if not name:
            return False
        return any(
            name == pattern
            or pattern == "*"
            or (pattern.startswith("*.") and name.endswith(pattern[1:]))
            for pattern in self.allowed
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._allows(
            Headers(scope=scope).get("host")
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # none is served; refused before it is accepted
            await send({"type": "websocket.close", "code": 1008})
            return
        await _answer(send, scope, 400, self.api_body, self.page)
