"""Tolerant part-number extraction (fingerprints/text.py): brackets, glued brands, suffixes."""

from __future__ import annotations

import pytest

from provscan.fingerprints.text import candidates, split_glued, tokens, variants

BRANDS = {"huawei", "zte", "hik", "dh", "hik-vision"}


def is_brand(word: str) -> bool:
    return word.lower() in BRANDS


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("(DS-2CD2143G0-I)", "DS-2CD2143G0-I"),
        ("[DS-2CD2143G0-I]", "DS-2CD2143G0-I"),
        ("Camera(DS-2CD2143G0-I)", "DS-2CD2143G0-I"),
        ("DS-2CD2143G0-I(2.8mm)", "DS-2CD2143G0-I"),
        ("DS-2CD2143G0-I-2.8mm", "DS-2CD2143G0-I"),
        ("DS-2CD2143G0-I/4MM", "DS-2CD2143G0-I"),
        ("FD9387-HV-2.8mm", "FD9387-HV"),
        ("DS-2CD2143G0-I-WHITE", "DS-2CD2143G0-I"),
        ("IPC-HDW2431T-AS(Black)", "IPC-HDW2431T-AS"),
        ("DS-2CD2143G0-I-2.8mm-W", "DS-2CD2143G0-I"),
        ("IPC-D140H(C)", "IPC-D140H"),
        # a region or option code after '#', alone or before a lens
        ("DS-7316HQI-K4#USA", "DS-7316HQI-K4"),
        ("DS-2CD2766G2T-IZS#AU", "DS-2CD2766G2T-IZS"),
        ("DS-2CD2766G2T-IZS#AU(2.8mm)", "DS-2CD2766G2T-IZS"),
    ],
)
def test_variants_cut_brackets_and_suffixes(token: str, expected: str) -> None:
    assert expected in variants(token)


def test_variants_never_repeat_the_token_or_return_words_without_digits() -> None:
    assert variants("DS-2CD2143G0-I") == []
    assert variants("Camera(Dome)") == []


def test_a_wrapped_number_is_one_token_and_a_candidate() -> None:
    words = tokens("4MP dome (DS-2CD2143G0-I)")
    assert words == ["4MP", "dome", "(DS-2CD2143G0-I)"]
    found = {c.text: c for c in candidates(words)}
    assert found["DS-2CD2143G0-I"].trimmed and found["DS-2CD2143G0-I"].start == 2


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["Huawei-S5720-28X"], ["Huawei", "S5720-28X"]),
        (["Huawei_AR2220"], ["Huawei", "AR2220"]),
        (["ZTE_ZXHN", "F660"], ["ZTE", "ZXHN", "F660"]),
        (["DS-2CD2143G0-I"], ["DS-2CD2143G0-I"]),  # "DS" is no brand
        (["DH-IPC-HFW1230S"], ["DH-IPC-HFW1230S"]),  # two-letter prefixes stay whole
        (["Hik-Vision"], ["Hik-Vision"]),  # a brand spelling is not cut
        (["Acme-DS-2CD2143G0-I"], ["Acme-DS-2CD2143G0-I"]),  # unknown prefix
        (["Huawei-"], ["Huawei-"]),
    ],
)
def test_split_glued(words: list[str], expected: list[str]) -> None:
    assert split_glued(words, is_brand) == expected


def test_only_a_short_code_after_hash_is_cut() -> None:
    """'#' ends a part number only before a short region or option code; a label before it
    ("PN#...") is read as a label, and a longer tail is not a code."""
    assert "DS-2CD2143G0-I" in variants("PN#DS-2CD2143G0-I")
    assert not any(v.startswith("S5735") and "#" not in v for v in variants("S5735#L24T4S"))
