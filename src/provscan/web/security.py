"""Headers every response carries, and the request-size limit, as plain ASGI middleware."""

from __future__ import annotations

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
    path = str(scope.get("path", ""))
    if path == "/api" or path.startswith("/api/"):
        body, kind = b'{"detail":"request body too large"}', b"application/json"
    else:
        body, kind = _TOO_LARGE_PAGE, b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
