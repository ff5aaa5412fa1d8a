"""What a sensor will scan: its own ``--allow`` list is the last word, whatever it is asked."""

from __future__ import annotations

import glob
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from provscan.errors import ProvscanError, StoreRequestError
from provscan.store import sensors as store_sensors
from provscan.targets import TargetSet, build_targets, is_address_spec

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Addresses one request may cover (as a scan from the web console).
MAX_SENSOR_HOSTS = 4096


class OutsideAllowList(ProvscanError):
    """A request the sensor refuses (its message says why)."""


def parse_allow(text: str) -> tuple[IPNetwork, ...]:
    """``10.1.0.0/16,10.2.3.0/24`` -> networks; ValueError naming a bad one."""
    networks: list[IPNetwork] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not a network (CIDR) or address") from None
    if not networks:
        raise ValueError("--allow names no network")
    return tuple(networks)


def check_allow(networks: Sequence[IPNetwork]) -> None:
    """OutsideAllowList unless every ``--allow`` network lies where ``provscan scan`` may
    scan (the rules of :func:`request_targets` without its size limit: no reserved,
    multicast or unspecified space, no public or CGNAT space, inside the
    ``PROVSCAN_ALLOWED_TARGETS`` interlock): an allow list wider than any request could be
    is a mistake, never a setting."""
    for network in networks:
        try:
            build_targets([str(network)], max_hosts=1 << 128)
        except ProvscanError as exc:
            why = str(exc).removeprefix(f"refusing target {network}: ")
            raise OutsideAllowList(f"--allow {network}: {why}") from None


def request_targets(specs: Sequence[str]) -> TargetSet:
    """The targets of a scan request to a sensor, or :class:`OutsideAllowList` naming the
    first problem: addresses, networks or ranges only (no host name, no ``@file``), under the
    scope rules of ``provscan scan`` (:func:`provscan.targets.build_targets`: reserved and
    multicast space refused, public and CGNAT space refused (a sensor has no
    ``--allow-public``), the ``PROVSCAN_ALLOWED_TARGETS`` interlock of the process that
    checks) and at most :data:`MAX_SENSOR_HOSTS` addresses. The same check runs where a
    schedule is added (CLI), where the central sends a job, and on the sensor."""
    cleaned = [spec.strip() for spec in specs if spec.strip()]
    if not cleaned:
        raise OutsideAllowList("no targets given")
    for spec in cleaned:
        if not is_address_spec(spec):
            raise OutsideAllowList(f"{spec!r} is not an address, network or range")
    try:
        # the size is checked below: a sensor has no --max-hosts to raise
        targets = build_targets(cleaned, max_hosts=1 << 128)
    except ProvscanError as exc:
        raise OutsideAllowList(str(exc)) from None
    if targets.size_upper_bound > MAX_SENSOR_HOSTS:
        raise OutsideAllowList(
            f"targets expand to {targets.size_upper_bound} addresses, more than the "
            f"{MAX_SENSOR_HOSTS} one sensor job scans; narrow them or split them into several"
        )
    return targets


def allowed_targets(specs: Sequence[str], allow: Sequence[IPNetwork]) -> TargetSet:
    """The targets of a request (:func:`request_targets`) when every address of it lies in
    ``allow``; else :class:`OutsideAllowList`."""
    targets = request_targets(specs)
    for block in targets.blocks:
        inside = any(
            block.first.version == network.version
            and block.first in network
            and block.last in network
            for network in allow
        )
        if not inside:
            shown = ",".join(str(network) for network in allow)
            raise OutsideAllowList(f"{block.spec} is outside this sensor's --allow {shown}")
    return targets


#: Captures one request may name.
MAX_CAPTURES = 64
#: Longest capture name (a path relative to the sensor's --captures directory).
MAX_CAPTURE_NAME = 255


def check_capture_name(name: str) -> str:
    """A capture named in a request: a relative path without ``..`` (the sensor resolves it
    under its own ``--captures`` directory, see :func:`capture_path`)."""
    parts = name.replace("\\", "/").split("/")
    if (
        not name
        or len(name) > MAX_CAPTURE_NAME
        or name.startswith(("/", "~"))
        or "\0" in name
        or any(part in ("", ".", "..") for part in parts)
        or name == "-"
    ):
        raise OutsideAllowList(
            f"{name[:80]!r}: a capture is named by its path under the sensor's --captures "
            "directory (relative, no '..')"
        )
    return name


def capture_path(name: str, directory: Path) -> Path:
    """The file ``name`` names under ``directory``, after every link is followed; else
    :class:`OutsideAllowList` (a path or a link that leaves the directory, a missing file)."""
    check_capture_name(name)
    root = directory.resolve()
    try:
        path = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        raise OutsideAllowList(f"{name!r}: no such capture in the sensor's --captures") from None
    if not path.is_relative_to(root):
        raise OutsideAllowList(f"{name!r} leads outside the sensor's --captures directory")
    if not path.is_file():
        raise OutsideAllowList(f"{name!r} is not a file")
    return path


#: Characters that make a capture name a glob (``*``, ``?``, ``[...]``; ``**`` is ``*``).
_GLOB_CHARACTERS = frozenset("*?[")


def is_capture_glob(name: str) -> bool:
    return any(c in _GLOB_CHARACTERS for c in name)


def capture_files(names: Sequence[str], directory: Path) -> list[tuple[str, Path]]:
    """``(name under directory, file)`` for each capture a request names: a name as
    :func:`capture_path` resolves it, a glob (``*.pcapng``, ``site/2026-*.pcap``) as every
    file it matches under ``directory``, in name order. A match that leads outside the
    directory refuses the whole request (as a target range that leaves ``--allow`` does);
    a glob that matches no file, or more than MAX_CAPTURES files in all, is refused too.
    Directories a glob matches are skipped; hidden files match only a pattern that starts
    with a dot (as in a shell)."""
    root = directory.resolve()
    found: list[tuple[str, Path]] = []
    for name in names:
        if not is_capture_glob(name):
            found.append((name, capture_path(name, root)))
            continue
        check_capture_name(name)
        # Not recursive: "**" matches one level like "*", so a link loop cannot run away.
        matches = sorted(glob.glob(name, root_dir=root, recursive=False))
        files = 0
        for match in matches:
            path = capture_path(match, root) if (root / match).is_file() else None
            if path is None:
                if not (root / match).resolve().is_relative_to(root):
                    raise OutsideAllowList(
                        f"{match!r} (from {name!r}) leads outside the sensor's --captures directory"
                    )
                continue  # a directory (or a socket, a fifo) inside the directory
            found.append((match, path))
            files += 1
            if len(found) > MAX_CAPTURES:
                raise OutsideAllowList(
                    f"the request names more than {MAX_CAPTURES} captures (globs expanded)"
                )
        if not files:
            raise OutsideAllowList(f"{name!r}: no capture in the sensor's --captures matches")
    if len(found) > MAX_CAPTURES:
        raise OutsideAllowList(
            f"the request names more than {MAX_CAPTURES} captures (globs expanded)"
        )
    return found


def check_interface_name(name: str) -> str:
    """A network interface's name as Linux allows it (OutsideAllowList if not)."""
    try:
        return store_sensors.check_interface_name(name)
    except StoreRequestError as exc:
        raise OutsideAllowList(str(exc)) from None


def segment_inside(network: IPNetwork, allow: Sequence[IPNetwork]) -> bool:
    """True when every address of ``network`` lies in one of ``allow``'s networks."""
    return any(
        network.version == allowed.version and network.subnet_of(allowed)  # type: ignore[arg-type]
        for allowed in allow
    )
