"""nmap XML (``nmap -oX``) -> records: addresses, MAC, host names, open ports, service
detection (product, version, extra info, device type, OS type, CPE), the raw replies in
``servicefp``, script output and OS matches.

Read with defusedxml (no entity expansion, no external entities or DTD fetches) and
incrementally (each ``<host>`` is dropped once read), so a hostile or huge file costs at most
the limits in :mod:`provscan.importers.interface`. Field names: docs/observation-fields.md.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from provscan.importers import replies, servicefp
from provscan.importers.files import check_size
from provscan.importers.interface import (
    MAX_RECORDS,
    ImportedFile,
    ImportFileError,
    ImportFormat,
    ImportRecord,
)
from provscan.observations import banner as observe_banner
from provscan.wire.mac import normalise_mac

#: nmap's own labels: evidence of lower certainty than the replies they were read from.
PROTOCOL = "nmap"
#: OS matches kept per host (nmap lists the best first).
MAX_OS_MATCHES = 3
#: ``service`` attribute -> observation field.
SERVICE_FIELDS = (
    ("product", "nmap.product"),
    ("version", "nmap.version"),
    ("extrainfo", "nmap.extrainfo"),
    ("devicetype", "nmap.device_type"),
    ("ostype", "nmap.os_type"),
)
_HEX_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")
_TITLE_PREFIX = re.compile(r"^\s*(?:Site doesn't have a title.*)$", re.IGNORECASE)
#: upnp-info output line label -> the field of the UPnP description it repeats.
UPNP_LINES = {
    "manufacturer": "upnp.manufacturer",
    "model name": "upnp.model_name",
    "model number": "upnp.model_number",
    "name": "upnp.friendly_name",
    "model descr": "upnp.model_name",
    "server": "ssdp.server",
}


def read(path: Path) -> ImportedFile:
    """Every host nmap found up or with an open port. Raises ImportFileError."""
    check_size(path)
    records: list[ImportRecord] = []
    notes: list[str] = []
    source = f"nmap XML {path.name}"
    try:
        root: ET.Element | None = None
        for event, element in SafeET.iterparse(str(path), events=("start", "end")):
            if root is None:
                root = element
                if element.tag != "nmaprun":
                    raise ImportFileError(f"{path}: not an nmap XML file (root <{element.tag}>)")
                continue
            if event != "end" or element.tag != "host":
                continue
            if len(records) >= MAX_RECORDS:
                notes.append(f"{path.name}: only the first {MAX_RECORDS} hosts were read")
                break
            record = _host(element, source)
            if record is not None:
                records.append(record)
            root.clear()  # the hosts read so far are not kept in the tree
    except defusedxml.DefusedXmlException as exc:
        raise ImportFileError(f"{path}: refused: {type(exc).__name__} (unsafe XML)") from None
    except ET.ParseError as exc:
        if root is None:
            raise ImportFileError(f"{path}: not XML ({exc})") from None
        notes.append(f"{path.name} is truncated or malformed ({exc}): the hosts before it are used")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if root is None:
        raise ImportFileError(f"{path}: empty file")
    return ImportedFile(str(path), ImportFormat.nmap_xml, records, notes)


def _host(host: ET.Element, source: str) -> ImportRecord | None:
    status = host.find("status")
    ports = host.find("ports")
    open_ports = [
        port
        for port in (ports.findall("port") if ports is not None else [])
        if _state(port) == "open"
    ]
    if (status is None or status.get("state") != "up") and not open_ports:
        return None
    record = ImportRecord(source=source)
    for address in host.findall("address"):
        kind, value = address.get("addrtype"), address.get("addr", "")
        if kind in ("ipv4", "ipv6") and record.address is None:
            record.address = value.strip() or None
        elif kind == "mac":
            record.mac = normalise_mac(value)
    hostnames = host.find("hostnames")
    if hostnames is not None:
        for name in hostnames.findall("hostname"):
            if name.get("name"):
                record.hostname = name.get("name", "").strip()[:253] or None
                break
    for port in open_ports:
        _port(record, port)
    _os(record, host.find("os"))
    hostscript = host.find("hostscript")
    if hostscript is not None:
        for script in hostscript.findall("script"):
            _script(record, None, script)
    return record


def _state(port: ET.Element) -> str | None:
    state = port.find("state")
    return state.get("state") if state is not None else None


def _port(record: ImportRecord, port: ET.Element) -> None:
    try:
        number = int(port.get("portid", ""))
    except ValueError:
        return
    if not 0 < number < 65536:
        return
    if port.get("protocol", "tcp") == "tcp":
        record.open_ports.add(number)
    service = port.find("service")
    if service is not None:
        method = service.get("method", "")
        detail = (
            f"nmap service {service.get('name', '?')} ({method}, conf {service.get('conf', '?')})"
        )
        if method == "probed":  # "table" is nmap's guess from the port number alone
            for attribute, field in SERVICE_FIELDS:
                record.add(PROTOCOL, number, field, service.get(attribute, ""), detail)
        for cpe in service.findall("cpe"):
            record.add(PROTOCOL, number, "nmap.cpe", cpe.text or "", detail)
        fingerprint = service.get("servicefp")
        if fingerprint:
            for reply in servicefp.responses(fingerprint):
                record.extend(
                    replies.reply_observations(
                        number,
                        reply.data,
                        f"nmap servicefp {reply.probe}",
                        banner=reply.probe in replies.BANNER_PROBES,
                    )
                )
    for script in port.findall("script"):
        _script(record, number, script)


def _elements(script: ET.Element) -> dict[str, str]:
    """``key -> text`` of a script's top-level ``<elem>``s."""
    return {elem.get("key", ""): (elem.text or "") for elem in script.findall("elem")}


