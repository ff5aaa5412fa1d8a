"""Screening a whole list: one identification per row, identical rows identified once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.knowledge.schema import Policy
from provscan.screening.columns import ColumnChoice
from provscan.screening.identify import Identification, ProductIdentifier
from provscan.screening.tables import InputTable
from provscan.screening.verdict import ScreenRow, judge_product


@lru_cache(maxsize=1)
def bundled_identifier() -> ProductIdentifier:
    """The identifier over the bundled knowledge (built once per process)."""
    knowledge = load_knowledge()
    return ProductIdentifier(knowledge, load_grammar_knowledge(knowledge=knowledge))


def default_knowledge() -> Knowledge:
    return bundled_identifier().knowledge


def screen_table(
    table: InputTable,
    columns: ColumnChoice,
    identifier: ProductIdentifier,
    policies: Sequence[Policy],
) -> list[ScreenRow]:
    cache: dict[tuple[str, str, str], Identification] = {}
    rows = []
    for number, cells in zip(table.row_numbers, table.rows, strict=True):
        if columns.all_text:
            key = ("", "", " ".join(cell for cell in cells if cell))
        else:
            key = tuple(  # type: ignore[assignment]
                cells[index] if index is not None else ""
                for index in (columns.brand, columns.model, columns.description)
            )
        identification = cache.get(key)
        if identification is None:
            brand, model, description = key
            identification = identifier.identify(
                description, brand=brand or None, model=model or None
            )
            cache[key] = identification
        rows.append(judge_product(identification, policies, row=number))
    return rows
