"""What counts as a source in a fingerprint rule's ``source`` text (docs/knowledge-sources.md).

A rule's ``source`` is one line of citations separated by ``;`` (a ``;`` inside parentheses
belongs to its citation). Each citation must name something a reader can find again: a URL,
a repository or file path, a registry or dataset by name (Recog, nmap, Greenbone, nuclei,
IANA, IEEE, an RFC...), public code by its search-index id, or a key of the list in
docs/knowledge-sources.md (``S71``, ``X9``). A cross-reference to provscan's own data
(``vendors.yaml``, another rule) or to the project's unpublished research notes
(``knowledge: fingerprint-signals §3``) is allowed beside them but is no public source, and
free words ("my notes", "project brief", "vendor naming") are no source at all.

:func:`read_sources` returns the independent public sources a text cites (one per citation,
plus each ``S``/``X`` key) and the citations that look like no source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Registries, datasets, scanners and standards cited by name (lower case, matched as words).
NAMED_SOURCES = (
    "recog",
    "nmap",
    "greenbone",
    "nuclei",
    "nuclei-templates",
    "iana",
    "ieee",
    "wireshark",
    "whatweb",
    "ztag",
    "zmap",
    "house of keys",
    "censys",
    "shodan",
    "onvif",
    "upnp",
    "whatwg",
    "ndaa",
    "fcc",
    "cvelistv5",
    "nvd",
)
_NAMED = re.compile(
    r"\b(" + "|".join(re.escape(name) for name in NAMED_SOURCES) + r")\b", re.IGNORECASE
)
_URL = re.compile(r"https?://([^\s/)]+)(/[^\s)\"',]*)?", re.IGNORECASE)
#: A key of docs/knowledge-sources.md (S1..S95, X1..).
_DOC_KEY = re.compile(r"\b([SX]\d{1,3})\b")
_STANDARD = re.compile(r"\b(RFC\s?\d+|CVE-\d{4}-\d+|ISO(?:/IEC)?\s?\d+)\b", re.IGNORECASE)
#: owner/name, or a path with a directory: ``rroller/dahua``, ``xml/http_servers.xml``.
_REPO_PATH = re.compile(r"(?<![\w./@-])([A-Za-z0-9][\w.-]*/[\w.-]+)")
_FILE = re.compile(
    r"\b[\w-]+\.(?:xml|py|yaml|yml|lua|txt|json|js|ts|go|c|h|md|nasl|sc|tsv|csv|java|rs|rb|php|cgi)\b"
)
#: Public code found by the project's code search: named by its index id.
_CODE_ID = re.compile(r"\b(?:public github code|ids?)\b[^;]*?\b(\d{6,})\b", re.IGNORECASE)
#: Public code whose repository the search index could not name (docs: a source type).
_CODE = re.compile(r"\bpublic github code\b", re.IGNORECASE)
#: A web site named by its domain ("support.huawei.com").
_DOMAIN = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|gov|edu|cn|de|uk)\b")
#: Manuals, guides and datasheets cited by title.
_DOCUMENT = re.compile(
    r"\b(manual|developer guide|datasheet|data sheet|user guide|advisory|standard|"
    r"documentation|readme|support notes|wiki)\b",
    re.IGNORECASE,
)
#: The project's own data and unpublished notes: allowed beside sources, never one.
_INTERNAL = re.compile(
    r"(\bknowledge:|fingerprint-signals|policy-families-oem-cve|\b[\w/]+\.yaml\b|"
    r"\bthe maker name of\b|\bsame (?:rule|source) as\b)",
    re.IGNORECASE,
)
#: Files of provscan's own data directory: a path naming one is a cross-reference.
_OWN_DATA = re.compile(r"(?:^|/)(?:fingerprints/)?[\w-]+\.yaml$")


@dataclass(frozen=True)
class SourceReading:
    """What one ``source`` text cites."""

    #: One key per independent public source (a citation, an S/X key).
    public: frozenset[str]
    #: Citations that name nothing a reader could find again.
    not_sources: tuple[str, ...]


def split_citations(text: str) -> list[str]:
    """The ``;``-separated citations of ``text`` (``;`` inside brackets does not split)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        if char == ";" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _primary(citation: str) -> str | None:
    """The key of the public source a citation names, or None."""
    if url := _URL.search(citation):
        return f"url:{url.group(1).lower()}{(url.group(2) or '').rstrip('.').lower()}"
    if named := _NAMED.search(citation):
        return f"named:{named.group(1).lower()}"
    if standard := _STANDARD.search(citation):
        return f"standard:{standard.group(1).upper().replace(' ', '')}"
    for path in _REPO_PATH.findall(citation):
        if not _OWN_DATA.search(path):
            return f"repo:{'/'.join(path.lower().split('/')[:2])}"
    if code := _CODE_ID.search(citation):
        return f"code:{code.group(1)}"
    if _CODE.search(citation):
        return f"code:{' '.join(citation.lower().split())}"
    for found in _FILE.finditer(citation):
        if not _OWN_DATA.search(found.group(0)):
            return f"file:{found.group(0).lower()}"
    if domain := _DOMAIN.search(citation):
        return f"site:{domain.group(0).lower()}"
    if _DOCUMENT.search(citation):
        return f"document:{' '.join(citation.lower().split())}"
    return None


