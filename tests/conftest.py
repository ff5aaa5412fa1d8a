from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from helpers import SESSION_DEVICES, scan_addresses

from provscan.lab.server import Lab, run_lab_in_thread
from provscan.model import ScanResult
from provscan.transport.limits import DEFAULT_PORTS

# The scope interlock (provscan/interlock.py): nothing the suite runs, in this process or in
# the provscan subprocesses it starts, may send a packet outside loopback. Tests that build
# their own network namespaces widen it for their own subprocesses only.
os.environ["PROVSCAN_ALLOWED_TARGETS"] = "127.0.0.0/8,::1/128"
# Nothing of the developer's own provscan setup leaks into the suite: an empty config file,
# no installed knowledge pack (tests that need them set their own), and the bundled
# knowledge's age never turns into warnings on stderr that tests do not expect.
_SANDBOX = tempfile.mkdtemp(prefix="provscan-tests-")
_CONFIG = os.path.join(_SANDBOX, "config.toml")
with open(_CONFIG, "w", encoding="utf-8") as _file:
    _file.write("# empty: the defaults\n")
os.environ["PROVSCAN_CONFIG"] = _CONFIG
os.environ["PROVSCAN_KNOWLEDGE_DIR"] = os.path.join(_SANDBOX, "knowledge")
os.environ["PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS"] = "100000"
# The compiled copy of the knowledge (knowledge/cache.py) lives in the sandbox too.
os.environ["PROVSCAN_CACHE_DIR"] = os.path.join(_SANDBOX, "cache")
# So does the default database (XDG_DATA_HOME/provscan/provscan.db): what a command stores
# without --db stays out of the developer's own, and `explain ADDRESS`, which reads the
# default database before probing, never finds a device the developer stored there.
os.environ["XDG_DATA_HOME"] = os.path.join(_SANDBOX, "data")


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(SESSION_DEVICES) as running:
        yield running


@pytest.fixture(scope="session")
def lab_scan(lab: Lab) -> ScanResult:
    """One real scan of every non-hostile lab device over loopback."""
    devices = [d for d in lab.devices if not d.expect.hostile]
    addresses = sorted({d.address for d in devices})
    ports = sorted(set(DEFAULT_PORTS) | {s.port for d in devices for s in d.services})
    return scan_addresses(addresses, ports=ports)
