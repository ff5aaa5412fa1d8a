"""RTSP: a response (and the User-Agent of a host's own requests) -> observations."""

from __future__ import annotations

from collections.abc import Sequence

from provscan.model import Observation
from provscan.wire._headers import first_header, format_head
from provscan.wire.rtsp import RtspResponse

PROTOCOL = "rtsp"
#: Longest request header value kept.
MAX_VALUE_CHARS = 200


def response_observations(port: int, method: str, response: RtspResponse) -> list[Observation]:
    """Status line, the head as text, Server, Public, Date, the challenges and their realms
    (``method``: the request answered, kept as detail)."""
    found = [Observation(PROTOCOL, port, "rtsp.status_line", response.status_line, method)]
    if method == "OPTIONS":
        # the head as text, for matchers that read a whole reply (nmap's service probes ask
        # OPTIONS only; the heads of other methods are not kept)
        head = format_head(response.status_line, response.headers)
        found.append(Observation(PROTOCOL, port, "rtsp.head", head, method))
    for field, value in (
        ("rtsp.server", response.server),
        ("rtsp.public", response.public),
        ("rtsp.date", response.date),
    ):
        if value:
            found.append(Observation(PROTOCOL, port, field, value, method))
    raw = response.www_authenticate
    if raw:
        found.append(Observation(PROTOCOL, port, "rtsp.www_authenticate", " | ".join(raw), method))
        for challenge in response.challenges:
            if challenge.realm is not None:
                detail = f"{method} {challenge.scheme}"
                found.append(Observation(PROTOCOL, port, "rtsp.realm", challenge.realm, detail))
    return found


def request_observations(
    headers: Sequence[tuple[str, str]], port: int, detail: str
) -> list[Observation]:
    """``rtsp.user_agent`` of a request a host sent (``port``: the server's)."""
    agent = first_header(list(headers), "User-Agent")
    if not agent:
        return []
    return [Observation(PROTOCOL, port, "rtsp.user_agent", agent[:MAX_VALUE_CHARS], detail)]
