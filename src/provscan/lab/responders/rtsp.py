"""RTSP/1.0 responder: OPTIONS and DESCRIBE, several requests per connection.

``service.options``::

    server: "Rtsp Server/3.0"          # or null: no Server header at all
    public: "OPTIONS, DESCRIBE, ..."   # the Public header of OPTIONS replies
    date_style: rfc1123 | hikvision    # hikvision = "Date:  Thu, May 14 2020 16:45:35 GMT"
    auth:                              # challenges sent with a 401 to DESCRIBE, in order
      - {scheme: Digest, realm: "Login to {serial}"}
      - {scheme: Basic, realm: "/"}

    replies:                           # recorded replies, replayed as written (optional)
      DESCRIBE: {status: 401, reason: Unauthorized, headers: [[WWW-Authenticate, ...]]}
      "*": {status: 401, headers: [[Server, "Dahua Rtsp Server"]]}   # any other method

Realms may use ``{serial}``, ``{mac}``, ``{mac_plain}``, ``{model}`` from device.identity.
Each challenge goes in its own ``WWW-Authenticate`` header; Digest challenges get a fresh
nonce. Without ``auth`` a DESCRIBE gets 200 and a minimal SDP. Other methods get 405.
A method found in ``replies`` (or ``"*"``) is answered with that recorded reply instead:
its status line, then ``CSeq``, then exactly its headers (no Server, Date or Public added).
"""

from __future__ import annotations

import asyncio
import email.utils
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from provscan.errors import ProtocolError
from provscan.lab.responders._io import close, fill_identity, read_exactly, read_head
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import rtsp as wire
from provscan.wire._headers import first_header

HEAD_CAP = 8 * 1024
BODY_CAP = 16 * 1024
MAX_REQUESTS = 16
DEFAULT_PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, SET_PARAMETER, GET_PARAMETER"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChallengeSpec(_Strict):
    scheme: Literal["Digest", "Basic"]
    realm: str
    #: Extra Digest auth-params, e.g. {"qop": "auth", "stale": "FALSE"}.
    params: dict[str, str] = Field(default_factory=dict)


class RecordedReply(_Strict):
    """A reply a real device was seen to send, replayed header for header."""

    status: int = Field(default=200, ge=100, le=999)
    reason: str = "OK"
    headers: list[tuple[str, str]] = Field(default_factory=list)


class RtspOptions(_Strict):
    server: str | None = None
    public: str = DEFAULT_PUBLIC
    date_style: Literal["rfc1123", "hikvision"] = "rfc1123"
    auth: list[ChallengeSpec] = Field(default_factory=list)
    #: Recorded replies by method ("*" = any method without its own entry).
    replies: dict[str, RecordedReply] = Field(default_factory=dict)


def validate_options(options: Mapping[str, Any]) -> RtspOptions:
    """Parse ``service.options`` for this responder (raises pydantic.ValidationError)."""
    return RtspOptions.model_validate(dict(options))


def format_date(now: datetime, style: str) -> tuple[str, str]:
    """(header name, value) for the Date header; the Hikvision style puts two spaces after
    the colon (so the value carries one leading space) and the month before the day."""
    now = now.astimezone(UTC)
    if style == "hikvision":
        return "Date", " " + now.strftime("%a, %b %d %Y %H:%M:%S GMT")
    return "Date", email.utils.format_datetime(now, usegmt=True)


def _challenge(spec: ChallengeSpec, device: DeviceSpec) -> str:
    realm = fill_identity(spec.realm, device)
    if spec.scheme == "Digest":
        params = {"nonce": secrets.token_hex(16), **spec.params}
        return wire.build_challenge("Digest", realm, **params)
    return wire.build_challenge("Basic", realm)


def _reply(method: str, cseq: str | None, options: RtspOptions, device: DeviceSpec) -> bytes:
    recorded = options.replies.get(method) or options.replies.get("*")
    if recorded is not None:
        return wire.build_response(recorded.status, recorded.reason, cseq, recorded.headers)
    headers: list[tuple[str, str]] = []
    if options.server is not None:
        headers.append(("Server", options.server))
    headers.append(format_date(datetime.now(UTC), options.date_style))
    if method == "OPTIONS":
        headers.append(("Public", options.public))
        return wire.build_response(200, "OK", cseq, headers)
    if method == "DESCRIBE":
        if options.auth:
            headers += [("WWW-Authenticate", _challenge(spec, device)) for spec in options.auth]
            return wire.build_response(401, "Unauthorized", cseq, headers)
        sdp = (
            b"v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=Media Presentation\r\nt=0 0\r\n"
            b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        )
        headers.append(("Content-Type", "application/sdp"))
        return wire.build_response(200, "OK", cseq, headers, sdp)
    headers.append(("Allow", options.public))
    return wire.build_response(405, "Method Not Allowed", cseq, headers)


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = validate_options(service.options)
    try:
        for _ in range(MAX_REQUESTS):
            head = await read_head(reader, HEAD_CAP)
            if head is None:
                break
            try:
                method, _url, headers = wire.parse_request_head(head)
            except ProtocolError:
                writer.write(wire.build_response(400, "Bad Request", None))
                await writer.drain()
                break
            length = first_header(headers, "Content-Length")
            if (
                length
                and length.strip().isdigit()
                and (int(length) > BODY_CAP or await read_exactly(reader, int(length)) is None)
            ):
                break
            writer.write(_reply(method, first_header(headers, "CSeq"), options, device))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        await close(writer)
