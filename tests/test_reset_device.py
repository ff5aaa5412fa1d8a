"""A device that resets every connection is counted the same way on every run (issue 9).

Whether the reset reaches the scanner before or after its connect resumes is a race on
loopback; both mean "a listener accepted, then reset", so the port is open and every probe's
attempt gets the same status whichever way the race goes.
"""

from __future__ import annotations

from helpers import SESSION_DEVICES, scan_addresses

from provscan.lab.server import Lab

RESET_DEVICE = next(d for d in SESSION_DEVICES if d.id == "hostile-reset")
RESET_PORTS = sorted(s.port for s in RESET_DEVICE.services)


def test_the_reset_device_is_counted_the_same_way_every_run(lab: Lab) -> None:
    outcomes = set()
    for _ in range(12):
        result = scan_addresses([RESET_DEVICE.address], ports=RESET_PORTS)
        assert len(result.devices) == 1
        device = result.devices[0]
        outcomes.add(
            (
                tuple(device.open_ports),
                tuple(sorted((a.probe, a.port, a.status.value) for a in device.attempts)),
                device.manufacturer,
            )
        )
    assert len(outcomes) == 1, outcomes
    (open_ports, _attempts, maker) = outcomes.pop()
    assert list(open_ports) == RESET_PORTS
    assert maker is None
