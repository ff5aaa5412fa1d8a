"""Imports: what other tools saw (nmap, masscan, a CMDB, DHCP servers, switches) read as
host evidence for the one identification stage. An input like ``passive``: it reads files,
never connects anywhere, and never judges (docs/decisions/0014-import.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provscan.importers.interface import (
    FORMAT_LABELS,
    ImportedFile,
    ImportFileError,
    ImportFormat,
    ImportRecord,
)

if TYPE_CHECKING:
    from provscan.importers.merge import ImportedEvidence, merge_records
    from provscan.importers.read import detect_format, read_file

#: Loaded on first use (PEP 562): the CLI imports ImportFormat for its options at every start,
#: the readers (defusedxml, the wire parsers) only when a file is imported.
_LAZY = {
    "ImportedEvidence": "provscan.importers.merge",
    "merge_records": "provscan.importers.merge",
    "detect_format": "provscan.importers.read",
    "read_file": "provscan.importers.read",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "FORMAT_LABELS",
    "ImportFileError",
    "ImportFormat",
    "ImportRecord",
    "ImportedEvidence",
    "ImportedFile",
    "detect_format",
    "merge_records",
    "read_file",
]
