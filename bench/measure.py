"""Run a peer or provscan as a child process and measure it: wall time and peak memory of the
process and its children (sampled with psutil). Shared by the benchmarks.

Two memory figures: the peak of the summed RSS, and the peak of the summed PSS (proportional
set size, Linux). They differ when a child is forked: the pages it shares with its parent
count in both RSS figures, but once in the PSS sum, which is what the tree really holds."""

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
    #: Peak of the summed PSS; 0 where the platform does not report it.
    peak_pss: int
    returncode: int
    stdout: str
    stderr: str


def run_measured(command: list[str], timeout: float, interval: float = 0.02) -> Measured:
    """Run ``command`` (killed after ``timeout`` seconds) and measure it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        watched = psutil.Process(process.pid)
        peak = peak_pss = 0
        while process.poll() is None:
            try:
                tree = [watched, *watched.children(recursive=True)]
                peak = max(peak, sum(member.memory_info().rss for member in tree))
                peak_pss = max(peak_pss, sum(_pss(member) for member in tree))
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
            peak_pss,
            returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def _pss(process: psutil.Process) -> int:
    """The process's proportional set size (0 where psutil does not report one)."""
    return int(getattr(process.memory_full_info(), "pss", 0))


def compile_provscan() -> str:
    """Byte-compile the provscan package being measured, as ``pip install`` does for an
    installed package (an editable install under ``PYTHONDONTWRITEBYTECODE``, as on these
    machines, would otherwise compile ~150 modules from source on every start: ~0.1 s).
    Returns a line for the benchmark's output."""
    import compileall
    from pathlib import Path

    import provscan

    package = Path(provscan.__file__).parent
    compiled = compileall.compile_dir(package, quiet=1)
    state = "byte-compiled" if compiled else "byte-compilation FAILED for some modules of"
    return f"{state} {package} (as an installed package is)"
