"""Makers' Chinese names (issue 11): lists from Chinese suppliers, bilingual procurement lists
and device certificates write the restricted makers as 海康威视, 浙江大华技术股份有限公司, 华为,
中兴通讯股份有限公司, 海能达, 萤石. They are read as those makers, and Chinese mention words
("适用于 华为 P30 手机壳": a phone case for a Huawei phone) keep an accessory from a verdict,
as "for" and "compatible" do in English."""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.fingerprints.names import NameFinder
from provscan.knowledge import load_knowledge
from provscan.model import Observation
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

POLICIES = load_knowledge().select_policies(None)


def screen(text: str = "", *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(bundled_identifier().identify(text, brand=brand, model=model), POLICIES)


@pytest.mark.parametrize(
    ("brand", "model", "maker"),
    [
        ("海康威视", "DS-2CD2143G0-I", "Hikvision"),
        ("杭州海康威视数字技术股份有限公司", "camera", "Hikvision"),
        ("浙江大华技术股份有限公司", "IPC-HFW2431S", "Dahua"),
        ("华为", "S5720-28X-SI-AC", "Huawei"),
        ("华为技术有限公司", "", "Huawei"),
        ("中兴", "ZXHN F670L", "ZTE"),
        ("深圳市中兴通讯股份有限公司", "", "ZTE"),
        ("海能达", "PD785", "Hytera"),
        ("萤石", "C6N", "Hikvision"),
    ],
)
def test_a_chinese_maker_cell_names_the_maker(brand: str, model: str, maker: str) -> None:
    row = screen(brand=brand, model=model or None)
    assert row.maker == maker, row.reason
    assert row.restricted is True, row.reason
    # an own brand, not a "probable relabel" of an unknown brand (before: 海康威视 was read as
    # an unknown label that Hikvision's model number made a relabel)
    assert row.relation in ("own_brand", "consumer_brand"), row.relation


@pytest.mark.parametrize(
    ("brand", "maker"),
    [
        ("浙江宇视科技有限公司", "Uniview"),
        ("天地伟业技术有限公司", "Tiandy"),
        ("苏州科达科技股份有限公司", "Kedacom"),
        ("普联技术有限公司", "TP-Link"),
    ],
)
def test_an_unrestricted_chinese_maker_is_itself(brand: str, maker: str) -> None:
    row = screen(brand=brand, model="camera")
    assert row.maker == maker, row.reason
    assert row.restricted is not True


def test_a_longer_word_holding_a_short_name_is_not_that_maker() -> None:
    # 大华银行 is United Overseas Bank; a two-character name never matches inside a word
    row = screen(brand="大华银行", model="ATM terminal")
    assert row.maker is None and row.restricted is None


@pytest.mark.parametrize(
    "text",
    [
        "适用于 华为 P30 手机壳",  # a phone case for a Huawei phone
        "兼容 海康威视 摄像头 支架",  # a bracket that fits Hikvision cameras
        "华为 专用 充电器",  # a charger made for Huawei's
        "Hikvision compatible NVR",  # the English form the name finder already knew
    ],
)
def test_a_mentioned_maker_is_not_the_products(text: str) -> None:
    row = screen(text)
    assert row.restricted is not True, row.reason
    assert "read as a mention" in row.reason


@pytest.mark.parametrize(
    ("text", "maker"),
    [("海康威视 网络摄像机 DS-2CD2143", "Hikvision"), ("华为 交换机 S5720-28X-SI-AC", "Huawei")],
)
def test_a_chinese_name_in_a_description_names_the_maker(text: str, maker: str) -> None:
    row = screen(text)
    assert (row.maker, row.restricted) == (maker, True), row.reason


def test_a_device_that_prints_a_chinese_name_names_its_maker_as_a_shared_claim() -> None:
    knowledge = load_knowledge()
    finder = NameFinder(knowledge)
    assert [hit.vendor for hit in finder.find("海康威视 网络摄像机")] == ["Hikvision"]
    # two characters are too short to be read in a device's own free text (as "HP" must be
    # written in capitals): a name is not taken from 华为 alone
    assert finder.find("华为 路由器") == []
    title = Observation("http", 80, "http.title", "海康威视 网络摄像机", "/")
    device = (
        Attributor(knowledge).attribute("127.0.0.1", [80], [], extra_observations=[title]).device
    )
    # a shared claim from one field: named for review, never a verdict on its own
    assert not device.restricted
    assert any("possibly made by Hikvision" in note for note in device.notes), device.notes
