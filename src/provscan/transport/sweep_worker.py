"""One sweep worker process (``python -m provscan.transport.sweep_worker``), started by
:func:`provscan.transport.sweep_workers.sweep_connect_parallel`.

Standard input: a JSON line with the ports and limits, then one JSON list of addresses per
batch. Standard output: one JSON line ``[address, [open ports], unanswered, failed]`` per
decided host, and a line ``.`` after each batch. Every address is checked against the scope
interlock (inherited through the environment) before a packet is sent, as in one process.
Imports nothing but the sweep loop, so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import json
import sys

from provscan.transport.sweep import SweepLimits, sweep_connect


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    header = stdin.readline()
    if not header:
        return 0
    config = json.loads(header)
    ports = [int(port) for port in config["ports"]]
    limits = SweepLimits(**config["limits"])
    for line in stdin:
        addresses = json.loads(line)
        for host in sweep_connect(((str(a), None) for a in addresses), ports, limits):
            stdout.write(
                json.dumps(
                    [host.address, list(host.open_ports), host.unanswered, host.failed]
                ).encode()
                + b"\n"
            )
        stdout.write(b".\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
