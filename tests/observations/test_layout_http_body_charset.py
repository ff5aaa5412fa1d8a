"""The HTTP body is decoded per its byte-order mark and charset (the ``http.body`` observation).

A UTF-8 page with a BOM used to be decoded as latin-1 and shown by ``explain`` as
``'ï»¿<!DOCTYPE html…'``. Checked on the decoder and on a real scan of the lab's Lorex
NVR, whose pages carry the BOM.
"""

from __future__ import annotations

import codecs

import pytest
from helpers import scan_addresses

from provscan.fingerprints.matcher import Matcher
from provscan.knowledge.loader import load_knowledge
from provscan.lab.server import Lab
from provscan.observations.http import BODY_KEEP, decode_body, response_observations
from provscan.wire import http1

PAGE = "<!DOCTYPE html><html><head><title>Café</title></head><body>© 2024</body></html>"


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (codecs.BOM_UTF8 + PAGE.encode("utf-8"), "text/html"),
        # A BOM wins over a charset that contradicts it (as browsers read it).
        (codecs.BOM_UTF8 + PAGE.encode("utf-8"), "text/html; charset=ISO-8859-1"),
        (codecs.BOM_UTF16_LE + PAGE.encode("utf-16-le"), None),
        (codecs.BOM_UTF16_BE + PAGE.encode("utf-16-be"), None),
        (PAGE.encode("utf-8"), None),
        (PAGE.encode("cp1252"), 'text/html; charset="windows-1252"'),
        (PAGE.encode("latin-1"), "text/html;charset=iso-8859-1"),
    ],
)
def test_the_body_is_decoded_per_its_mark_and_charset(raw: bytes, content_type: str | None) -> None:
    assert decode_body(raw, content_type) == PAGE


def test_bytes_that_are_not_utf8_and_name_no_charset_are_read_as_latin1() -> None:
    assert decode_body(b"caf\xe9 \xa9", None) == "café ©"
    # An unknown charset, or a codec that is not a text encoding, is ignored.
    assert decode_body(b"caf\xe9", "text/html; charset=no-such-thing") == "café"
    assert decode_body(b"abc=", "text/html; charset=base64") == "abc="


@pytest.mark.parametrize("charset", ["punycode", "idna", "utf-7", "unicode_escape", "rot13"])
def test_a_codec_no_web_page_uses_is_ignored(charset: str) -> None:
    """Those fail on hostile bytes, or are slow (punycode: 0.3 s for 64 KiB of "a")."""
    hostile = (b"-\xff\\u" * 20000)[:BODY_KEEP]
    assert decode_body(hostile, f"text/html; charset={charset}") == hostile.decode("latin-1")
    assert decode_body(b"caf\xc3\xa9+AGE-", f"text/html; charset={charset}") == "café+AGE-"


def test_a_character_cut_at_the_kept_length_is_left_out() -> None:
    raw = (b"a" * (BODY_KEEP - 2) + "€".encode())[:BODY_KEEP]
    assert decode_body(raw) == "a" * (BODY_KEEP - 2)


def test_the_observation_has_no_mark_and_anchored_rules_match() -> None:
    body = codecs.BOM_UTF8 + (
        b"<!DOCTYPE html><html><head><title>WEB SERVICE</title></head>"
        b'<body><div class="ui-dialog-content"></div></body></html>'
    )
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    response = http1.parse_response(head.encode("ascii") + body)
    (observed,) = [o for o in response_observations(response, 80, "/") if o.field == "http.body"]
    assert observed.value.startswith("<!DOCTYPE html>")
    # The Dahua rule is anchored at the start of the body (http_body.yaml).
    claims = Matcher(load_knowledge()).match(observed)
    assert "dahua.http_body.web_service_dialog" in {claim.rule_id for claim in claims}


def test_the_lab_nvr_page_with_a_bom_is_observed_without_it(lab: Lab) -> None:
    (nvr,) = [d for d in lab.devices if d.id == "lorex-nvr"]
    result = scan_addresses([nvr.address], ports=[80])
    (device,) = result.devices
    bodies = [o.value for a in device.attempts for o in a.observations if o.field == "http.body"]
    assert bodies
    assert all(not body.startswith(("\ufeff", "ï»¿")) for body in bodies)
    assert any(body.startswith("<!DOCTYPE html") for body in bodies)
    assert device.manufacturer == "Dahua"
