"""``provscan screen LIST -o x.html|x.pdf`` on a long list: a document, not every row.

Issue 14: a 5,200-row list took about 42 s and 842 MB peak RSS to write as PDF (WeasyPrint
laid out one table row per list row; the 20,000-row list of bench/bench_screen.py did not
finish). The document now lists the rows to act on one by one up to ``ACTED_IN_FULL`` and by
product beyond it, the unknown and clear rows by product, each with its count and row
numbers; a section lists at most ``PRODUCTS_SHOWN`` products and counts the others exactly;
the first page says so and where the per-row record is (the CSV or XLSX output). Decision
0029. The limits are made small here so that a list of a few dozen rows crosses them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provscan.compliance import screening
from provscan.compliance.screening import row_runs

#: (brand, model, how many rows): rows 2.. of the file in this order, then interleaved below.
RESTRICTED = (
    ("Hikvision", "DS-2CD2143G0-I", 6),
    ("Hikvision", "DS-7608NI-K2/8P", 3),
    ("Dahua", "IPC-HFW2431S-S-S2", 2),
    ("Hikvision", "DS-2CD2043G2-I", 1),
)


def _list() -> tuple[str, dict[str, list[int]]]:
    """The list's text and each product's row numbers (the header is row 1)."""
    lines = ["Brand,Model"]
    rows: dict[str, list[int]] = {}

    def add(brand: str, model: str) -> None:
        lines.append(f"{brand},{model}")
        rows.setdefault(model, []).append(len(lines))

    for brand, model, count in RESTRICTED:
        for _ in range(count):
            add(brand, model)
    for _ in range(10):
        add("Axis", "P3245-LV")
    for _ in range(4):
        add("Zorblax", "ZX-900")
    add("Hikvision", "DS-2CD2143G0-I")  # the first product again, after the others
    return "\n".join(lines) + "\n", rows


def _section(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}">')
    return html[start : html.index("</section>", start)]


def _body_rows(part: str) -> list[str]:
    """The table rows of ``part``'s body (not the header, not the row-number lines)."""
    return re.findall(r"<tr>(.*?)</tr>", part[part.index("<tbody>") :], flags=re.S)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screening, "ACTED_IN_FULL", 5)
    monkeypatch.setattr(screening, "PRODUCTS_SHOWN", 3)
    monkeypatch.setattr(screening, "RANGES_SHOWN", 2)


def _html(tmp_path: Path, cli) -> tuple[str, dict[str, list[int]]]:  # type: ignore[no-untyped-def]
    text, rows = _list()
    path = tmp_path / "long.csv"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "long.html"
    done = cli("screen", str(path), "-o", str(out), "-q")
    assert done.exit_code == 0, done.output
    return out.read_text(encoding="utf-8"), rows


def test_row_numbers_read_as_runs_and_every_row_is_counted() -> None:
    assert row_runs([2, 3, 4, 7, 9, 10]) == "2–4, 7, 9–10"
    assert row_runs([5]) == "5"
    # beyond the runs shown, the rows left are counted, none lost
    assert row_runs([2, 3, 4, 7, 9, 10, 12], limit=2) == "2–4, 7, and 3 more rows"
    assert row_runs([2, 4, 6], limit=2) == "2, 4, and 1 more row"
    assert row_runs([2, None], limit=5) == "2, and 1 more row"


def test_rows_to_act_on_beyond_the_limit_are_shown_once_a_product(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    small_limits: None,
) -> None:
    html, rows = _html(tmp_path, cli)
    acted = _section(html, "acted")
    # 13 rows to act on (more than 5): one table row a product, not one a list row
    assert "Restricted and to review (13)" in acted
    assert 'id="acted-rows"' not in acted and 'id="acted-products"' in acted
    products = _body_rows(acted)
    assert len(products) == 3  # PRODUCTS_SHOWN, the ones with the most rows
    camera, nvr, dahua = products
    # each product in full: verdict, model, reason, the measures it rests on; its count
    assert "DS-2CD2143G0-I" in camera and "RESTRICTED" in camera
    assert 'href="#measure-' in camera and "own brand" in camera
    assert "7 rows" in camera and 'id="row-2"' in camera
    assert "3 rows" in nvr and "2 rows" in dahua
    # and its row numbers as runs, shortened to RANGES_SHOWN runs with the rest counted
    numbers = re.findall(r'<tr class="numbers">(.*?)</tr>', acted, flags=re.S)
    assert f"rows 2–7, {rows['DS-2CD2143G0-I'][-1]}" in _text(numbers[0])
    assert "rows 8–10" in _text(numbers[1])
    # the product left out is counted with its row number, and the CSV named
    left = _text(acted[acted.index('id="acted-left">') + 16 :])
    assert left.startswith("1 more product in 1 row, not listed here")
    assert f"rows {rows['DS-2CD2043G2-I'][0]}." in left and "CSV or XLSX" in left


def test_unknown_and_clear_rows_are_grouped_by_product(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    html, rows = _html(tmp_path, cli)
    clear = _section(html, "clear")
    assert "Clear (10)" in clear and "10 rows in 1 product." in _text(clear)
    assert len(_body_rows(clear)) == 1
    axis = rows["P3245-LV"]
    assert f"rows {axis[0]}–{axis[-1]}" in _text(clear)
    unknown = _section(html, "unknown")
    assert "Unknown (4)" in unknown and len(_body_rows(unknown)) == 1
    assert "4 rows" in unknown and "Zorblax ZX-900" in unknown
    # below the limit the rows to act on are each shown, one by one
    assert 'id="acted-rows"' in _section(html, "acted")


def test_the_first_page_says_what_is_listed_and_where_every_row_is(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    small_limits: None,
) -> None:
    html, _ = _html(tmp_path, cli)
    summary = _section(html, "summary")
    said = _text(summary[summary.index('id="what-is-listed"') :].split("</p>", 1)[0])
    assert "The 13 rows to act on (restricted, to review) are more than 5" in said
    assert "the 3 products with the most rows are listed, the other 1 (1 rows)" in said
    assert "-o screened.csv" in said and "-o screened.xlsx" in said
    # it comes before the rows
    assert html.index('id="what-is-listed"') < html.index('<section id="acted">')


def test_the_document_stays_the_same_size_as_the_list_grows(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    small_limits: None,
) -> None:
    # Given 120 different restricted products, each listed a few times, and as many unknown
    lines = ["Brand,Model"]
    for number in range(120):
        for _ in range(1 + number % 3):
            lines.append(f"Hikvision,DS-2CD2{number:03d}G0-I")
            lines.append(f"Zorblax,ZX-{number}")
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "many.html"
    done = cli("screen", str(path), "-o", str(out), "-q")
    assert done.exit_code == 0, done.output
    html = out.read_text(encoding="utf-8")
    # Then each section lists at most PRODUCTS_SHOWN products, and counts every other row
    for section in ("acted", "unknown"):
        part = _section(html, section)
        assert len(_body_rows(part)) == 3, section
        left = re.search(r"(\d+) more products in (\d+) rows", _text(part))
        assert left is not None, section
        shown = sum(int(count) for count in re.findall(r"<strong>(\d+) rows</strong>", part)) + len(
            re.findall(r'<td class="rows[^"]*" id="row-\d+">\d+</td>', part)
        )
        total = int(re.search(r"\((\d+)\)</h2>", part).group(1))  # type: ignore[union-attr]
        assert shown + int(left.group(2)) == total == 240
