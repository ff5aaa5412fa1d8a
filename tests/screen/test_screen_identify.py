"""Identification of real-world product strings: tolerant, but never confidently wrong."""

from __future__ import annotations

import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)


def verdict(text: str, **cells: str):  # type: ignore[no-untyped-def]
    return judge_product(IDENTIFIER.identify(text, **cells), POLICIES)


@pytest.mark.parametrize(
    ("text", "maker", "brand", "status"),
    [
        ("4MP turret camera LTS CMIP7442W-28M", "Hikvision", "LTS", "restricted"),
        ("hikvision ds-2cd2143g0-i", "Hikvision", "Hikvision", "restricted"),
        ("HIKVISION DS 2CD2143G0 I", "Hikvision", "Hikvision", "restricted"),
        ("Hikvison DS-2CD2143G0-I (2.8mm)", "Hikvision", "Hikvision", "restricted"),
        ("Dahau XVR5108HS-I3", "Dahua", "Dahua", "restricted"),
        ("DS\u20132CD2387G2\u2013LU 8MP ColorVu", "Hikvision", "Hikvision", "restricted"),
        ("Amcrest IP8M-2496EB 4K bullet", "Dahua", "Amcrest", "restricted"),
        ("Imou Ranger 2 IPC-A22EP", "Dahua", "Imou", "restricted"),
        ("EZVIZ C6N indoor camera", "Hikvision", "EZVIZ", "restricted"),
        ("Intelbras VIP 3230 B", "Dahua", "Intelbras", "restricted"),
        # Lorex's own numbering names no year: Dahua owned Lorex only in 2018-2022
        ("Lorex LNB8005 4K bullet", "Dahua", "Lorex", "review"),
        ("Axis P3225-LV Mk II", "Axis", "Axis", "clear"),
        # Named by the Texas 2026 list only, which binds Texas state agencies: clear for a
        # national government body (the default reading; --as us-tx:state-agency restricts it).
        ("Uniview IPC322LB-SF28-A", "Uniview", "Uniview", "clear"),
        ("Annke C800", "Hikvision", "Annke", "review"),
        ("Widget 3000", None, None, "unknown"),
    ],
)
def test_real_world_strings(text: str, maker: str | None, brand: str | None, status: str) -> None:
    row = verdict(text)
    assert (row.maker, row.brand, row.status) == (maker, brand, status), row.reason


def test_typo_is_said_and_costs_confidence() -> None:
    exact, typo = verdict("Hikvision DS-2CD2143G0-I"), verdict("Hikvison DS-2CD2143G0-I")
    assert typo.confidence < exact.confidence
    assert "approximate match" in typo.reason


@pytest.mark.parametrize(
    "word", ["Axis", "Annk", "Rolex", "Swan", "Dahl", "Bosh", "camera", "General", "Lots"]
)
def test_fuzzy_matching_makes_no_confident_false_positive(word: str) -> None:
    row = verdict(f"{word} dome 4MP")
    if word == "Axis":
        assert row.maker == "Axis"
    else:
        assert row.brand is None and row.maker is None and row.status == "unknown", row


def test_axis_is_never_annke_and_annke_is_never_axis() -> None:
    assert verdict("", brand="Axis").maker == "Axis"
    assert verdict("", brand="Annke").brand == "Annke"
    assert IDENTIFIER.brands.fuzzy("Annke") in (None, "Annke")
    assert IDENTIFIER.brands.fuzzy("Anxis") is None


def test_unknown_brand_on_a_makers_number_is_a_probable_relabel() -> None:
    row = verdict("", brand="Acme Security", model="DS-2CD2143G0-I")
    assert (row.maker, row.brand, row.relation, row.status) == (
        "Hikvision",
        "Acme Security",
        "probable_relabel",
        "restricted",
    )
    assert "not in the vendor vocabulary" in row.reason
    assert any("hikvision.ds_2cd" in item for item in row.evidence)


def test_known_brand_without_relation_on_a_makers_number() -> None:
    # Issue 11: a brand stated in the row is never overridden by another maker's numbering
    # unless a documented relation links them; the numbering stays in the reason.
    # Not cleared either: Dahua's maker-specific numbering under Axis asks a review.
    row = verdict("", brand="Axis", model="IPC-HFW2431S-S-S2")
    assert (row.maker, row.relation, row.status) == ("Axis", "unrelated", "review")
    assert "dahua.ipc_h" in row.reason and "stated brand wins" in row.reason
    assert "confirm who made it" in row.reason


def test_synology_and_cisco_are_not_hikvision_or_dahua() -> None:
    assert verdict("DS920+").maker is None
    assert verdict("Cisco ASR1001-X").maker == "Cisco"
    assert verdict("ASA5506-X").maker is None


def test_partial_relation_without_line_evidence_is_review_not_restricted() -> None:
    # A video product of an unidentified line (a thermostat is outside the relation: see
    # test_screen_evidence_limits.py).
    row = verdict("Honeywell IP camera")
    assert row.status == "review" and row.restricted is None
    assert row.relation == "possible_relabel"
    assert "line was not identified" in row.reason
    assert row.findings  # what would apply if confirmed


def test_policy_selection_changes_the_verdict() -> None:
    ca_only = IDENTIFIER.knowledge.select_policies(["ca"])
    row = judge_product(IDENTIFIER.identify("Dahua NVR4104HS-P-4KS2"), ca_only)
    assert row.status == "clear" and row.maker == "Dahua"
    assert "named by no selected policy" in row.reason


def test_honeywell_performance_names_both_possible_makers() -> None:
    row = verdict("Honeywell H4W4PER3")
    assert row.status == "restricted"
    assert "Hikvision or Dahua" in row.reason
