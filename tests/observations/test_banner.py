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
        ("banner.text", "[2J DVR login:", "how")
    ]
    assert observe.banner_observations(PORT, b"\x00\r\n", "how") == []


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
