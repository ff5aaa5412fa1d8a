"""nmap's service-probe match lines as a low-certainty fallback (issue 11, decision 0023).

Where nmap is installed, its ``nmap-service-probes`` holds some 12,000 ``match`` lines, each a
regular expression over one reply of one of nmap's probes and the product, version, device
type and CPE that reply means. provscan never copies that file (GPL-2.0-only with the Nmap
exception): :func:`find_service_probes` finds the user's own installation and
:class:`ServiceProbes` reads it at run time.

It is a fallback, used by :mod:`provscan.identify` only for a device none of provscan's own
rules attributed. The replies it reads are the ones provscan's probes already got (nothing
is sent for it), each under the nmap probe that asks the same question:

- ``http.head`` and ``http.body`` of ``GET /`` (nmap's ``GetRequest``);
- ``rtsp.head`` of ``OPTIONS`` (``RTSPRequest``);
- ``banner.raw``, what a service said unasked (the ``NULL`` probe).

As nmap does, a probe's own lines are tried first, then those of its ``fallback`` probes,
then the ``NULL`` probe's; the first ``match`` wins (``softmatch`` lines name only a
service and are not read). What matched becomes the observations an imported nmap scan
gives (``nmap.product``, ``nmap.version``, ``nmap.extrainfo``, ``nmap.device_type``,
``nmap.os_type``, ``nmap.cpe``), with the file and line in ``detail``: the same rules read
them, at the same low certainty as an import's.

nmap's patterns are PCRE. They are run with the ``regex`` module, which reads PCRE syntax
closely and, unlike ``re``, stops a search after a timeout (nmap's PCRE has a match limit for
the same reason: a reply crafted to make a pattern backtrack); the few it refuses are skipped
and counted. Compiling all of them would cost seconds, so each line is indexed once by the longest run of
literal bytes every match must contain (read with ``re``'s own parser; the index is kept in
the user's cache directory under a digest of the file, like the knowledge, decision 0022): a
reply is tried only against the lines whose run it contains, each compiled when first
needed. A reply seen before is answered from a memo (a fleet of identical devices).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provscan.knowledge.cache import cached_by_key
from provscan.model import Observation
from provscan.observations.http import ROOT_PATH

#: The file's name in nmap's data directory.
FILE_NAME = "nmap-service-probes"
#: Data directories tried after ``$NMAPDIR`` and the one beside the ``nmap`` on ``PATH``.
DATA_DIRS = (
    Path("/usr/share/nmap"),
    Path("/usr/local/share/nmap"),
    Path("/opt/homebrew/share/nmap"),
)
#: Largest file read (nmap 7.9x's is about 2.5 MB), and most match lines kept (12,000 there).
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_MATCH_LINES = 50_000
#: Bytes of a reply matched (nmap reads at most a few KiB per probe too).
MAX_REPLY_BYTES = 16 * 1024
#: Replies remembered with their answer.
MEMO_SIZE = 4096
#: Longest one pattern may search one reply, and all of a reply's candidate lines together
#: (nmap's PCRE runs with a match limit; a reply crafted to make a pattern backtrack must not
#: hang a scan).
SEARCH_TIMEOUT_S = 0.05
REPLY_BUDGET_S = 0.5
#: Observation protocol of what the fallback found (its claims never establish a restricted
#: maker: attribution's FALLBACK_PROTOCOLS).
PROTOCOL = "nmap-fallback"

#: Version-info fields of a match line and the observation field each becomes.
TEMPLATE_FIELDS = {
    "p": "nmap.product",
    "v": "nmap.version",
    "i": "nmap.extrainfo",
    "d": "nmap.device_type",
    "o": "nmap.os_type",
}
_CSEQ_LINE = re.compile(rb"(?im)^CSeq:[^\r\n]*\r?\n")
_HELPER = re.compile(rb'\$(?:(\d)|P\((\d)\)|SUBST\((\d),"([^"]*)","([^"]*)"\)|I\((\d),"[<>]"\))')


@dataclass(frozen=True)
class MatchLine:
    """One ``match`` line: where it is, its pattern, and its version-info templates."""

    line: int
    service: str
    pattern: bytes
    flags: int
    #: (letter, template) in line order; ``cpe`` templates under the letter ``cpe``.
    templates: tuple[tuple[str, bytes], ...]
    #: The longest run of bytes every match contains, lower case (empty: none is known).
    literal: bytes = b""


@dataclass
class _Probe:
    name: str
    lines: list[MatchLine] = field(default_factory=list)
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceMatch:
    """What one reply matched: the line, and the version info with its groups filled in."""

    line: MatchLine
    info: tuple[tuple[str, str], ...]

    def observations(self, port: int | None, source: str) -> list[Observation]:
        detail = f"nmap fallback: {source} l.{self.line.line} ({self.line.service})"
        found: list[Observation] = []
        for letter, value in self.info:
            name = "nmap.cpe" if letter == "cpe" else TEMPLATE_FIELDS.get(letter)
            if name and value:
                found.append(Observation(PROTOCOL, port, name, value, detail))
        return found


def find_service_probes(environ: dict[str, str] | None = None) -> Path | None:
    """The user's ``nmap-service-probes``: under ``$NMAPDIR``, beside the ``nmap`` on
    ``PATH`` (``../share/nmap``), or in the usual data directories; None when nmap's data is
    not installed."""
    env = os.environ if environ is None else environ
    candidates: list[Path] = []
    if env.get("NMAPDIR"):
        candidates.append(Path(env["NMAPDIR"]))
    binary = shutil.which("nmap", path=env.get("PATH"))
    if binary:
        candidates.append(Path(binary).resolve().parent.parent / "share" / "nmap")
    candidates.extend(DATA_DIRS)
    for directory in candidates:
        path = directory / FILE_NAME
        if path.is_file():
            return path
    return None


class ServiceProbes:
    """The match lines of one ``nmap-service-probes`` file, per nmap probe."""

    def __init__(self, text: bytes, source: str) -> None:
        self.source = source
        #: The file's text until it is first needed (most scans attribute every device).
        self._text: bytes | None = text
        self._parsed: dict[str, _Probe] = {}
        #: Compiled patterns by line number (None: Python's ``re`` refused it).
        self._compiled: dict[int, Any] = {}
        #: Lines ``regex`` does not compile (PCRE-only syntax), counted when compiled.
        self.skipped = 0
        #: Searches given up at :data:`SEARCH_TIMEOUT_S` (or the reply's budget).
        self.timed_out = 0
        self._memo: dict[tuple[str, bytes], ServiceMatch | None] = {}

    @property
    def _probes(self) -> dict[str, _Probe]:
        if self._text is not None:
            text, self._text = self._text, None
            key = hashlib.sha256(text)
            for part in (Path(__file__).read_bytes(), sys.version.encode()):
                key.update(b"\0" + part)
            self._parsed = cached_by_key(
                "nmap-service-probes", key.hexdigest()[:32], lambda: parse_probes(text)
            )
        return self._parsed

    @classmethod
    def read(cls, path: Path) -> ServiceProbes:
        """Read ``path``; OSError when it cannot be read, ValueError when it is too large."""
        with path.open("rb") as handle:
            text = handle.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise ValueError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
        return cls(text, str(path))

    @property
    def probe_names(self) -> tuple[str, ...]:
        return tuple(self._probes)

    def line_count(self, probe: str) -> int:
        found = self._probes.get(probe)
        return len(found.lines) if found else 0

    def _pattern(self, line: MatchLine) -> Any:
        """The line's pattern compiled with ``regex`` (None: it refused it)."""
        if line.line not in self._compiled:
            import regex

            flags = regex.VERSION0
            flags |= regex.IGNORECASE if line.flags & re.IGNORECASE else 0
            flags |= regex.DOTALL if line.flags & re.DOTALL else 0
            try:
                self._compiled[line.line] = regex.compile(line.pattern, flags)
            except (regex.error, ValueError, OverflowError, RecursionError):
                self._compiled[line.line] = None
                self.skipped += 1
        return self._compiled[line.line]

    def _chain(self, name: str) -> list[_Probe]:
        """The probe, its ``fallback`` probes, then ``NULL`` (nmap's order), each once."""
        chain: list[_Probe] = []
        start = self._probes.get(name)
        names = [name, *(start.fallbacks if start else ()), "NULL"]
        for each in names:
            probe = self._probes.get(each)
            if probe is not None and probe not in chain:
                chain.append(probe)
        return chain

    def match(self, probe: str, reply: bytes) -> ServiceMatch | None:
        """The first ``match`` line of ``probe`` (then its fallbacks, then ``NULL``) whose
        pattern is found in ``reply``, with its version info; None when none is."""
        reply = reply[:MAX_REPLY_BYTES]
        # the memo keeps a digest, not the reply (4,096 replies of 16 KiB would be 64 MiB)
        key = (probe, hashlib.blake2b(reply, digest_size=16).digest())
        if key in self._memo:
            return self._memo[key]
        chain = self._chain(probe)  # the index is read (or built) before the budget starts
        lowered = reply.lower()
        deadline = time.monotonic() + REPLY_BUDGET_S
        found, complete = self._first_match(chain, reply, lowered, deadline)
        if complete:  # an answer cut short by the budget is not remembered
            if len(self._memo) >= MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = found
        return found

    def _first_match(
        self, chain: list[_Probe], reply: bytes, lowered: bytes, deadline: float
    ) -> tuple[ServiceMatch | None, bool]:
        """The first line of ``chain`` found in ``reply``, and whether every candidate line
        before it was tried in full (no search timed out, the budget held)."""
        complete = True
        for each in chain:
            for line in each.lines:
                if line.literal not in lowered:
                    continue
                left = deadline - time.monotonic()
                if left <= 0:  # compiling counts too: a file of unindexable lines is bounded
                    self.timed_out += 1
                    return None, False
                pattern = self._pattern(line)
                if pattern is None:
                    continue
                try:
                    hit = pattern.search(reply, timeout=max(0.001, min(SEARCH_TIMEOUT_S, left)))
                except TimeoutError:  # a reply made to make a pattern backtrack for ever
                    self.timed_out += 1
                    complete = False
                    continue
                if hit is not None:
                    return ServiceMatch(line, fill_templates(line.templates, hit)), complete
        return None, complete

    def observations(self, observations: Iterable[Observation]) -> list[Observation]:
        """What nmap's lines make of the replies among ``observations`` (see the module
        docstring for which replies are read under which probe), one match per reply."""
        found: list[Observation] = []
        for probe, port, reply in replies(observations):
            hit = self.match(probe, reply)
            if hit is None and probe == "GetRequest" and reply.startswith(b"HTTP/1.1 "):
                # nmap asks in HTTP/1.0 and many servers answer in the version asked:
                # provscan asks in HTTP/1.1
                hit = self.match(probe, b"HTTP/1.0 " + reply[len(b"HTTP/1.1 ") :])
            if hit is not None and any(value for _, value in hit.info):
                found.extend(hit.observations(port, self.source))
        return list(dict.fromkeys(found))


