"""Screening a whole list: one identification per row, identical rows identified once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.knowledge.schema import Policy
from provscan.policy.evaluate import FindingsMemo, maker_countries
from provscan.screening.columns import ColumnChoice, choose_columns
from provscan.screening.identify import ProductIdentifier
from provscan.screening.tables import InputTable
from provscan.screening.verdict import ScreenRow, judge_product


@lru_cache(maxsize=1)
def bundled_identifier() -> ProductIdentifier:
    """The identifier over the bundled knowledge (built once per process)."""
    knowledge = load_knowledge()
    return ProductIdentifier(knowledge, load_grammar_knowledge(knowledge=knowledge))


def default_knowledge() -> Knowledge:
    return bundled_identifier().knowledge


def table_columns(
    table: InputTable,
    identifier: ProductIdentifier,
    *,
    brand: str | None = None,
    model: str | None = None,
    description: str | None = None,
) -> ColumnChoice:
    """The columns of ``table`` to screen (:func:`~provscan.screening.columns.choose_columns`,
    explicit choices first), with the knowledge's makers and brands to tell a "Vendor" column
    of makers (the brand) from one of distributors (the seller): the command line, the
    console and the API read a list alike."""
    knowledge = identifier.knowledge
    return choose_columns(
        table.header,
        brand=brand,
        model=model,
        description=description,
        rows=table.rows,
        is_brand=lambda text: knowledge.canonical_vendor(text) is not None,
    )


def screen_table(
    table: InputTable,
    columns: ColumnChoice,
    identifier: ProductIdentifier,
    policies: Sequence[Policy],
    *,
    acting_as: Sequence[str] = (),
) -> list[ScreenRow]:
    """One screened row per data row; a product listed again reuses its first judgement.

    Real lists repeat products (the same camera on many lines): the identification and the
    verdict depend only on the (brand, model, description) cells and the policies, so each
    distinct triple is identified and judged once, and its later rows are copies of that row
    with their own row number (the findings, reason and evidence are shared, not rebuilt).
    """
    judged: dict[tuple[str, str, str], ScreenRow] = {}
    countries = maker_countries(identifier.knowledge.vendors)
    findings_memo: FindingsMemo = {}
    rows = []
    wanted = (columns.brand, columns.model, columns.description)
    for number, cells in zip(table.row_numbers, table.rows, strict=True):
        key: tuple[str, str, str]
        if columns.all_text:
            # every column but the seller's: who sells it says nothing of who made it
            key = (
                "",
                "",
                " ".join(
                    cell for index, cell in enumerate(cells) if cell and index not in columns.seller
                ),
            )
        else:
            brand, model, description = (
                cells[index] if index is not None else "" for index in wanted
            )
            if columns.extra_text:
                # no model column: the columns that hold words are read after the description
                description = " ".join(
                    cell for cell in (description, *(cells[i] for i in columns.extra_text)) if cell
                )
            key = (brand, model, description)
        template = judged.get(key)
        if template is None:
            brand, model, description = key
            identification = identifier.identify(
                description, brand=brand or None, model=model or None
            )
            template = judge_product(
                identification,
                policies,
                row=number,
                acting_as=acting_as,
                countries=countries,
                memo=findings_memo,
            )
            judged[key] = template
            rows.append(template)
        else:
            # Frozen models: the copy shares the template's values (lists nothing changes) and
            # its set of fields set; model_construct does not validate them again.
            rows.append(
                ScreenRow.model_construct(
                    template.model_fields_set, **{**template.__dict__, "row": number}
                )
            )
    return rows
