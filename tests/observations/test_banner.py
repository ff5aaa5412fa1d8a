"""Banners: what a service says first, the same observation from the probe and a capture."""

from __future__ import annotations

from observed import SERVER, Converse, RunProbe, keys

from provscan.observations import banner as observe
from provscan.probes.banner import BannerProbe

PORT = 23
BANNER = b"\x1b[2J\x07DVR  login:\r\nmore\r\n"


def test_the_first_line_is_kept_printable() -> None:
    found = observe.banner_observations(PORT, BANNER, "how")
    assert [(o.field, o.value, o.detail) for o in found] == [
        ("banner.raw", BANNER.decode("latin-1"), "how"),
        ("banner.text", "[2J DVR login:", "how"),
        ("banner.lines", "[2J DVR login: | more", "how"),
    ]
    # a reply with nothing printable is kept only as received (for nmap's match lines)
    assert [(o.field, o.value) for o in observe.banner_observations(PORT, b"\x00\r\n", "how")] == [
        ("banner.raw", "\x00\r\n")
    ]
    assert observe.banner_observations(PORT, b"", "how") == []


def test_the_probe_and_a_capture_read_a_banner_alike(
    run_probe: RunProbe, converse: Converse
) -> None:
    active = run_probe(BannerProbe(), PORT, lambda _: BANNER)
    passive = converse(PORT, b"", BANNER)
    assert keys(active) == keys(passive[SERVER])
    # only how much was seen is the input's own
    assert (active[0].detail, passive[SERVER][0].detail) == (
        f"{len(BANNER)} bytes read",
        f"{len(BANNER)} bytes seen",
    )


def test_telnet_negotiation_is_removed_and_empty_lines_skipped() -> None:
    # IAC WILL ECHO, IAC DO NAWS, IAC SB TTYPE SEND IAC SE, then the greeting.
    data = (
        b"\xff\xfb\x01\xff\xfd\x1f\xff\xfa\x18\x01\xff\xf0\r\n"
        b"Welcome Visiting Example Gateway\r\n\r\nLogin:"
    )
    found = observe.banner_observations(PORT, data, "how")
    assert [(o.field, o.value) for o in found] == [
        ("banner.raw", data.decode("latin-1")),
        ("banner.text", "Welcome Visiting Example Gateway"),
        ("banner.lines", "Welcome Visiting Example Gateway | Login:"),
    ]
    assert observe.strip_telnet(b"a\xff\xffb\xff") == b"a\xffb"
    negotiation = observe.banner_observations(PORT, b"\xff\xfb\x01\xff\xfb\x03", "how")
    assert [o.field for o in negotiation] == ["banner.raw"]


def test_an_ssh_identification_is_one_line() -> None:
    found = observe.banner_observations(22, b"SSH-2.0-Example_1.0\r\n", "how")
    assert [(o.field, o.value) for o in found] == [
        ("banner.raw", "SSH-2.0-Example_1.0\r\n"),
        ("banner.text", "SSH-2.0-Example_1.0"),
    ]