def parse_probes(text: bytes) -> dict[str, _Probe]:
    """The file's ``match`` lines per ``Probe``, with each probe's ``fallback`` list."""
    probes: dict[str, _Probe] = {}
    current: _Probe | None = None
    kept = 0
    for number, raw in enumerate(text.split(b"\n"), start=1):
        line = raw.rstrip(b"\r")
        if line.startswith(b"Probe "):
            parts = line.split(b" ", 3)
            if len(parts) >= 3:
                name = parts[2].decode("latin-1")
                current = probes.setdefault(name, _Probe(name))
            else:
                current = None
        elif current is None:
            continue
        elif line.startswith(b"fallback "):
            names = line.removeprefix(b"fallback ").decode("latin-1")
            current.fallbacks = tuple(n.strip() for n in names.split(",") if n.strip())
        elif line.startswith(b"match ") and kept < MAX_MATCH_LINES:
            parsed = parse_match_line(line, number)
            if parsed is not None:
                current.lines.append(parsed)
                kept += 1
    return probes


def required_literal(pattern: bytes, flags: int) -> bytes:
    """The longest run of literal bytes every match of ``pattern`` contains, lower case; empty
    when none is known (a top-level alternation, or a pattern ``re`` cannot read). Read with
    ``re``'s own parser: runs inside groups count unless the group may be skipped."""
    try:
        tree = importlib.import_module("re._parser").parse(pattern, flags)
        found: list[bytes] = []
        _literal_runs(tree, found, importlib.import_module("re._constants"))
    except Exception:  # PCRE-only syntax, or a parser that moved: every reply is tried
        return b""
    return max(found, key=len, default=b"").lower()


