"""Signed messages between the central and its sensors: an HMAC-SHA256 per site.

Every message that crosses the broker is an *envelope*: the payload as canonical JSON text,
the site and kind it is for, the id of the key that signed it, and the HMAC of all four under
that key. A sensor holds only its own site's keys, so a message for another site, a forged one
or one that was changed in the broker fails :func:`open_envelope`; the central holds every
site's keys and checks the outcomes and heartbeats it ingests the same way. A site may hold
two keys at once (the first signs, both verify), so its key can be changed without losing a
message signed with the old one (docs/decisions/0021-sensors.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provscan.errors import ProvscanError

#: Kinds of message: central -> sensor (``scan``), sensor -> central (the rest).
KINDS = ("scan", "started", "outcome", "heartbeat")
#: Bytes of a site key (hex in its file).
KEY_BYTES = 32
#: Keys a site holds at once: the one that signs and the next (or the previous) one.
MAX_SITE_KEYS = 2
#: Envelope format version, part of what is signed (2: the key id is signed too).
VERSION = 2
_DOMAIN = b"provscan-sensor-message"
_KEY_ID_DOMAIN = b"provscan-sensor-key-id\n"


class MessageRejected(ProvscanError):
    """A message that is not what it claims to be (unsigned, forged, changed, misaddressed)."""


class UnknownSite(MessageRejected):
    """A message for a site whose keys this side does not hold (another site's, or a site
    the central has no key file for)."""


class UnknownKey(MessageRejected):
    """A message for one of our sites, signed with a key id this side does not hold (a key
    being changed, or a sensor started with another key): it cannot be verified here."""


class SiteKeyError(ProvscanError):
    """A site key file that cannot be used."""


def new_key() -> str:
    """A new site key, as the hex text its file holds."""
    return secrets.token_hex(KEY_BYTES)


def key_id(key: bytes) -> str:
    """The public name of a key (16 hex digits of a hash of it), carried in each envelope."""
    return hashlib.sha256(_KEY_ID_DOMAIN + key).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    """One site's keys: the first signs, every one verifies (at most two)."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.keys) <= MAX_SITE_KEYS:
            raise SiteKeyError(f"a site holds 1 or {MAX_SITE_KEYS} keys, not {len(self.keys)}")
        if len({key_id(key) for key in self.keys}) != len(self.keys):
            raise SiteKeyError("the same key is listed twice")

    @property
    def signing(self) -> bytes:
        return self.keys[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key_id(key) for key in self.keys)

    def by_id(self, kid: str) -> bytes | None:
        for key in self.keys:
            if hmac.compare_digest(key_id(key), kid):
                return key
        return None

    def ring(self) -> KeyRing:
        return self


Keys = KeyRing | bytes


def _ring(keys: Keys) -> KeyRing:
    return keys if isinstance(keys, KeyRing) else KeyRing((keys,))


def key_file_text(key: str, site: str) -> str:
    """The text of a new key file for ``site`` (a comment naming it, then the hex key)."""
    made = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kid = key_id(bytes.fromhex(key))
    return f"# provscan site key for {site}, id {kid}, made {made}\n{key}\n"


_HEADER = re.compile(r"#\s*provscan site key for ([A-Za-z0-9_-]{1,64})\b")


def key_file_site(text: str) -> str | None:
    """The site a key file's header names (``# provscan site key for NAME, ...``, as
    :func:`key_file_text` writes it), or None for a file without that header."""
    for line in text.splitlines():
        found = _HEADER.match(line.strip())
        if found:
            return found.group(1)
    return None


def key_file_warnings(path: Path) -> list[str]:
    """Problems worth a warning about a key file: readable or writable by others than its
    owner (as for credentials and NetBox token files)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return []
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        return [
            f"site key file {path} is readable by every user (mode {stat.S_IMODE(mode):o}); "
            f"restrict it with chmod 600 {path}"
        ]
    if mode & (stat.S_IRGRP | stat.S_IWGRP):
        return [f"site key file {path} is readable by its group; consider chmod 600 {path}"]
    return []


def parse_keys(text: str, source: str) -> KeyRing:
    """The keys of a key file's text: one hex key a line (``#`` comments and blank lines
    skipped); the first signs, a second is accepted too."""
    keys: list[bytes] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = bytes.fromhex(line)
        except ValueError:
            raise SiteKeyError(
                f"{source}: a key file holds hex keys, one a line "
                "(make one with `provscan sensor keygen`)"
            ) from None
        if len(key) < KEY_BYTES:
            raise SiteKeyError(
                f"{source}: the key is {len(key)} bytes; at least {KEY_BYTES} are needed"
            )
        keys.append(key)
    if not keys:
        raise SiteKeyError(f"{source}: no key in the file")
    if len(keys) > MAX_SITE_KEYS:
        raise SiteKeyError(
            f"{source}: {len(keys)} keys; a site holds at most {MAX_SITE_KEYS} "
            "(the one that signs, then the next or the previous one)"
        )
    try:
        return KeyRing(tuple(keys))
    except SiteKeyError as exc:
        raise SiteKeyError(f"{source}: {exc}") from None


def load_keys(path: Path, site: str | None = None) -> KeyRing:
    """A site's keys from their file (see :func:`parse_keys`). With ``site``, a file whose
    header names another site (:func:`key_file_site`) is refused: a sensor started with
    another site's key could verify none of its requests."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteKeyError(f"cannot read the key file {path}: {exc}") from None
    named = key_file_site(text)
    if site is not None and named is not None and named != site:
        raise SiteKeyError(f"{path} is the key file of site {named!r}, not of {site!r}")
    return parse_keys(text, str(path))


