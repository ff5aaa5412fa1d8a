"""Screening fixes of issue 11 (point 7): mentions, glued brands, brackets, stated brands.

Every string here is written for the test from public naming conventions (the makers'
catalogues); none comes from the held-out lists.
"""

from __future__ import annotations

import pytest

from provscan.screening.brands import split_glued_kind
from provscan.screening.identify import Identification
from provscan.screening.run import bundled_identifier


def identify(text: str, brand: str | None = None) -> Identification:
    return bundled_identifier().identify(text, brand=brand)


@pytest.mark.parametrize(
    "text",
    [
        "Camera Module 3 for Raspberry Pi",
        "IR night vision camera compatible with Raspberry Pi 4",
    ],
)
def test_a_brand_after_for_or_with_is_a_mention_not_the_maker(text: str) -> None:
    # Given a product that only names what it works with
    found = identify(text)
    # Then that platform is not reported as its maker, and the reason says why
    assert found.maker != "Raspberry Pi"
    assert any("read as a mention" in reason for reason in found.reasons)


def test_a_label_brand_before_the_mention_is_the_label_not_the_platform() -> None:
    # DBPOWER is a label brand whose maker is not recorded: no maker, never Raspberry Pi
    found = identify("DBPOWER 1080P WiFi camera for Raspberry Pi")
    assert found.maker is None
    assert any("DBPOWER is a label brand" in reason for reason in found.reasons)


def test_the_platform_itself_is_still_its_own_maker() -> None:
    assert identify("Raspberry Pi Camera Module 3").maker == "Raspberry Pi"


def test_a_brand_is_still_the_label_when_a_mention_follows_it() -> None:
    found = identify("Wyze Cam Pan v2 for Raspberry Pi")
    assert (found.maker, found.brand) == ("Wyze", "Wyze")


@pytest.mark.parametrize(
    ("text", "maker"),
    [
        ("Wyzecam", "Wyze"),
        ("Wyzecam v3 with Raspberry Pi", "Wyze"),
        ("Huawei.S5735-L24T4S-A", "Huawei"),
        ("Huawei-S5720-28X-SI-AC", "Huawei"),
        ("HUAWEI_AR6120", "Huawei"),
    ],
)
def test_brands_glued_to_the_model_or_the_product_word(text: str, maker: str) -> None:
    assert identify(text).maker == maker


def test_glued_split_needs_a_known_brand_prefix() -> None:
    def is_brand(word: str) -> bool:
        return word.lower() in {"wyze", "huawei"}

    assert split_glued_kind("Wyzecam", is_brand) == ["Wyze", "cam"]
    assert split_glued_kind("Huawei.AR6120", is_brand) == ["Huawei", "AR6120"]
    for word in ("Webcam", "Dashcam", "v1.2", "Huawei.com", "Wyze"):
        assert split_glued_kind(word, is_brand) == [word]


@pytest.mark.parametrize(
    ("text", "maker", "model"),
    [
        ("IP Camera(IPC-HFW2431S-S-S2)", "Dahua", "IPC-HFW2431S-S-S2"),
        ("Network switch (S5720-28X-SI-AC)", "Huawei", "S5720-28X-SI-AC"),
        ("(DS-2CD2143G0-I)", "Hikvision", "DS-2CD2143G0-I"),
    ],
)
def test_part_numbers_in_round_brackets(text: str, maker: str, model: str) -> None:
    found = identify(text)
    assert (found.maker, found.model) == (maker, model)
    # "IP" before the bracket is product vocabulary, never read as a label brand
    assert found.brand != "IP"


@pytest.mark.parametrize(
    ("brand", "model", "stated"),
    [
        ("Vivotek", "SD9384-EHL", "Vivotek"),
        ("Axis", "DS-2CD2143G0-I", "Axis"),
        ("Kedacom", "IPC2251-HN", "Kedacom"),
        ("Ubiquiti", "UVC-G4-Bullet", "Ubiquiti"),
    ],
)
def test_a_stated_brand_is_not_overridden_by_another_makers_pattern(
    brand: str, model: str, stated: str
) -> None:
    found = identify(model, brand=brand)
    assert found.maker == stated and found.family is None