def _literal_runs(items: Iterable[tuple[Any, Any]], found: list[bytes], _constants: Any) -> None:
    repeats = {_constants.MAX_REPEAT, _constants.MIN_REPEAT}
    repeats |= {getattr(_constants, "POSSESSIVE_REPEAT", _constants.MAX_REPEAT)}
    atomic = getattr(_constants, "ATOMIC_GROUP", None)
    run = bytearray()
    for op, argument in items:
        if op is _constants.LITERAL and argument < 256:
            run.append(argument)
            continue
        if run:
            found.append(bytes(run))
            run = bytearray()
        if op is _constants.SUBPATTERN:
            _literal_runs(argument[-1], found, _constants)
        elif op in repeats and argument[0] >= 1:
            _literal_runs(argument[2], found, _constants)
        elif atomic is not None and op is atomic:
            _literal_runs(argument, found, _constants)
    if run:
        found.append(bytes(run))


def replies(observations: Iterable[Observation]) -> list[tuple[str, int | None, bytes]]:
    """(nmap probe, port, reply bytes) for every whole reply among ``observations``: an
    ``http.head`` of ``/`` with the body of the same response, an ``rtsp.head``, a
    ``banner.raw``; each reply once."""
    bodies: dict[tuple[str, int | None, str], str] = {}
    heads: list[Observation] = []
    out: list[tuple[str, int | None, bytes]] = []
    for observation in observations:
        if observation.field == "http.body":
            bodies.setdefault(
                (observation.protocol, observation.port, observation.detail), observation.value
            )
        elif observation.field == "http.head" and observation.detail == ROOT_PATH:
            heads.append(observation)
        elif observation.field == "rtsp.head":
            # nmap asks OPTIONS without a CSeq, so the replies its lines were written from
            # carry none; provscan's request has one, which servers echo
            rtsp = _CSEQ_LINE.sub(b"", _bytes(observation.value))
            out.append(("RTSPRequest", observation.port, rtsp))
        elif observation.field == "banner.raw":
            out.append(("NULL", observation.port, _bytes(observation.value)))
    for head in heads:
        body = bodies.get((head.protocol, head.port, head.detail), "")
        out.append(("GetRequest", head.port, _bytes(head.value) + body.encode("utf-8")))
    return list(dict.fromkeys(out))


