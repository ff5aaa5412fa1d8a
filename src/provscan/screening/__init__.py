"""Procurement screening: who really makes a product named by a brand, a model or a line of text.

``text`` splits real-world strings into candidates, ``brands`` finds vendor names (exact, then
fuzzy with rapidfuzz), ``grammars`` matches model numbers, ``identify`` combines both with the
relations data into one identification, ``verdict`` judges it against policies, ``columns`` and
``tables`` read and write procurement lists (CSV, XLSX, JSON).
"""
