"""HTTP Digest access authentication (RFC 7616) and the ONVIF WS-UsernameToken, as pure functions.

Only what embedded cameras use: ``algorithm=MD5`` (the default) or ``MD5-sess`` or
``SHA-256``, with ``qop=auth`` or no qop at all (RFC 2069 style, old firmware). ``auth-int``
is not offered by the devices provscan talks to and is refused rather than faked.

Nothing here does I/O or logs: callers pass the password in and get a header value out, so
a credential never reaches a log line, an observation or a report through this module.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from provscan.errors import ProtocolError

_HASHES = {"MD5": hashlib.md5, "MD5-SESS": hashlib.md5, "SHA-256": hashlib.sha256}
_HASHES["SHA-256-SESS"] = hashlib.sha256
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')
#: Longest challenge header considered (a hostile device may send megabytes).
MAX_CHALLENGE_CHARS = 4096


@dataclass(frozen=True)
class DigestChallenge:
    """The parameters of one ``WWW-Authenticate: Digest ...`` challenge."""

    realm: str
    nonce: str
    qop: tuple[str, ...] = ()
    algorithm: str = "MD5"
    opaque: str | None = None
    stale: bool = False


def parse_digest_challenge(header_value: str) -> DigestChallenge | None:
    """The Digest challenge in one header value, or None when it is not a Digest challenge.

    Raises ProtocolError when it claims Digest but lacks a realm or nonce.
    """
    text = header_value[:MAX_CHALLENGE_CHARS].strip()
    scheme, _, rest = text.partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        name = match.group(1).lower()
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
        params.setdefault(name, value)
    if "realm" not in params or "nonce" not in params:
        raise ProtocolError("Digest challenge without realm or nonce")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return DigestChallenge(
        realm=params["realm"],
        nonce=params["nonce"],
        qop=qop,
        algorithm=(params.get("algorithm") or "MD5").upper(),
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


def _hex(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode("utf-8")).hexdigest()


def digest_response(
    challenge: DigestChallenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nonce_count: int = 1,
) -> str:
    """The ``response`` value of RFC 7616 §3.4.1 for ``qop=auth`` (or no qop, RFC 2069)."""
    algorithm = challenge.algorithm
    if algorithm not in _HASHES:
        raise ProtocolError(f"unsupported Digest algorithm {algorithm!r}")
    ha1 = _hex(algorithm, f"{username}:{challenge.realm}:{password}")
    if algorithm.endswith("-SESS"):
        ha1 = _hex(algorithm, f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _hex(algorithm, f"{method}:{uri}")
    if not challenge.qop:
        return _hex(algorithm, f"{ha1}:{challenge.nonce}:{ha2}")
    if "auth" not in challenge.qop:
        raise ProtocolError(f"unsupported Digest qop {','.join(challenge.qop)!r}")
    return _hex(algorithm, f"{ha1}:{challenge.nonce}:{nonce_count:08x}:{cnonce}:auth:{ha2}")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_authorization(
    challenge: DigestChallenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nonce_count: int = 1,
) -> str:
    """The value of the ``Authorization`` header answering ``challenge``."""
    response = digest_response(
        challenge,
        method=method,
        uri=uri,
        username=username,
        password=password,
        cnonce=cnonce,
        nonce_count=nonce_count,
    )
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(challenge.realm)}",
        f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}",
        f"algorithm={challenge.algorithm}",
        f"response={_quote(response)}",
    ]
    if challenge.qop:
        parts += ["qop=auth", f"nc={nonce_count:08x}", f"cnonce={_quote(cnonce)}"]
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)


def parse_digest_authorization(header_value: str) -> dict[str, str]:
    """Parameters of an ``Authorization: Digest ...`` header (used by the lab to verify)."""
    scheme, _, rest = header_value[:MAX_CHALLENGE_CHARS].strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
        params.setdefault(match.group(1).lower(), value)
    return params


# --- ONVIF WS-Security UsernameToken (ONVIF Core §5.9.4; OASIS WSS UsernameToken 1.0) -----

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
NONCE_ENCODING = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """``Base64(SHA-1(nonce + created + password))`` of the UsernameToken profile."""
    digest = hashlib.sha1(nonce + created.encode("utf-8") + password.encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def _xml_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def username_token_header(username: str, password: str, nonce: bytes, created: datetime) -> str:
    """A ``<wsse:Security>`` SOAP header with a PasswordDigest UsernameToken."""
    created_text = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<wsse:Security s:mustUnderstand="1" xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}">'
        f"<wsse:UsernameToken><wsse:Username>{_xml_escape(username)}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_DIGEST_TYPE}">'
        f"{password_digest(nonce, created_text, password)}</wsse:Password>"
        f'<wsse:Nonce EncodingType="{NONCE_ENCODING}">'
        f"{base64.b64encode(nonce).decode('ascii')}</wsse:Nonce>"
        f"<wsu:Created>{created_text}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def onvif_request_with_token(body: str, security_header: str) -> bytes:
    """A SOAP 1.2 device-service envelope with a security header (``body``: the operation)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
        'xmlns:tt="http://www.onvif.org/ver10/schema">'
        f"<s:Header>{security_header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def verify_username_token(password: str, token_password: str, nonce_b64: str, created: str) -> bool:
    """Check a received PasswordDigest (used by the lab)."""
    try:
        nonce = base64.b64decode(nonce_b64, validate=True)
    except ValueError:
        return False
    return password_digest(nonce, created, password) == token_password
