"""Record the nmap XML fixtures from the built-in lab (run by hand, never by the suite).

    PROVSCAN_ALLOWED_TARGETS=127.0.0.0/8,::1/128 .venv/bin/python tests/importers/record_nmap.py
    PROVSCAN_ALLOWED_TARGETS=127.0.0.0/8,::1/128 .venv/bin/python tests/importers/record_nmap.py --scripts

The second adds nmap's scripts (http-title, http-server-header, rtsp-methods, ssl-cert,
banner) on a few devices and writes ``fixtures/lab-nmap-scripts.xml``.

Starts every non-hostile lab device on 127.(90 + pid % 10).x.y (loopback only), runs
``nmap -sV -oX`` against exactly those addresses and ports, and writes
``fixtures/lab-nmap.xml``. Addresses in the XML are the ones recorded; the tests compare by
the last two octets with the lab's own addresses.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

from provscan.lab.server import load_devices, run_lab_in_thread

OCTET = 90 + os.getpid() % 10
FIXTURE = Path(__file__).parent / "fixtures" / "lab-nmap.xml"
SCRIPTS_FIXTURE = Path(__file__).parent / "fixtures" / "lab-nmap-scripts.xml"
SCRIPTS = "http-title,http-server-header,rtsp-methods,ssl-cert,banner"
#: The devices of the scripts recording: a camera, a recorder with HTTPS, telnet routers.
SCRIPT_DEVICES = ("hik-ipc-g2", "hik-nvr", "dahua-nvr", "huawei-hg-ont", "zte-zxhn-gateway")


def main() -> int:
    scripts = "--scripts" in sys.argv[1:]
    fixture = SCRIPTS_FIXTURE if scripts else FIXTURE
    devices = []
    for device in load_devices():
        if device.expect.hostile or not device.services:
            continue
        if scripts and device.id not in SCRIPT_DEVICES:
            continue
        parts = device.address.split(".")
        parts[1] = str(OCTET)
        devices.append(device.model_copy(update={"address": ".".join(parts)}))
    addresses = sorted({d.address for d in devices}, key=ipaddress.ip_address)
    ports = sorted({s.port for d in devices for s in d.services})
    for address in addresses:  # never anything but loopback
        if not ipaddress.ip_address(address).is_loopback:
            raise SystemExit(f"refusing non-loopback address {address}")
    options = ["--script", SCRIPTS] if scripts else []
    command = [
        "/usr/bin/nmap",
        "-sV",
        *options,
        "-Pn",
        "-n",
        "--max-retries",
        "1",
        "-p",
        ",".join(map(str, ports)),
        "-oX",
        str(fixture),
        *addresses,
    ]
    print(" ".join(command[: -len(addresses)]), f"<{len(addresses)} loopback addresses>")
    with run_lab_in_thread(devices):
        done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
