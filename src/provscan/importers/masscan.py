"""masscan output -> records: ``-oJ`` JSON (the strict array, and the line-per-record form
masscan 1.3 writes) and the ``-oL`` list format; open ports and ``--banners`` (HTTP reply
head, title, server, X.509 certificate, SSH/FTP/telnet banners).

masscan escapes non-printable bytes of a banner as ``\\xHH`` inside the JSON string
(masscan src/out-json.c); they are decoded back before the same parsers a probe uses read
them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from provscan.importers import replies
from provscan.importers.files import read_bytes, text_lines
from provscan.importers.interface import (
    MAX_RECORDS,
    ImportedFile,
    ImportFileError,
    ImportFormat,
    ImportRecord,
)

_HEX_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _decode_hex(raw: bytes) -> bytes:
    """masscan's ``\\xHH`` escapes back to the bytes the service sent."""
    return _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def read(path: Path) -> ImportedFile:
    """masscan JSON or list output. Raises ImportFileError."""
    data = read_bytes(path)
    text = data.lstrip()
    if text.startswith(b"#masscan") or text.startswith(b"open ") or text.startswith(b"banner "):
        return _read_list(path, data)
    return _read_json(path, data)


def _entries(path: Path, data: bytes) -> list[Any]:
    try:
        parsed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, dict):
        return [parsed]
    # masscan writes one object per line, with commas and brackets around them, and in
    # older versions a final "{finished: 1}" that is no JSON at all.
    entries: list[Any] = []
    for number, line in enumerate(text_lines(path, data), start=1):
        line = line.strip().strip(",").strip()
        if line in ("", "[", "]") or line.startswith("{finished"):
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            raise ImportFileError(f"{path}:{number}: not masscan JSON") from None
    return entries


def _read_json(path: Path, data: bytes) -> ImportedFile:
    source = f"masscan JSON {path.name}"
    records: dict[str, ImportRecord] = {}
    notes: list[str] = []
    for entry in _entries(path, data):
        if not isinstance(entry, dict) or not isinstance(entry.get("ip"), str):
            continue
        address = entry["ip"].strip()
        record = records.get(address)
        if record is None:
            if len(records) >= MAX_RECORDS:
                notes.append(f"{path.name}: only the first {MAX_RECORDS} hosts were read")
                break
            record = records[address] = ImportRecord(source=source, address=address)
        ports = entry.get("ports")
        for port in ports if isinstance(ports, list) else ():
            if not isinstance(port, dict):
                continue
            number = port.get("port")
            if not isinstance(number, int) or not 0 < number < 65536:
                continue
            if port.get("proto", "tcp") == "tcp" and port.get("status", "open") == "open":
                record.open_ports.add(number)
            service = port.get("service")
            if isinstance(service, dict):
                name, banner = service.get("name"), service.get("banner")
                if isinstance(name, str) and isinstance(banner, str):
                    _banner(record, number, name, banner)
    if not records and not data.strip().startswith((b"[", b"{")):
        raise ImportFileError(f"{path}: not masscan output")
    return ImportedFile(str(path), ImportFormat.masscan_json, list(records.values()), notes)


def _read_list(path: Path, data: bytes) -> ImportedFile:
    source = f"masscan list {path.name}"
    records: dict[str, ImportRecord] = {}
    for line in text_lines(path, data):
        parts = line.split(" ", 6)
        if line.startswith("#") or len(parts) < 5 or parts[0] not in ("open", "banner"):
            continue
        try:
            number = int(parts[2])
        except ValueError:
            continue
        address = parts[3]
        record = records.setdefault(address, ImportRecord(source=source, address=address))
        if len(records) > MAX_RECORDS:
            break
        if parts[0] == "open" and parts[1] == "tcp":
            record.open_ports.add(number)
        elif parts[0] == "banner" and len(parts) == 7:
            _banner(record, number, parts[5], parts[6])
    return ImportedFile(str(path), ImportFormat.masscan_json, list(records.values()))


def _banner(record: ImportRecord, port: int, name: str, banner: str) -> None:
    detail = f"masscan banner {name}"
    data = _decode_hex(banner.encode("latin-1", errors="replace"))
    if name == "http":
        head = data if b"\r\n\r\n" in data else data + b"\r\n\r\n"
        record.extend(replies.reply_observations(port, head, detail, banner=False))
    elif name == "title":
        record.add("http", port, "http.title", " ".join(banner.split()), detail)
    elif name == "http.server":
        record.add("http", port, "http.server", banner, detail)
    elif name == "X509":
        record.extend(replies.pem_observations(port, banner))
    elif name in ("ssh", "ftp", "telnet", "smtp", "pop", "imap", "vnc"):
        record.extend(replies.banner_observations(port, data, detail))