def read_sources(text: str) -> SourceReading:
    public: set[str] = set()
    not_sources: list[str] = []
    for citation in split_citations(text):
        # A citation that names list keys ("S70 (Achelics/...)") is those sources: the rest
        # of it describes them and is not a second source.
        keys = {f"key:{key}" for key in _DOC_KEY.findall(citation)}
        primary = _primary(citation)
        if primary is not None and not keys:
            keys.add(primary)
        if not keys and not _INTERNAL.search(citation):
            not_sources.append(citation)
        public |= keys
    return SourceReading(frozenset(public), tuple(not_sources))


#: Independent public sources a rule needs when it can establish a restricted maker alone.
MIN_RESTRICTED_SOURCES = 2
#: Shortfall reasons (the keys of :data:`SOURCE_SHORTFALLS`' values).
NOT_A_SOURCE = "not-a-source"
FEW_SOURCES = "few-sources"
NO_NEGATIVE = "no-negative"
#: The bundled rules that did not meet these rules when they were first enforced
#: (2026-12, measured with `provscan knowledge verify`): rule id -> the rules it falls short
#: of. This is a to-do list for the knowledge maintainers, not an exemption to grow: a rule
#: listed here for a reason it no longer has is reported ("remove it from the list"), a new
#: rule is never added, and docs/knowledge-sources.md says so. Fix a rule (a second public
#: source, a look-alike negative, a real citation for free words) and delete its line.
SOURCE_SHORTFALLS: dict[str, frozenset[str]] = {
    "amcrest.http_body.copyright": frozenset({FEW_SOURCES}),
    "amcrest.http_realm.login_to_amc": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "amcrest.http_realm.login_to_amcrest": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "amcrest.model.ip": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "amcrest.model.nv": frozenset({NOT_A_SOURCE, FEW_SOURCES}),
    "amcrest.rpc2.realm_amc": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "amcrest.rtsp_realm.login_to_amc": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "asus.banner.telnet_rt_model": frozenset({NOT_A_SOURCE}),
    "avigilon.model.h_series": frozenset({NOT_A_SOURCE}),
    "axis.dhcp_hostname.axis_mac": frozenset({NOT_A_SOURCE}),
    "axis.model.bare": frozenset({NOT_A_SOURCE}),
    "belkin.upnp_device_type.wemo": frozenset({NOT_A_SOURCE}),
    "bosch.model.camera": frozenset({NOT_A_SOURCE}),
    "canon.http_title.remote_ui": frozenset({NOT_A_SOURCE}),
    "cisco.http_realm.ios_level_access": frozenset({NOT_A_SOURCE}),
    "cpplus.model.unc": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.dhcp_hostname.contains_dahua": frozenset({FEW_SOURCES}),
    "dahua.dhdiscover.vendor.dahua": frozenset({FEW_SOURCES}),
    "dahua.dhdiscover.vendor.general": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.dvrip.json_f600": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.dvrip.reply_b000": frozenset({FEW_SOURCES}),
    "dahua.dvrip.reply_b001": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.http_body.video_wrap_usertype": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.http_body.webversion_username": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.http_endpoint.magicbox_auth": frozenset({FEW_SOURCES}),
    "dahua.http_favicon.mmh3_1653394551": frozenset({FEW_SOURCES}),
    "dahua.http_realm.login_to_hash": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.model.hac": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.model.prefixed_asi": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.nmap_product.camera": frozenset({FEW_SOURCES}),
    "dahua.onvif_manufacturer.general": frozenset({NOT_A_SOURCE}),
    "dahua.rpc2.realm_hash": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.rpc2.realm_serial": frozenset({FEW_SOURCES}),
    "dahua.rtsp_realm.login_to_hash": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "dahua.rtsp_realm.login_to_serial": frozenset({FEW_SOURCES}),
    "dahua.snmp.enterprise_37496": frozenset({FEW_SOURCES}),
    "dahua.tls_issuer.product_root_ca": frozenset({FEW_SOURCES}),
    "dahua.tls_subject.org_dahua": frozenset({FEW_SOURCES}),
    "dahua.wsd_name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "ezviz.dns_name.device_platform": frozenset({FEW_SOURCES}),
    "geovision.model.gv": frozenset({NOT_A_SOURCE}),
    "hanwha.model.wisenet": frozenset({NOT_A_SOURCE}),
    "hikmicro.onvif_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hikmicro.record_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hikvision.banner.factory_ip_login": frozenset({FEW_SOURCES}),
    "hikvision.dns_name.hik_connect_device": frozenset({FEW_SOURCES}),
    "hikvision.hik_sdk.null_probe_reply": frozenset({FEW_SOURCES}),
    "hikvision.http_body.digital_technology": frozenset({FEW_SOURCES}),
    "hikvision.http_endpoint.isapi_deviceinfo": frozenset({FEW_SOURCES}),
    "hikvision.http_endpoint.isapi_usercheck": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hikvision.http_endpoint.psia_usercheck": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hikvision.http_endpoint.sessionlogin_capabilities": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hikvision.http_realm.basic_hikvision": frozenset({FEW_SOURCES}),
    "hikvision.http_realm.model_realm": frozenset({FEW_SOURCES}),
    "hikvision.isapi.ns_hikvision_ver10": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hikvision.isapi.ns_hikvision_ver20": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hikvision.isapi.ns_std_cgi": frozenset({FEW_SOURCES}),
    "hikvision.model.ds_2t_thermal": frozenset({FEW_SOURCES}),
    "hikvision.model.ds_6_encoder": frozenset({FEW_SOURCES}),
    # Recounted 2026-12-06: "CVE-2023-28808 ..., S74" is one source (S74 is the CVE list).
    "hikvision.model.ds_a_storage": frozenset({FEW_SOURCES}),
    "hikvision.model.ds_kb_doorbell": frozenset({FEW_SOURCES}),
    "hikvision.nmap_product.camera": frozenset({FEW_SOURCES}),
    "hikvision.nmap_product.control_port": frozenset({FEW_SOURCES}),
    "hikvision.nmap_product.recorder": frozenset({FEW_SOURCES}),
    "hikvision.rtsp_realm.hikvision": frozenset({FEW_SOURCES}),
    "hikvision.sadp.probe_match": frozenset({FEW_SOURCES}),
    "hikvision.tls_issuer.org": frozenset({FEW_SOURCES}),
    "hikvision.tls_subject.default_cert": frozenset({FEW_SOURCES}),
    "hikvision.tls_subject.org": frozenset({FEW_SOURCES}),
    "hikvision.user_agent.hikplayer": frozenset({FEW_SOURCES}),
    "hikvision.wsd_name": frozenset({FEW_SOURCES}),
    "hilook.model.ipc": frozenset({FEW_SOURCES}),
    "hilook.onvif_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hilook.record_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hiwatch.model.ds_i": frozenset({NOT_A_SOURCE, FEW_SOURCES, NO_NEGATIVE}),
    "hiwatch.onvif_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "hiwatch.record_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "huawei.banner_lines.access_products": frozenset({FEW_SOURCES}),
    "huawei.dhcp_hostname.emui_device_name": frozenset({NOT_A_SOURCE}),
    "huawei.dhcp_vendor_class.emui_board_huawei_made": frozenset({NOT_A_SOURCE}),
    "huawei.http_realm.echolife": frozenset({FEW_SOURCES}),
    "huawei.nmap_product.any": frozenset({FEW_SOURCES}),
    "huawei.snmp.enterprise_2011": frozenset({FEW_SOURCES}),
    "huawei.snmp.versatile_routing_platform": frozenset({FEW_SOURCES}),
    "huawei.snmp.vrp": frozenset({FEW_SOURCES}),
    "hytera_broadband.snmp.enterprise_46055": frozenset({FEW_SOURCES}),
    "imou.model.ipc": frozenset({NOT_A_SOURCE, FEW_SOURCES, NO_NEGATIVE}),
    "imou.onvif_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "imou.record_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "intelbras.model.vip": frozenset({NOT_A_SOURCE}),
    "irobot.dhcp_hostname.roomba": frozenset({NOT_A_SOURCE}),
    "lechange.onvif_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "lechange.record_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "lorex.model.n_recorder": frozenset({NOT_A_SOURCE}),
    "lorex.rtsp_realm.login_to_nd": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "milesight.model.camera": frozenset({NOT_A_SOURCE}),
    "milesight.model.nvr": frozenset({NOT_A_SOURCE}),
    "norsat.snmp.enterprise_40560": frozenset({FEW_SOURCES}),
    "norsat_sinclair.snmp.enterprise_53115": frozenset({FEW_SOURCES}),
    "nuuo.http_title.nvr_login": frozenset({NOT_A_SOURCE}),
    "oem.http_title.label_brand": frozenset({FEW_SOURCES}),
    "prama.onvif_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "prama.record_manufacturer.name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "sharp.http_title.machine_identification": frozenset({NOT_A_SOURCE}),
    "sonicwall.http_realm.dell_sonicwall": frozenset({NOT_A_SOURCE}),
    "swann.dns_name.ddns": frozenset({NOT_A_SOURCE}),
    "technicolor.http_realm.speedtouch": frozenset({NOT_A_SOURCE}),
    "tplink.banner.ftp": frozenset({FEW_SOURCES}),
    "tplink.http_realm.td_model": frozenset({FEW_SOURCES}),
    "tplink.http_realm.tplink_product": frozenset({FEW_SOURCES}),
    "tplink.http_server.ipos_model": frozenset({FEW_SOURCES}),
    "tplink.snmp.enterprise_11863": frozenset({FEW_SOURCES}),
    "tplink.upnp_manufacturer": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "ubiquiti.dns_name.trace": frozenset({NOT_A_SOURCE}),
    "ubiquiti.model.uvc": frozenset({NOT_A_SOURCE}),
    "uniview.http_endpoint.lapi_deviceinfo": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "uniview.model.ipc": frozenset({NOT_A_SOURCE}),
    "uniview.model.nvr": frozenset({NOT_A_SOURCE, FEW_SOURCES}),
    "uniview.onvif_manufacturer.name": frozenset({FEW_SOURCES}),
    "uniview.record_manufacturer.name": frozenset({FEW_SOURCES}),
    "uniview.snmp.enterprise_39747": frozenset({FEW_SOURCES}),
    "uniview.wsd_name": frozenset({FEW_SOURCES, NO_NEGATIVE}),
    "vivotek.model.camera": frozenset({NOT_A_SOURCE}),
    "xiaomi.mdns.miio": frozenset({NOT_A_SOURCE}),
    "zte.banner.telnet_zxhn": frozenset({FEW_SOURCES}),
    "zte.banner_lines.welcome_zte_corporation": frozenset({FEW_SOURCES}),
    "zte.banner_lines.zxhn_login": frozenset({FEW_SOURCES}),
    "zte.http_realm.cpe_zte": frozenset({FEW_SOURCES}),
    "zte.http_server.zte_corp": frozenset({FEW_SOURCES}),
    "zte.http_title.zxhn_zxv10": frozenset({FEW_SOURCES}),
    "zte.nmap_product.any": frozenset({FEW_SOURCES}),
    "zte.snmp.enterprise_3902": frozenset({FEW_SOURCES}),
}
