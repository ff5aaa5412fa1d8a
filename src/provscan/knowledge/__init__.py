"""Reviewed knowledge as data: one loader module per kind of file, composed in ``loader``."""

from __future__ import annotations

from provscan.knowledge.loader import Knowledge, load_knowledge

__all__ = ["Knowledge", "load_knowledge"]
