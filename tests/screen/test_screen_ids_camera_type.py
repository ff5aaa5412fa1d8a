"""An iDS-2 number is a Hikvision camera, typed as one (a newcomer's iDS-2CD7A46G0-IZHS had
no device type, so Australia's measure on cameras and recorders was only conditional)."""

from __future__ import annotations

import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)


@pytest.mark.parametrize("number", ["iDS-2CD7A46G0-IZHS(8-32mm)", "iDS-2CD7146G0-IZS"])
def test_an_ids_2_number_is_a_camera(number: str) -> None:
    identification = IDENTIFIER.identify(number)
    assert (identification.maker, identification.grammar_id) == (
        "Hikvision",
        "hikvision.ids_camera",
    )
    row = judge_product(identification, POLICIES)
    assert row.device_type == "camera"
    assert row.restricted is True
    restricting = {finding.policy for finding in row.findings if finding.restricts}
    assert "au" in restricting, row.reason


@pytest.mark.parametrize("number", ["iDS-7208HQHI-M1/S", "iDS-E04HQHI-XD", "iDS-TCM403-BI"])
def test_other_ids_lines_stay_with_their_grammar(number: str) -> None:
    identification = IDENTIFIER.identify(number)
    assert (identification.maker, identification.grammar_id) == ("Hikvision", "hikvision.ids")


@pytest.mark.parametrize("text", ["iDS-2.1", "iDS 13.0.0.0", "IDS-4215"])
def test_look_alikes_stay_unattributed(text: str) -> None:
    assert IDENTIFIER.identify(text).maker != "Hikvision"
