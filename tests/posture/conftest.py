"""A lab of its own for the posture tests (see posture_devices.py for why)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from posture_devices import POSTURE_DEVICES

from provscan.lab.server import Lab, run_lab_in_thread


@pytest.fixture(scope="session")
def posture_lab() -> Iterator[Lab]:
    with run_lab_in_thread(POSTURE_DEVICES) as running:
        yield running