def load_key(path: Path) -> bytes:
    """The signing key of a key file."""
    return load_keys(path).signing


class KeyFile:
    """A key file read again whenever it changes, so a key change needs no restart. A file
    that stops being readable keeps the last keys read from it (the error is raised once
    there are none)."""

    def __init__(self, path: Path, site: str | None = None) -> None:
        self.path = path
        #: The site the file must be for (a header naming another site is refused).
        self.site = site
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._ring: KeyRing | None = None

    def ring(self) -> KeyRing:
        with self._lock:
            try:
                info = os.stat(self.path)
                stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
            except OSError as exc:
                if self._ring is not None:
                    return self._ring
                raise SiteKeyError(f"cannot read the key file {self.path}: {exc}") from None
            if stamp != self._stamp or self._ring is None:
                try:
                    self._ring = load_keys(self.path, self.site)
                except SiteKeyError:
                    if self._ring is None:
                        raise
                    return self._ring  # half written: the next look reads it again
                self._stamp = stamp
            return self._ring


def _mac(key: bytes, kind: str, site: str, kid: str, body: str) -> str:
    message = b"\n".join(
        (
            _DOMAIN,
            str(VERSION).encode(),
            kind.encode(),
            site.encode(),
            kid.encode(),
            body.encode("utf-8"),
        )
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(kind: str, site: str, payload: dict[str, Any], keys: Keys) -> dict[str, Any]:
    """The envelope of ``payload`` for ``site``, signed with the site's signing key."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    key = _ring(keys).signing
    kid = key_id(key)
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {
        "v": VERSION,
        "kind": kind,
        "site": site,
        "kid": kid,
        "body": body,
        "mac": _mac(key, kind, site, kid, body),
    }


def open_envelope(
    envelope: Any, key_for: Callable[[str], Keys | None], *, kinds: tuple[str, ...]
) -> tuple[str, str, dict[str, Any]]:
    """``(kind, site, payload)`` of an authentic envelope, else :class:`MessageRejected`.

    ``key_for(site)`` is the keys of a site this side accepts, None for any other."""
    if not isinstance(envelope, dict):
        raise MessageRejected("not an envelope")
    fields = [envelope.get(name) for name in ("kind", "site", "kid", "body", "mac")]
    if not all(isinstance(value, str) for value in fields):
        raise MessageRejected("unsigned or incomplete envelope")
    kind, site, kid, body, mac = (str(value) for value in fields)
    if envelope.get("v") != VERSION:
        raise MessageRejected(f"unknown envelope version {envelope.get('v')!r}")
    if kind not in kinds:
        raise MessageRejected(f"a {kind!r} message is not accepted here")
    keys = key_for(site)
    if keys is None:
        raise UnknownSite(f"a message for site {site!r}, which is not ours")
    key = _ring(keys).by_id(kid)
    if key is None:
        raise UnknownKey(
            f"bad signature on a {kind!r} message for site {site!r}: no key {kid[:16]!r} here"
        )
    if not hmac.compare_digest(_mac(key, kind, site, kid, body), mac):
        raise MessageRejected(f"bad signature on a {kind!r} message for site {site!r}")
    try:
        payload = json.loads(body)
    except ValueError:
        raise MessageRejected("a signed body that is not JSON") from None
    if not isinstance(payload, dict):
        raise MessageRejected("a signed body that is not an object")
    return kind, site, payload


def peek(envelope: Any) -> tuple[str, str, dict[str, Any]]:
    """``(kind, site, payload)`` of an envelope as it claims to be, NOT verified: for log
    lines and hints about a message that could not be opened, never to act on."""
    if not isinstance(envelope, dict):
        return "", "", {}
    kind, site, body = (envelope.get(name) for name in ("kind", "site", "body"))
    try:
        payload = json.loads(body) if isinstance(body, str) else {}
    except ValueError:
        payload = {}
    return (
        str(kind)[:40] if isinstance(kind, str) else "",
        str(site)[:64] if isinstance(site, str) else "",
        payload if isinstance(payload, dict) else {},
    )
