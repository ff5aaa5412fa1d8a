"""The bundled knowledge loads, agrees with itself, and broken copies are refused clearly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.knowledge.loader import Knowledge, load_knowledge

RESTRICTED_FAMILIES = {"hikvision", "dahua", "hytera", "huawei", "zte"}
#: Families of the makers the 2025-26 measures name (FCC UAS list, Texas 2026 list).
FAMILIES_2026 = {"dji", "autel", "uniview", "tp-link", "xiaomi", "hisense", "tcl"}


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def fingerprint_file(rule_id: str, manufacturer: str = "Hikvision") -> dict[str, Any]:
    return {
        "fields": ["http.server"],
        "description": "test file",
        "rules": [
            {
                "id": rule_id,
                "description": "Hikvision web server",
                "pattern": "^Hikvision-Webs$",
                "certainty": 0.9,
                "asserts": {"manufacturer": manufacturer},
                "source": "Rapid7 Recog http_servers.xml",
                "examples": [{"value": "Hikvision-Webs", "expect": {"manufacturer": manufacturer}}],
            }
        ],
    }


def load_error(data_dir: Path) -> str:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    return str(caught.value)


# --- the bundled data ----------------------------------------------------------------------


def test_bundled_knowledge_loads_and_is_cached(knowledge: Knowledge) -> None:
    assert set(knowledge.families) == RESTRICTED_FAMILIES | FAMILIES_2026
    assert {"ca", "ca-qc", "us", "us-tx", "us-la", "uk", "au"} <= set(knowledge.policies)
    assert load_knowledge() is load_knowledge()
    assert knowledge.http_endpoints is not None


def test_copy_of_bundled_data_loads(data_copy: Path) -> None:
    assert set(load_knowledge(data_copy).families) == RESTRICTED_FAMILIES | FAMILIES_2026


def test_every_policy_measure_has_citation_effective_and_sources(knowledge: Knowledge) -> None:
    for policy in knowledge.policies.values():
        for measure in policy.measures:
            assert measure.citation.strip(), measure.id
            assert measure.effective is not None, measure.id
            assert measure.sources and all(source.strip() for source in measure.sources), measure.id
            assert measure.binds.strip(), measure.id
            assert set(measure.families) <= set(knowledge.families), measure.id


def test_us_section_889_names_all_five_families_with_scope_note(knowledge: Knowledge) -> None:
    section_889 = [m for m in knowledge.policies["us"].measures if m.id.startswith("us-ndaa-889")]
    assert section_889
    for measure in section_889:
        assert set(measure.families) == RESTRICTED_FAMILIES
        assert "critical infrastructure" in measure.scope_note


def test_uniview_is_named_only_by_the_texas_2026_list(knowledge: Knowledge) -> None:
    assert knowledge.canonical_vendor("UNV") == "Uniview"
    assert knowledge.family_of("Uniview") == "uniview"
    naming = [
        measure.id
        for policy in knowledge.policies.values()
        for measure in policy.measures
        if "uniview" in measure.families
    ]
    assert naming == ["us-tx-prohibited-technologies-2026"]


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("HIKVISION", "Hikvision"),
        ("hik vision", "Hikvision"),
        ("Hik-Vision", "Hikvision"),
        ("  hikvision  ", "Hikvision"),
        ("Hangzhou Hikvision Digital Technology Co Ltd", "Hikvision"),
        ("dahua technology", "Dahua"),
        ("cp-plus", "CP PLUS"),
        ("ezviz", "EZVIZ"),
        ("Acme Cameras", None),
        ("", None),
        ("--", None),
    ],
)
def test_canonical_vendor(knowledge: Knowledge, spelling: str, canonical: str | None) -> None:
    assert knowledge.canonical_vendor(spelling) == canonical


def test_family_of_uses_current_membership(knowledge: Knowledge) -> None:
    assert knowledge.family_of("EZVIZ") == "hikvision"
    assert knowledge.family_of("hisilicon") == "huawei"
    assert knowledge.family_of("Norsat") == "hytera"
    # Hytera sold Sepura in July 2022 and Teltronic in July 2025 (issue 11); their dated
    # former_subsidiary relations carry the years Hytera owned them.
    assert knowledge.family_of("Sepura") is None
    assert knowledge.family_of("Teltronic") is None
    assert knowledge.family_of("Axis") is None
    # Lorex left the Dahua family on 2022-11-24; the dated relation carries that period.
    assert knowledge.family_of("Lorex") is None


def test_relations_for_brand(knowledge: Knowledge) -> None:
    lorex = {relation.relation: relation for relation in knowledge.relations_for_brand("LOREX")}
    assert lorex["former_subsidiary"].maker == "Dahua"
    assert (lorex["former_subsidiary"].since, lorex["former_subsidiary"].until) == (
        "2018-02-06",
        "2022-11-24",
    )
    amcrest = knowledge.relations_for_brand("Amcrest")
    assert [(r.maker, r.relation) for r in amcrest] == [("Dahua", "oem_relabel")]
    assert knowledge.relations_for_brand("Acme") == ()
    for relation in knowledge.relations:
        if relation.partial:
            assert relation.scope != "all", relation
    for maker in ("Hikvision", "Dahua", "Hytera", "Huawei", "ZTE"):
        own = [r for r in knowledge.relations_for_brand(maker) if r.maker == maker]
        assert [r.relation for r in own] == ["own_brand"]


def test_select_policies(knowledge: Knowledge) -> None:
    assert knowledge.select_policies(None) == tuple(knowledge.policies.values())
    assert knowledge.select_policies([]) == tuple(knowledge.policies.values())
    assert [p.id for p in knowledge.select_policies(["us", "uk", "us"])] == ["us", "uk"]
    with pytest.raises(KnowledgeError) as caught:
        knowledge.select_policies(["xx"])
    message = str(caught.value)
    assert "xx" in message
    assert "valid ids" in message
    for policy_id in knowledge.policies:
        assert policy_id in message


def test_http_endpoints_are_short_and_safe(knowledge: Knowledge) -> None:
    assert knowledge.http_endpoints is not None
    endpoints = knowledge.http_endpoints.endpoints
    assert 0 < len(endpoints) <= 9  # MAX_HTTP_ENDPOINTS (decision 0025)
    for endpoint in endpoints:
        assert "auth=" not in endpoint.path.lower()
        assert "weblanguage" not in endpoint.path.lower()
        assert endpoint.sources
    rpc2 = next(e for e in endpoints if e.path == "/RPC2_Login")
    assert rpc2.method == "POST"
    assert '"password":""' in rpc2.body
    assert "not a credential guess" in rpc2.purpose


# --- broken copies -------------------------------------------------------------------------


def test_unknown_vendor_name_is_refused(data_copy: Path) -> None:
    def add_relations(document: Any) -> None:
        document["relations"].append(
            {
                "brand": "Acme Cameras",
                "maker": "HIKVISION",
                "relation": "oem_relabel",
                "confidence": "low",
                "evidence": "test",
                "sources": ["test"],
            }
        )

    edit_yaml(data_copy / "relations.yaml", add_relations)
    message = load_error(data_copy)
    assert "relations.yaml" in message
    assert "brand=Acme Cameras" in message
    assert "brand 'Acme Cameras' is not in the vendor vocabulary" in message
    assert "maker 'HIKVISION' is not a canonical vendor name; use 'Hikvision'" in message


def test_unknown_vendor_in_fingerprint_asserts_and_examples_is_refused(data_copy: Path) -> None:
    (data_copy / "fingerprints" / "http_server.yaml").write_text(
        yaml.safe_dump(fingerprint_file("test.hik.server", manufacturer="Hik Vision")),
        encoding="utf-8",
    )
    message = load_error(data_copy)
    assert "fingerprints/http_server.yaml" in message
    assert "asserts.manufacturer 'Hik Vision' is not a canonical vendor name" in message
    assert "examples[0]" in message


def test_duplicate_rule_id_across_files_is_refused(data_copy: Path) -> None:
    for name in ("a_first.yaml", "b_second.yaml"):
        (data_copy / "fingerprints" / name).write_text(
            yaml.safe_dump(fingerprint_file("test.same.id")), encoding="utf-8"
        )
    message = load_error(data_copy)
    assert "fingerprints/b_second.yaml" in message
    assert "duplicate rule id 'test.same.id' (first in fingerprints/a_first.yaml" in message


def test_valid_fingerprint_files_load_in_name_order(data_copy: Path) -> None:
    for name, rule_id in (("z_last.yaml", "test.z"), ("a_first.yaml", "test.a")):
        (data_copy / "fingerprints" / name).write_text(
            yaml.safe_dump(fingerprint_file(rule_id)), encoding="utf-8"
        )
    loaded = load_knowledge(data_copy)
    assert [f.path for f in loaded.fingerprints] == [
        "fingerprints/a_first.yaml",
        "fingerprints/z_last.yaml",
    ]


def test_missing_source_is_refused(data_copy: Path) -> None:
    def drop_sources(document: Any) -> None:
        document["families"][1]["members"][1]["sources"] = []

    edit_yaml(data_copy / "families.yaml", drop_sources)
    message = load_error(data_copy)
    assert "families.yaml" in message
    assert "families[1] (id=dahua).members[1] (name=Imou).sources" in message


def test_blank_source_is_refused(data_copy: Path) -> None:
    def blank_source(document: Any) -> None:
        document["policies"][0]["measures"][0]["sources"] = ["  "]

    edit_yaml(data_copy / "policies.yaml", blank_source)
    message = load_error(data_copy)
    assert "policies.yaml" in message
    assert "non-blank source" in message


def test_contradictory_relations_are_refused(data_copy: Path) -> None:
    def add_overlapping_relabel(document: Any) -> None:
        document["relations"].append(
            {
                "brand": "Lorex",
                "maker": "Dahua",
                "relation": "oem_relabel",
                "since": "2020",
                "until": "2021-06",
                "confidence": "low",
                "evidence": "test",
                "sources": ["test"],
            }
        )

    edit_yaml(data_copy / "relations.yaml", add_overlapping_relabel)
    message = load_error(data_copy)
    assert "relations.yaml" in message
    assert "contradicts relations[" in message
    assert "oem_relabel vs former_subsidiary" in message


def test_non_overlapping_relations_of_different_kinds_are_accepted(data_copy: Path) -> None:
    loaded = load_knowledge(data_copy)
    kinds = {relation.relation for relation in loaded.relations_for_brand("Lorex")}
    assert kinds == {"former_subsidiary", "oem_relabel"}


def test_bad_yaml_is_refused(data_copy: Path) -> None:
    (data_copy / "relations.yaml").write_text(
        "relations:\n  - brand: Lorex\n     maker: [Dahua\n", encoding="utf-8"
    )
    message = load_error(data_copy)
    assert "relations.yaml: YAML parse error" in message


def test_duplicate_yaml_key_is_refused(data_copy: Path) -> None:
    text = (data_copy / "vendors.yaml").read_text(encoding="utf-8")
    text = text.replace("  - name: Hikvision\n", "  - name: Hikvision\n    name: Hikvision2\n", 1)
    (data_copy / "vendors.yaml").write_text(text, encoding="utf-8")
    message = load_error(data_copy)
    assert "vendors.yaml: YAML parse error" in message
    assert "duplicate key 'name'" in message


def test_schema_error_names_file_and_entry(data_copy: Path) -> None:
    def bad_confidence(document: Any) -> None:
        document["relations"][0]["confidence"] = "certain"

    edit_yaml(data_copy / "relations.yaml", bad_confidence)
    message = load_error(data_copy)
    assert "relations.yaml: relations[0] (brand=Hikvision, maker=Hikvision).confidence" in message


def test_colliding_vendor_alias_is_refused(data_copy: Path) -> None:
    def add_clone(document: Any) -> None:
        document["vendors"].append(
            {"name": "Hik Clone", "aliases": ["hik-vision"], "sources": ["test"]}
        )

    edit_yaml(data_copy / "vendors.yaml", add_clone)
    message = load_error(data_copy)
    assert "spelling 'hik-vision' collides with vendor 'Hikvision'" in message


def test_duplicate_policy_and_measure_ids_are_refused(data_copy: Path) -> None:
    def duplicate(document: Any) -> None:
        copy = dict(document["policies"][0])
        document["policies"].append(copy)
        other = document["policies"][1]
        other["measures"].append(dict(document["policies"][0]["measures"][0]))

    edit_yaml(data_copy / "policies.yaml", duplicate)
    message = load_error(data_copy)
    assert "duplicate policy id 'ca'" in message
    assert "duplicate measure id 'ca-ica-hikvision-canada-2025'" in message


def test_unknown_family_in_policy_is_refused(data_copy: Path) -> None:
    def add_unknown(document: Any) -> None:
        document["policies"][0]["measures"][0]["families"].append("acme")

    edit_yaml(data_copy / "policies.yaml", add_unknown)
    message = load_error(data_copy)
    assert "family 'acme' is not a family id in families.yaml" in message


def test_duplicate_family_id_is_refused(data_copy: Path) -> None:
    def duplicate(document: Any) -> None:
        document["families"].append(dict(document["families"][4]))

    edit_yaml(data_copy / "families.yaml", duplicate)
    assert "duplicate family id 'zte'" in load_error(data_copy)


def test_exploit_endpoint_is_refused(data_copy: Path) -> None:
    def add_exploit(document: Any) -> None:
        document["endpoints"].append(
            {
                "id": "bad",
                "method": "GET",
                "path": "/system/deviceInfo?auth=YWRtaW46MTEK",
                "extractor": "none",
                "purpose": "test",
                "sources": ["test"],
            }
        )

    appended_at: list[int] = []

    def add_exploit_and_note_where(document: Any) -> None:
        appended_at.append(len(document["endpoints"]))
        add_exploit(document)

    edit_yaml(data_copy / "http_endpoints.yaml", add_exploit_and_note_where)
    message = load_error(data_copy)
    assert f"http_endpoints.yaml: endpoints[{appended_at[0]}] (id=bad)" in message
    assert "exploit fragment" in message


def test_http_endpoints_file_is_optional(data_copy: Path) -> None:
    (data_copy / "http_endpoints.yaml").unlink()
    assert load_knowledge(data_copy).http_endpoints is None


def test_missing_data_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="not found"):
        load_knowledge(tmp_path / "absent")


def test_vendor_family_must_match_current_membership(data_copy: Path) -> None:
    def claim_dahua(document: Any) -> None:
        lorex = next(v for v in document["vendors"] if v["name"] == "Lorex")
        lorex["family"] = "dahua"

    edit_yaml(data_copy / "vendors.yaml", claim_dahua)
    message = load_error(data_copy)
    assert "vendors.yaml: vendor 'Lorex'" in message
    assert "declares family 'dahua' but is not a current member of it" in message


def test_former_members_have_no_current_family(knowledge: Knowledge) -> None:
    assert knowledge.family_of("Dahua Technology USA") is None
    # The legal name is also one of Dahua's spellings, so a device string resolves to Dahua.
    assert knowledge.canonical_vendor("Dahua Technology USA Inc.") == "Dahua"
