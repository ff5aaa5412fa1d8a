"""Signed messages between the central and its sensors: an HMAC-SHA256 per site.

Every message that crosses the broker is an *envelope*: the payload as canonical JSON text,
the site and kind it is for, and the HMAC of all three under the site's key. A sensor holds
only its own site's key, so a message for another site, a forged one or one that was changed
in the broker fails :func:`open_envelope`; the central holds every site's key and checks the
outcomes and heartbeats it ingests the same way (docs/decisions/0020-sensors.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provscan.errors import ProvscanError

#: Kinds of message: central -> sensor (``scan``), sensor -> central (the rest).
KINDS = ("scan", "started", "outcome", "heartbeat")
#: Bytes of a site key (hex in its file).
KEY_BYTES = 32
#: Envelope format version, part of what is signed.
VERSION = 1
_DOMAIN = b"provscan-sensor-message"


class MessageRejected(ProvscanError):
    """A message that is not what it claims to be (unsigned, forged, changed, misaddressed)."""


class SiteKeyError(ProvscanError):
    """A site key file that cannot be used."""


def new_key() -> str:
    """A new site key, as the hex text its file holds."""
    return secrets.token_hex(KEY_BYTES)


def load_key(path: Path) -> bytes:
    """A site key from its file (hex, at least ``KEY_BYTES`` bytes)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteKeyError(f"cannot read the key file {path}: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise SiteKeyError(
            f"{path}: a key file holds hex text (make one with `openssl rand -hex 32`)"
        ) from None
    if len(key) < KEY_BYTES:
        raise SiteKeyError(f"{path}: the key is {len(key)} bytes; at least {KEY_BYTES} are needed")
    return key


def _mac(key: bytes, kind: str, site: str, body: str) -> str:
    message = b"\n".join(
        (_DOMAIN, str(VERSION).encode(), kind.encode(), site.encode(), body.encode("utf-8"))
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(kind: str, site: str, payload: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The envelope of ``payload`` for ``site``, signed with the site's ``key``."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {
        "v": VERSION,
        "kind": kind,
        "site": site,
        "body": body,
        "mac": _mac(key, kind, site, body),
    }


def open_envelope(
    envelope: Any, key_for: Callable[[str], bytes | None], *, kinds: tuple[str, ...]
) -> tuple[str, str, dict[str, Any]]:
    """``(kind, site, payload)`` of an authentic envelope, else :class:`MessageRejected`.

    ``key_for(site)`` is the key of a site this side accepts, None for any other."""
    if not isinstance(envelope, dict):
        raise MessageRejected("not an envelope")
    kind, site, body, mac = (envelope.get(k) for k in ("kind", "site", "body", "mac"))
    if not (
        isinstance(kind, str)
        and isinstance(site, str)
        and isinstance(body, str)
        and isinstance(mac, str)
    ):
        raise MessageRejected("unsigned or incomplete envelope")
    if envelope.get("v") != VERSION:
        raise MessageRejected(f"unknown envelope version {envelope.get('v')!r}")
    if kind not in kinds:
        raise MessageRejected(f"a {kind!r} message is not accepted here")
    key = key_for(site)
    if key is None:
        raise MessageRejected(f"a message for site {site!r}, which is not ours")
    if not hmac.compare_digest(_mac(key, kind, site, body), mac):
        raise MessageRejected(f"bad signature on a {kind!r} message for site {site!r}")
    try:
        payload = json.loads(body)
    except ValueError:
        raise MessageRejected("a signed body that is not JSON") from None
    if not isinstance(payload, dict):
        raise MessageRejected("a signed body that is not an object")
    return kind, site, payload