def _table(script: ET.Element, key: str) -> ET.Element | None:
    for table in script.findall("table"):
        if table.get("key") == key:
            return table
    return None


def _script(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    handler = SCRIPTS.get(script.get("id", ""))
    if handler is not None:
        handler(record, port, script)


def _http_title(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    title = _elements(script).get("title")
    if title is None:
        title = script.get("output", "")
        if _TITLE_PREFIX.match(title):
            return
    record.add("http", port, "http.title", " ".join(title.split()), "nmap script http-title")


def _http_server_header(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    values = [elem.text or "" for elem in script.iter("elem")] or [script.get("output", "")]
    for value in values:
        record.add("http", port, "http.server", value, "nmap script http-server-header")


def _rtsp_methods(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    methods = _elements(script).get("methods") or script.get("output") or ""
    record.add("rtsp", port, "rtsp.public", " ".join(methods.split()), "nmap script rtsp-methods")


def _ssl_cert(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    pem = _elements(script).get("pem")
    if pem and port is not None:
        found = replies.pem_observations(port, pem)
        if found:
            record.extend([dataclasses.replace(o, detail="nmap script ssl-cert") for o in found])
            return
    # No PEM (older nmap): the names as nmap lists them, in RFC 4514 order where known.
    for key, field in (("subject", "tls.subject"), ("issuer", "tls.issuer")):
        table = _table(script, key)
        if table is not None:
            names = _elements(table)
            parts = [
                f"{short}={names[long]}"
                for long, short in (
                    ("commonName", "CN"),
                    ("organizationalUnitName", "OU"),
                    ("organizationName", "O"),
                    ("localityName", "L"),
                    ("stateOrProvinceName", "ST"),
                    ("countryName", "C"),
                )
                if names.get(long)
            ]
            record.add("tls", port, field, ",".join(parts), "nmap script ssl-cert")


def _banner(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    if port is None:
        return
    # nmap writes bytes that are not printable as \xHH and wraps long output with line
    # breaks of its own (a real CR/LF is \x0D\x0A), so the breaks go before decoding.
    # A banner longer than nmap shows ends in "..." after a cut: only its complete lines are
    # the service's, and their join (banner.lines) is not what the service sent.
    text = (script.get("output") or "").replace("\n", "").strip()
    truncated = text.endswith("...")
    raw = text.removesuffix("...").encode("latin-1", errors="replace")
    data = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    if truncated:
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        data = data[: max(cut, 0)]
    found = observe_banner.banner_observations(port, data, "nmap script banner")
    record.extend([o for o in found if not (truncated and o.field == "banner.lines")])


def _snmp_sysdescr(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    text = script.get("output", "").split("System uptime:", 1)[0]
    record.add("snmp", port, "snmp.sys_descr", " ".join(text.split()), "nmap script snmp-sysdescr")


def _upnp_info(record: ImportRecord, port: int | None, script: ET.Element) -> None:
    for line in script.get("output", "").splitlines():
        label, colon, value = line.strip().partition(":")
        field = UPNP_LINES.get(label.strip().lower()) if colon else None
        if field:
            protocol = field.split(".", 1)[0]
            record.add(protocol, port, field, value, "nmap script upnp-info")


SCRIPTS: dict[str, Callable[[ImportRecord, int | None, ET.Element], None]] = {
    "http-title": _http_title,
    "http-server-header": _http_server_header,
    "rtsp-methods": _rtsp_methods,
    "ssl-cert": _ssl_cert,
    "banner": _banner,
    "snmp-sysdescr": _snmp_sysdescr,
    "upnp-info": _upnp_info,
}


def _os(record: ImportRecord, os_element: ET.Element | None) -> None:
    if os_element is None:
        return
    for match in os_element.findall("osmatch")[:MAX_OS_MATCHES]:
        detail = f"nmap OS detection (accuracy {match.get('accuracy', '?')})"
        record.add(PROTOCOL, None, "nmap.os_match", match.get("name", ""), detail)
        for osclass in match.findall("osclass"):
            record.add(PROTOCOL, None, "nmap.device_type", osclass.get("type", ""), detail)
            for cpe in osclass.findall("cpe"):
                record.add(PROTOCOL, None, "nmap.cpe", cpe.text or "", detail)
