"""Huawei's former x86 servers (issue 11): xFusion has made FusionServer since Huawei sold the
business in November 2021, so the FusionServer name alone names neither maker; a model's
generation does (huawei.server takes V1-V6, not V7), and a row naming xFusion is xFusion's."""

from __future__ import annotations

import pytest

from provscan.knowledge import load_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

POLICIES = load_knowledge().select_policies(None)


def screen(text: str = "", *, brand: str | None = None) -> ScreenRow:
    return judge_product(bundled_identifier().identify(text, brand=brand), POLICIES)


@pytest.mark.parametrize(
    ("text", "brand"),
    [("xFusion FusionServer 2288H V7", None), ("FusionServer 2288H V7", "xFusion")],
)
def test_an_xfusion_server_is_xfusions(text: str, brand: str | None) -> None:
    row = screen(text, brand=brand)
    assert row.maker == "xFusion" and row.restricted is False, row.reason


def test_the_fusionserver_name_alone_names_no_maker() -> None:
    row = screen("FusionServer 2288H V7 rack server")
    assert row.maker is None and row.restricted is None, row.reason


def test_a_huawei_generation_is_still_huaweis() -> None:
    row = screen("FusionServer 2288H V5 rack server")
    assert row.maker == "Huawei" and row.restricted is True, row.reason
