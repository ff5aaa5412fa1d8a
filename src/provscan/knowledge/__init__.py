"""Reviewed knowledge: vocabulary, corporate families, brand relations, policies, fingerprints."""

from __future__ import annotations

from provscan.knowledge.loader import Knowledge, load_knowledge

__all__ = ["Knowledge", "load_knowledge"]
