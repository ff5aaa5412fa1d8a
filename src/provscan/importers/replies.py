"""Raw replies another tool recorded (nmap's ``servicefp``, masscan's banners) -> the
observations a probe makes from the same bytes, through the same ``wire`` parsers and
``observations`` mappings."""

from __future__ import annotations

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import banner as observe_banner
from provscan.observations import http as observe_http
from provscan.observations import rtsp as observe_rtsp
from provscan.observations import tls as observe_tls
from provscan.wire import http1, rtsp, tls

#: nmap probes that send no request: what came back is the service's own banner.
BANNER_PROBES = frozenset({"NULL", "GenericLines"})


def reply_observations(port: int, data: bytes, detail: str, *, banner: bool) -> list[Observation]:
    """What ``data`` (a reply recorded on ``port``) shows, read as HTTP, RTSP or a TLS
    handshake when it is one, else as a banner when ``banner`` (the service spoke first).

    ``detail`` says where the bytes came from (e.g. ``nmap servicefp GetRequest``).
    """
    head = data.lstrip(b"\r\n\t ")[:8]
    if head.startswith(b"HTTP/"):
        try:
            response = http1.parse_response(data)
        except ProtocolError:
            return []
        return observe_http.response_observations(response, port, detail)
    if head.startswith(b"RTSP/"):
        try:
            reply = rtsp.parse_response(data)
        except ProtocolError:
            return []
        return observe_rtsp.response_observations(port, detail, reply)
    if tls.looks_like_tls(data):
        return certificate_observations(port, data)
    if banner:
        return observe_banner.banner_observations(port, data, detail)
    return []


def certificate_observations(port: int, data: bytes) -> list[Observation]:
    """The leaf certificate of a recorded server handshake, when it holds one."""
    try:
        handshake = tls.server_handshake(data)
        if not handshake.certificates:
            return []
        certificate = tls.parse_certificate(handshake.certificates[0])
    except (ProtocolError, ValueError, IndexError):
        return []
    return observe_tls.certificate_observations(certificate, port)


def pem_observations(port: int, pem: str) -> list[Observation]:
    """A PEM certificate (nmap's ssl-cert ``pem``) -> the observations of the TLS probe."""
    import base64
    import binascii

    body = "".join(
        line.strip() for line in pem.splitlines() if line.strip() and "-----" not in line
    )
    try:
        der = base64.b64decode(body, validate=False)
        certificate = tls.parse_certificate(der)
    except (binascii.Error, ProtocolError, ValueError):
        return []
    return observe_tls.certificate_observations(certificate, port)


def banner_observations(port: int, data: bytes, detail: str) -> list[Observation]:
    """A recorded banner (SSH, FTP, telnet): the banner probe's observations."""
    return observe_banner.banner_observations(port, data, detail)
