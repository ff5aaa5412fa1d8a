"""`provscan explain` shows each evidence item's detail: for a vendor path's answer, the
control answer it was claimed beside (decision 0005), so an auditor sees why it held."""

from __future__ import annotations

import json
from dataclasses import asdict

from provscan.attribution.attribute import Attributor
from provscan.commands.explain import build_explanation, render
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Observation, ProbeAttempt

KNOWLEDGE = load_knowledge()
CONTROL = "hikvision-isapi-deviceinfo; control GET /provscan-canary-0f3a9c -> 404"


def test_a_vendor_answer_shows_the_control_it_was_claimed_beside() -> None:
    seen = Observation("http", 80, "http.endpoint", "GET /ISAPI/System/deviceInfo -> 401", CONTROL)
    attempt = ProbeAttempt("http", 80, AttemptStatus.OK, (seen,))
    device = Attributor(KNOWLEDGE).attribute("127.0.0.1", [80], [attempt]).device
    explanation = build_explanation(device, [seen], KNOWLEDGE)
    (line,) = [e for e in explanation.evidence if e.field == "http.endpoint"]
    assert line.detail == CONTROL
    assert json.loads(json.dumps(asdict(explanation)))["evidence"][0]["detail"] == CONTROL
    text = "\n".join(render(explanation, width=100))
    assert f"detail: {CONTROL}" in text
