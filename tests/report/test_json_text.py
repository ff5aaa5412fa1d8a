"""The JSON report's text is the standard encoder's, byte for byte, whichever encoder wrote it
(issue 14: orjson writes what it writes the same way, the rest takes ``json.dumps``)."""

from __future__ import annotations

import enum
import json
import random
from pathlib import Path
from typing import Any

import pytest

from provscan.passive import analyse_captures
from provscan.pipeline import run_passive
from provscan.report.contract import to_contract
from provscan.report.formats import indented_json, render_json, render_json_chunks

FIXTURES = Path(__file__).parents[1] / "pcap" / "fixtures"


def _standard(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=True)


class _Level(enum.IntEnum):
    HIGH = 3


class _Text(str):
    pass


HOSTILE_STRINGS = [
    "",
    "plain",
    'quote " backslash \\ slash /',
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f",
    "\x7f DEL and \x80\x9f C1",
    "Qu\u00e9bec \u00a0 no-break \u2028 line sep \u2029 para sep \ufeff bom \uffff",
    "\U0001f600 emoji \U0010ffff last plane",
    "\u6d77\u5eb7\u5a01\u89c6 \u5927\u534e",
    "lone surrogate \ud800 here",
    "</script><!--",
]

FLOATS = [
    0.0,
    -0.0,
    1.0,
    0.5,
    0.1,
    0.75,
    9.8,
    1e-4,
    9.99e-5,
    1e-5,
    2.5e-7,
    5e-324,
    123456.789,
    1e15,
    1e16,
    1.2345678901234568e17,
    1e22,
    1.7976931348623157e308,
    -3.25,
    float("inf"),
    float("-inf"),
    float("nan"),
]

ODD_VALUES: list[Any] = [
    {"a": 1, 2: "int key"},
    {True: 1},
    {None: 1},
    {1.5: 1},
    (1, 2, [3, (4,)]),
    [2**63, 2**64, -(2**63) - 1, 10**30],
    [_Level.HIGH, _Text("subclass"), True, False, None],
    {"empty": {}, "list": [], "nested": [{}, [], [[]], {"x": {}}]},
]


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_strings_are_written_as_the_standard_encoder_writes_them(text: str) -> None:
    value = {"value": text, "list": [text, {"k": text}], text: "as a key"}
    assert indented_json(value) == _standard(value)


@pytest.mark.parametrize("number", FLOATS, ids=repr)
def test_floats_are_written_as_the_standard_encoder_writes_them(number: float) -> None:
    value = {"certainty": number, "list": [number, {"cvss": number}]}
    assert indented_json(value) == _standard(value)


@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda v: type(v).__name__)
def test_other_types_take_the_standard_encoder(value: Any) -> None:
    assert indented_json(value) == _standard(value)


def test_deep_nesting_gives_what_the_standard_encoder_gives() -> None:
    shallow: Any = []
    for _ in range(300):  # past orjson's nesting limit, within the standard encoder's
        shallow = [shallow]
    assert indented_json(shallow) == _standard(shallow)
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        _standard(deep)
    with pytest.raises(RecursionError):
        indented_json(deep)


def test_values_the_standard_encoder_refuses_are_refused_alike() -> None:
    for value in ({"when": object()}, {"set": {1, 2}}, {"bytes": b"x"}):
        with pytest.raises(TypeError):
            _standard(value)
        with pytest.raises(TypeError):
            indented_json(value)


def test_random_documents_match_the_standard_encoder() -> None:
    rng = random.Random(14)
    alphabet = 'aZ09 "\\/\x00\x1f\x7f\u00e9\u2028\u6d77\U0001f600'
    pieces = [*HOSTILE_STRINGS, *FLOATS]

    def value(depth: int) -> Any:
        kind = rng.randrange(9 if depth < 4 else 5)
        if kind == 0:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        if kind == 1:
            return rng.choice([rng.randrange(-(10**6), 10**6), 2**70, -1])
        if kind == 2:
            return rng.choice([rng.random() * 10 ** rng.randrange(-9, 20), *FLOATS])
        if kind == 3:
            return rng.choice([True, False, None])
        if kind == 4:
            return rng.choice(pieces)
        if kind in (5, 6):
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(6))): value(depth + 1)
            for _ in range(rng.randrange(4))
        }

    for _ in range(3000):
        document = {"devices": [value(0) for _ in range(3)]}
        assert indented_json(document) == _standard(document)


@pytest.mark.parametrize("name", ["lab_scan.pcap.gz", "crafted_signals.pcapng"])
def test_a_passive_report_is_the_standard_encoders_text(name: str) -> None:
    # The whole document as one standard dump, against the report written in pieces.
    result = run_passive([str(FIXTURES / name)])
    expected = _standard(to_contract(result).model_dump(mode="json")) + "\n"
    assert render_json(result) == expected
    assert "".join(render_json_chunks(result)) == expected


def test_an_empty_capture_report_is_the_standard_encoders_text() -> None:
    result = analyse_captures([], lambda host: pytest.fail(f"no host expected: {host}"))
    expected = _standard(to_contract(result).model_dump(mode="json")) + "\n"
    assert render_json(result) == expected