def _bytes(text: str) -> bytes:
    """Observation text back to bytes: Latin-1 (what the mappings decoded with), else UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def parse_match_line(line: bytes, number: int) -> MatchLine | None:
    """One ``match <service> m<d>pattern<d>[opts] <version info>`` line; None when it is not
    one (a malformed line is skipped, as nmap would refuse the file)."""
    parts = line.split(b" ", 2)
    if len(parts) < 3 or not parts[2].startswith(b"m") or len(parts[2]) < 3:
        return None
    service, rest = parts[1].decode("latin-1"), parts[2]
    delimiter = rest[1:2]
    end = rest.find(delimiter, 2)
    if end < 0:
        return None
    pattern = rest[2:end]
    index, flags = end + 1, 0
    while index < len(rest) and rest[index : index + 1] in (b"i", b"s"):
        flags |= re.IGNORECASE if rest[index : index + 1] == b"i" else re.DOTALL
        index += 1
    # PCRE's \z (the very end) is Python's \Z
    pattern = pattern.replace(rb"\z", rb"\Z")
    templates = parse_templates(rest[index:])
    return MatchLine(number, service, pattern, flags, templates, required_literal(pattern, flags))


def parse_templates(text: bytes) -> tuple[tuple[str, bytes], ...]:
    """``p/…/ v/…/ i/…/ d/…/ o/…/ h/…/ cpe:/…/a``, each with its own delimiter."""
    found: list[tuple[str, bytes]] = []
    index = 0
    while index < len(text):
        if text[index : index + 1] in (b" ", b"\t"):
            index += 1
            continue
        if text.startswith(b"cpe:", index):
            letter, start = "cpe", index + 4
        else:
            letter, start = text[index : index + 1].decode("latin-1"), index + 1
        delimiter = text[start : start + 1]
        end = text.find(delimiter, start + 1) if delimiter else -1
        if end < 0:
            break
        value = text[start + 1 : end]
        if letter == "cpe":
            value = b"cpe:/" + value
        found.append((letter, value))
        index = end + 1
        while index < len(text) and text[index : index + 1] not in (b" ", b"\t"):
            index += 1  # a cpe's trailing 'a' flag
    return tuple(found)


def fill_templates(templates: Sequence[tuple[str, bytes]], hit: Any) -> tuple[tuple[str, str], ...]:
    """Templates with ``$1``, ``$P(1)`` (printable only) and ``$SUBST(1,"a","b")`` filled in
    from the match's groups; ``$I`` (a number packed in bytes) is left empty."""

    def group(number: bytes) -> bytes:
        try:
            return hit.group(int(number)) or b""
        except IndexError:
            return b""

    def replace(found: re.Match[bytes]) -> bytes:
        plain, printable, subst, old, new, _packed = found.groups()
        if plain:
            return group(plain)
        if printable:
            return bytes(b for b in group(printable) if 32 <= b < 127)
        if subst:
            return group(subst).replace(old, new)
        return b""

    filled: list[tuple[str, str]] = []
    for letter, template in templates:
        value = _HELPER.sub(replace, template).decode("latin-1")
        value = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
        filled.append((letter, value[:200]))
    return tuple(filled)


def installed_service_probes() -> ServiceProbes | None:
    """The user's installed ``nmap-service-probes``, read once per process and file (None
    when nmap's data is not installed). OSError or ValueError when it cannot be read."""
    path = find_service_probes()
    return None if path is None else _read_cached(path)


def available_service_probes() -> ServiceProbes | None:
    """:func:`installed_service_probes`, or None also when the file cannot be read: for the
    services (the console's scans, a sensor's jobs), which go on without the fallback."""
    try:
        return installed_service_probes()
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=4)
def _read_cached(path: Path) -> ServiceProbes:
    return ServiceProbes.read(path)
