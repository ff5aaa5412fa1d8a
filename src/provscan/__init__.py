"""provscan: find devices made by restricted surveillance vendors, with evidence."""

from __future__ import annotations

__version__ = "0.1.0"
