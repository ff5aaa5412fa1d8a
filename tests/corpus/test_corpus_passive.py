"""Identification accuracy on what real devices say unasked (tests/corpus/passive*.yaml).

Every passive entry - a DHCP request, mDNS announcements, SSDP messages, DNS queries, Tuya
broadcasts, the MAC's OUI, as its public source shows them - becomes real packets in one
capture (``passive_capture.py``: one host per entry, its own MAC and documentation address),
which ``run_passive`` analyses like ``provscan pcap``. Nothing is sent on any network. The
scores are those of ``test_corpus_accuracy.py`` (``corpus_score``): issue 11's thresholds as
``xfail(strict=True)`` with the measured numbers while unmet, and floors at today's numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from corpus_schema import PassiveEntry, load_passive_corpus, load_project_corpus
from corpus_score import Case, Tally, device_case, format_errors, tally
from passive_capture import passive_address, write_capture

from provscan.knowledge.loader import load_knowledge
from provscan.pipeline import run_passive

RECALL_MIN = 0.95
PRECISION_MIN = 0.98
MAKER_ACCURACY_MIN = 0.90

#: The held-out corpus's sources (../shared/corpus/pcaps/SOURCES.md and README.md): no
#: passive entry may come from them.
HELD_OUT_REPOSITORIES = frozenset(
    {
        "andypitcher/iot_sentinel",
        "arkime/arkime",
        "zeek/zeek",
        "oisf/suricata-verify",
        "ntop/ndpi",
        "upd-csg-2024/iot-home-security",
        "nkuhack4fgroup/lifecycle-based-traffic-dataset",
        "tj-oconnor/iot-dataset",
        "uhctf/uhctf2022",
    }
)

# Measured on the passive corpus (51 entries, 6 restricted, 43 makers) on 2026-12-04; each mark
# goes when provscan meets its threshold (strict: an unexpected pass fails the run).
XFAIL_RECALL = pytest.mark.xfail(
    strict=True,
    reason="measured restricted recall 3/6 = 0.50 (2026-12-04, 51 entries): a Huawei phone's "
    "'HUAWEI:android:' vendor class matches a rule that is not maker-specific (review only), "
    "and a ZTE phone and an Amcrest (Dahua OEM) camera send only a DHCP parameter list",
)
XFAIL_MAKER = pytest.mark.xfail(
    strict=True,
    reason="measured maker accuracy 29/51 = 0.57 (2026-12-04, 16/51 before DHCP vendor "
    "classes were read for self-named makers, 28/51 before Vaddio named itself): generic "
    "vendor classes and parameter lists, SSDP SERVER headers and mDNS service types that name "
    "no maker; locally administered MACs give no OUI",
)

#: Regression floors: what is measured today (2026-12-04), rounded down; families whose
#: measured value is 0 have no floor. Precision is 1.0 (3/3).
RECALL_FLOOR = {"hikvision": 1.0, "all": 0.5}
MAKER_ACCURACY_FLOOR = {"hikvision": 1.0, "other": 0.57, "all": 0.56}
#: Breadth the passive corpus must keep (issue 11: 40+ devices, 20+ makers).
MIN_ENTRIES = 40
MIN_MAKERS = 20


@pytest.fixture(scope="module")
def corpus() -> list[PassiveEntry]:
    return load_passive_corpus()


@pytest.fixture(scope="module")
def cases(
    corpus: list[PassiveEntry], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Case]]:
    """One capture of every passive entry, analysed once; one Case per entry."""
    capture = tmp_path_factory.mktemp("passive-corpus") / "corpus.pcap"
    placed = write_capture(corpus, capture)
    result = run_passive([str(capture)])
    by_mac = {device.mac: device for device in result.devices if device.mac}
    by_ip = {device.ip: device for device in result.devices}
    found: list[Case] = []
    for entry in corpus:
        address, mac = placed[entry.id]
        device = by_mac.get(mac) or by_ip.get(address)
        found.append(device_case(entry.id, entry.expect, device, "no device record in the capture"))
    yield found


@pytest.fixture(scope="module")
def overall(cases: list[Case]) -> Tally:
    return tally(cases)["all"]


def _report(cases: list[Case]) -> str:
    return "\n".join(format_errors(cases, evidence_lines=4, width=100))


# --- the corpus itself ---------------------------------------------------------------------


def test_passive_corpus_breadth(corpus: list[PassiveEntry]) -> None:
    makers = {entry.expect.stated_maker() for entry in corpus}
    assert len(corpus) >= MIN_ENTRIES, len(corpus)
    assert len(makers) >= MIN_MAKERS, sorted(str(m) for m in makers)
    families = {entry.expect.true_family() for entry in corpus}
    assert {"hikvision", "dahua", "huawei", "zte", "other"} <= families, families
    restricted = sum(entry.expect.restricted for entry in corpus)
    assert len(corpus) - restricted >= restricted, "at least as many look-alikes as positives"


def test_passive_ids_are_not_active_ids(corpus: list[PassiveEntry]) -> None:
    active = {entry.id for entry in load_project_corpus()}
    assert not active & {entry.id for entry in corpus}


def test_passive_sources_are_not_the_held_out_ones(corpus: list[PassiveEntry]) -> None:
    used = {(entry.id, source.repository.lower()) for entry in corpus for source in entry.sources}
    assert not {pair for pair in used if pair[1] in HELD_OUT_REPOSITORIES}


def _rule_values() -> set[str]:
    """Every example value and negative of every fingerprint rule, normalised."""
    found: set[str] = set()
    for loaded in load_knowledge().fingerprints:
        for rule in loaded.spec.rules:
            found |= {_normal(example.value) for example in rule.examples}
            found |= {_normal(value) for value in rule.negatives}
    return found


def _normal(value: str) -> str:
    return " ".join(value.split()).lower().rstrip(".")


def test_no_entry_copies_a_rule_example(corpus: list[PassiveEntry]) -> None:
    """Free-text values (host names, vendor classes, instance names, TXT items, SERVER
    headers) are never a rule's example. Service types, NT/ST and the cloud names a device
    queries are a closed vocabulary every device of a kind shares: not compared."""
    rules = _rule_values()
    copied = [
        (entry.id, value)
        for entry in corpus
        for kind, values in entry.passive.values().items()
        if kind != "dns"
        for value in values
        if _normal(value) in rules
    ]
    assert not copied, copied


def test_every_entry_is_one_host_of_the_capture(tmp_path: Path) -> None:
    corpus = load_passive_corpus()
    placed = write_capture(corpus, tmp_path / "c.pcap")
    assert len({address for address, _ in placed.values()}) == len(corpus)
    assert len({mac for _, mac in placed.values()}) == len(corpus)
    assert placed[corpus[0].id][0] == passive_address(0)
    result = run_passive([str(tmp_path / "c.pcap")], posture=False)
    # the DHCP request from 0.0.0.0 joins the host by its MAC: one device per entry
    assert {device.ip for device in result.devices} == {a for a, _ in placed.values()}


def test_schema_rejects_an_entry_that_says_nothing() -> None:
    entry = yaml.safe_load(
        """
        id: x
        expect: {manufacturer: Example, restricted: false}
        sources: [{kind: issue-thread, repository: a/b, url: 'https://example.invalid/1',
                   description: an example device}]
        passive: {}
        """
    )
    with pytest.raises(ValueError, match="needs a MAC"):
        PassiveEntry.model_validate(entry)
    entry["passive"]["ssdp"] = [{"kind": "notify", "st": "upnp:rootdevice"}]
    with pytest.raises(ValueError, match="NOTIFY has an NT"):
        PassiveEntry.model_validate(entry)


# --- the scores ----------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(RECALL_FLOOR))
def test_passive_recall_does_not_regress(cases: list[Case], family: str) -> None:
    found = tally(cases)[family]
    assert found.recall is not None
    assert found.recall >= RECALL_FLOOR[family], _report(cases)


@pytest.mark.parametrize("family", sorted(MAKER_ACCURACY_FLOOR))
def test_passive_maker_accuracy_does_not_regress(cases: list[Case], family: str) -> None:
    found = tally(cases)[family]
    assert found.maker_accuracy is not None
    assert found.maker_accuracy >= MAKER_ACCURACY_FLOOR[family], _report(cases)


def test_passive_restricted_precision(cases: list[Case], overall: Tally) -> None:
    assert overall.precision is not None
    assert overall.precision >= PRECISION_MIN, _report(cases)


@XFAIL_RECALL
def test_passive_restricted_recall(cases: list[Case], overall: Tally) -> None:
    assert overall.recall is not None
    assert overall.recall >= RECALL_MIN, _report(cases)


@XFAIL_MAKER
def test_passive_maker_accuracy(cases: list[Case], overall: Tally) -> None:
    assert overall.maker_accuracy is not None
    assert overall.maker_accuracy >= MAKER_ACCURACY_MIN, _report(cases)


def test_passive_no_unrestricted_device_flagged_restricted(cases: list[Case]) -> None:
    flagged = [case for case in cases if case.false_flag]
    assert not flagged, _report(flagged)


def test_the_capture_carries_every_kind_of_message(tmp_path: Path) -> None:
    """The builder's packets are read back as the observations they stand for (made-up
    values: this checks the capture, not identification)."""
    entry = PassiveEntry.model_validate(
        {
            "id": "builder-check",
            "expect": {"manufacturer": "Example", "restricted": False},
            "sources": [
                {
                    "kind": "manual",
                    "repository": "example/example",
                    "path": "README.md",
                    "description": "made-up values for the builder check",
                }
            ],
            "passive": {
                "dhcp": {
                    "hostname": "probe-host",
                    "vendor_class": "probe-vc",
                    "parameter_list": [1, 3, 6],
                },
                "mdns": [
                    {
                        "service": "_probe._tcp.local.",
                        "instance": "Probe One",
                        "host": "probe-one.local.",
                        "port": 80,
                        "txt": [["model", "P1"]],
                    },
                    {"service": "_probe-list._udp.local."},
                ],
                "ssdp": [
                    {
                        "kind": "notify",
                        "server": "ProbeOS/1 UPnP/1.0 probe/1",
                        "nt": "upnp:rootdevice",
                        "location": ":80/d.xml",
                    },
                    {"kind": "reply", "st": "urn:probe:device:1"},
                ],
                "dns_queries": ["probe.example.com"],
                "tuya": [
                    {
                        "port": 6666,
                        "payload": {"gwId": "probe", "productKey": "k", "version": "3.1"},
                    },
                    {
                        "port": 6667,
                        "payload": {"gwId": "probe", "productKey": "k", "version": "3.3"},
                    },
                ],
            },
        }
    )
    write_capture([entry], tmp_path / "one.pcap")
    devices = run_passive([str(tmp_path / "one.pcap")], posture=False).devices
    assert len(devices) == 1 and devices[0].ip == passive_address(0)
    seen = {(item.observed_field, item.observed) for item in devices[0].evidence}
    for expected in (
        ("dhcp.hostname", "probe-host"),
        ("dhcp.vendor_class", "probe-vc"),
        ("dhcp.parameter_list", "1,3,6"),
        ("mdns.service", "_probe-list._udp.local."),
        ("mdns.instance", "Probe One._probe._tcp.local."),
        ("ssdp.server", "ProbeOS/1 UPnP/1.0 probe/1"),
        ("dns.query", "probe.example.com"),
        ("discovery.protocol", "ssdp search reply"),
        ("discovery.protocol", "tuya broadcast"),
    ):
        assert expected in seen, (expected, sorted(seen))
    # the clear (6666) and the encrypted (6667) broadcast are both well-formed Tuya frames
    tuya = {value for name, value in seen if name == "tuya.broadcast"}
    assert tuya == {
        "Tuya LP 55aa frame, command 0x13 (clear)",
        "Tuya LP 55aa frame, command 0x13 (encrypted)",
    }
