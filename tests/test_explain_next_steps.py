"""``provscan explain`` on a device that stayed unknown says what to do next and how to
report what no rule explains; a value a maker's rule lists among its negatives is named a
known look-alike, unless another maker's rule reads it as that maker's evidence (a municipal
IT admin's review). Built from judged devices with the bundled knowledge (no I/O); the lab
runs of the same are in tests/web/test_console_municipal_review.py."""

from __future__ import annotations

import json
from dataclasses import asdict

from provscan.commands.explain import ISSUES_URL, build_explanation, render
from provscan.knowledge.loader import load_knowledge
from provscan.model import (
    FORWARDED_NOTE_PREFIX,
    AttemptStatus,
    Device,
    Evidence,
    Observation,
    ProbeAttempt,
)

KNOWLEDGE = load_knowledge()
RULES = {rule.id: rule for loaded in KNOWLEDGE.fingerprints for rule in loaded.spec.rules}
UNKNOWN_NOTE = "maker not identified: restriction status incomplete"


def _unknown_web_device() -> tuple[Device, list[Observation]]:
    title = Observation("http", 8080, "http.title", "Acme Recorder 9000")
    device = Device(
        ip="127.0.0.21",
        open_ports=(23, 8080),
        evidence=(Evidence("http", 8080, "http.title", title.value, None, {}, 0.0),),
        attempts=(ProbeAttempt("http", 8080, AttemptStatus.OK),),
        notes=(UNKNOWN_NOTE,),
    )
    return device, [title]


def test_an_unknown_device_with_a_web_port_gets_its_next_steps() -> None:
    device, observations = _unknown_web_device()
    result = build_explanation(device, observations, KNOWLEDGE)
    assert result.verdict == "unknown"
    steps = " ".join(result.next_steps)
    assert "web interface (http://127.0.0.21:8080/)" in steps
    assert "MAC address table" in steps and "for 127.0.0.21" in steps
    assert "provscan scan 127.0.0.21 --credentials FILE" in steps and "port 8080" in steps
    assert 'provscan lookup "BRAND MODEL"' in steps
    # the title no rule explains is worth reporting, and the step says where and with what
    assert result.unexplained and result.unexplained[0]["value"] == "Acme Recorder 9000"
    assert f"open an issue at {ISSUES_URL}" in steps
    assert "provscan explain 127.0.0.21 -f json" in steps
    # the issue is public and the output names the device: the step says to redact it first
    assert "replace addresses, MAC addresses, serial numbers and host names" in steps
    for width in (60, 80, 120):
        lines = render(result, width)
        assert max(len(line) for line in lines) <= width
        text = " ".join(" ".join(lines).split())
        assert "What to do next" in lines
        assert "how to report them: under What to do next, below" in text
    # what -f json prints
    document = json.loads(json.dumps(asdict(result)))
    assert document["next_steps"] == list(result.next_steps)


def test_an_address_beyond_a_router_gets_no_label_advice() -> None:
    device = Device(
        ip="127.0.0.22",
        notes=(UNKNOWN_NOTE, f"{FORWARDED_NOTE_PREFIX} 00:11:22:33:44:55"),
    )
    (step,) = build_explanation(device, [], KNOWLEDGE).next_steps
    assert "seen only through a router's MAC" in step and "label" not in step


def test_a_known_device_has_no_next_steps_and_the_unexplained_say_how_to_report() -> None:
    title = Observation("http", 80, "http.title", "Acme Recorder 9000")
    axis = Evidence(
        "http", 80, "http.server", "Axis", "axis.http.title", {"manufacturer": "Axis"}, 0.9
    )
    device = Device(
        ip="127.0.0.23",
        open_ports=(80,),
        manufacturer="Axis",
        confidence=0.9,
        evidence=(axis,),
    )
    result = build_explanation(device, [title], KNOWLEDGE)
    assert result.verdict != "unknown" and result.next_steps == ()
    text = " ".join(" ".join(render(result, 80)).split())
    assert "What to do next" not in text
    assert f"to report them: open an issue at {ISSUES_URL}" in text


def test_another_makers_evidence_is_no_lookalike() -> None:
    # Dahua's "WEB SERVICE" title, which Xiongmai's title rule lists among its negatives
    xiongmai = RULES["xiongmai.http_title.netsurveillance"]
    assert "WEB SERVICE" in xiongmai.negatives
    dahua = RULES["dahua.http_title.web_service"]
    seen = Evidence("http", 80, "http.title", "WEB SERVICE", dahua.id, dict(dahua.asserts), 0.6)
    device = Device(ip="127.0.0.24", open_ports=(80,), evidence=(seen,), notes=(UNKNOWN_NOTE,))
    assert build_explanation(device, [], KNOWLEDGE).lookalikes == ()
    # the same text that no rule read is a look-alike of Xiongmai's, said so
    bare = Device(ip="127.0.0.24", open_ports=(80,), notes=(UNKNOWN_NOTE,))
    observed = Observation("http", 80, "http.title", "WEB SERVICE")
    alikes = build_explanation(bare, [observed], KNOWLEDGE).lookalikes
    assert [(a.rule_id, a.maker, a.explained_by) for a in alikes] == [
        (xiongmai.id, "Xiongmai", None)
    ]


def test_a_probe_whose_rule_named_no_maker_is_said_so() -> None:
    rule = RULES["utt.banner.netdvrdvs"]
    assert not rule.specificity.maker_specific and "manufacturer" not in rule.asserts
    seen = Evidence("banner", 23, "banner.text", "NetDVRDVS:", rule.id, dict(rule.asserts), 0.6)
    device = Device(
        ip="127.0.0.25",
        open_ports=(23,),
        evidence=(seen,),
        attempts=(ProbeAttempt("banner", 23, AttemptStatus.OK),),
        notes=(UNKNOWN_NOTE,),
    )
    result = build_explanation(device, [], KNOWLEDGE)
    (probe,) = result.probes
    assert probe.outcome == "no maker" and probe.detail == f"{rule.id}: device type router"
    (alike,) = result.lookalikes
    assert (alike.maker, alike.explained_by) == ("Hikvision", rule.id)
    assert "NetDVRDVS:" in RULES[alike.rule_id].negatives
    text = " ".join(" ".join(render(result, 80)).split())
    assert "a rule matched" not in text.replace("the rule that matched named no maker", "")
    assert f"rule {rule.id} -> device_type router (names no maker, 0.60)" in text
    assert "--credentials cannot help here" in " ".join(result.next_steps)
