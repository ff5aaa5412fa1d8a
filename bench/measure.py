"""Run a peer or provscan as a child process and measure it: wall time and peak RSS of the
process and its children (sampled with psutil). Shared by the benchmarks."""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss: int
    returncode: int
    stdout: str
    stderr: str


def run_measured(command: list[str], timeout: float, interval: float = 0.02) -> Measured:
    """Run ``command`` (killed after ``timeout`` seconds) and measure it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                rss = watched.memory_info().rss + sum(
                    child.memory_info().rss for child in watched.children(recursive=True)
                )
                peak = max(peak, rss)
            except psutil.Error:
                pass
            if time.monotonic() - started > timeout:
                process.kill()
                break
            time.sleep(interval)
        elapsed = time.monotonic() - started
        returncode = process.wait()
        out.seek(0)
        err.seek(0)
        return Measured(
            elapsed,
            peak,
            returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
