"""A recorded NetBox REST API served on 127.0.0.1 for the tests: the device list of
fixtures/netbox_devices.json (NetBox 4 shape, see fixtures/README.md) paged two at a time,
tags and custom fields, PATCH on devices. Every request is recorded."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURE = Path(__file__).parent / "fixtures" / "netbox_devices.json"
TOKEN = "0123456789abcdef0123456789abcdef01234567"
#: NetBox's MAX_PAGE_SIZE of this server: every list takes several pages.
PAGE_SIZE = 2
#: Where this server's ``next`` links point: another loopback address, as NetBox behind a
#: proxy writes its own idea of its address. A client must stay on the server it was given.
NEXT_LINK_ORIGIN = "http://127.0.0.2:9"


@dataclass
class NetBoxState:
    devices: list[dict[str, Any]]
    tags: list[dict[str, Any]] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] not in ("GET", "HEAD", "OPTIONS")]


def _page(items: list[dict[str, Any]], path: str, query: dict[str, list[str]]) -> dict[str, Any]:
    limit = min(int(query.get("limit", ["50"])[0]), PAGE_SIZE)
    offset = int(query.get("offset", ["0"])[0])
    chunk = items[offset : offset + limit]
    following = offset + limit
    next_link = None
    if following < len(items):
        params = {k: v[0] for k, v in query.items()}
        params.update(limit=str(limit), offset=str(following))
        next_link = f"{NEXT_LINK_ORIGIN}{path}?{urlencode(params)}"
    return {"count": len(items), "next": next_link, "previous": None, "results": chunk}


def _handler(state: NetBoxState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, document: Any) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            with state.lock:
                state.requests.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "query": {k: v[0] for k, v in query.items()},
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                if self.headers.get("Authorization") not in (f"Token {TOKEN}",):
                    self._answer(403, {"detail": "Invalid token"})
                    return
                self._route(parts.path, query, body)

        def _route(self, path: str, query: dict[str, list[str]], body: Any) -> None:
            if path == "/api/dcim/devices/" and self.command == "GET":
                site = query.get("site", [None])[0]
                found = [d for d in state.devices if site is None or d["site"]["slug"] == site]
                self._answer(200, _page(found, path, query))
            elif path.startswith("/api/dcim/devices/") and self.command == "PATCH":
                ident = int(path.rstrip("/").rsplit("/", 1)[1])
                device = next((d for d in state.devices if d["id"] == ident), None)
                if device is None:
                    self._answer(404, {"detail": "No Device matches the given query."})
                    return
                if "custom_fields" in body:
                    unknown = set(body["custom_fields"]) - {f["name"] for f in state.custom_fields}
                    if unknown:
                        self._answer(400, {"custom_fields": [f"Unknown field name {unknown}"]})
                        return
                    device["custom_fields"].update(body["custom_fields"])
                if "tags" in body:
                    by_slug = {t["slug"]: t for t in state.tags}
                    missing = [t["slug"] for t in body["tags"] if t["slug"] not in by_slug]
                    if missing:
                        self._answer(400, {"tags": [f"Related object not found: {missing}"]})
                        return
                    device["tags"] = [by_slug[t["slug"]] for t in body["tags"]]
                self._answer(200, device)
            elif path in ("/api/extras/tags/", "/api/extras/custom-fields/"):
                items = state.tags if path.endswith("tags/") else state.custom_fields
                if self.command == "GET":
                    key = "slug" if path.endswith("tags/") else "name"
                    wanted = query.get(key, [None])[0]
                    found = [i for i in items if wanted is None or i[key] == wanted]
                    self._answer(200, _page(found, path, query))
                else:
                    created = {"id": 100 + len(items), **body}
                    items.append(created)
                    self._answer(201, created)
            else:
                self._answer(404, {"detail": "Not found."})

        do_GET = _handle
        do_POST = _handle
        do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def netbox_server() -> Iterator[tuple[str, NetBoxState]]:
    devices = json.loads(FIXTURE.read_text(encoding="utf-8"))["devices"]
    state = NetBoxState(copy.deepcopy(devices))
    # the tags that exist in the recorded instance (the devices carry them)
    state.tags = list({t["slug"]: t for d in devices for t in d["tags"]}.values())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
