"""Writing reports: atomic replacement of regular files, and never a rename over a device or
FIFO (``-o /dev/null`` once turned the system's null device into a plain file)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from provscan.report.files import PRIVATE_FILE_MODE, write_atomically


def test_a_regular_file_is_replaced_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.json"
    write_atomically(fresh, b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == PRIVATE_FILE_MODE


def _written_through(fifo: Path, path: Path, data: bytes) -> list[bytes]:
    """Write ``data`` to ``path`` while a thread reads ``fifo``; what the reader got."""
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomically(path, data)
    reader.join(timeout=10)
    return received


def test_a_fifo_is_written_to_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _written_through(fifo, fifo, b"through the pipe") == [b"through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO: no rename over it
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temporary left behind


def test_a_symlink_to_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "out"
    link.symlink_to(fifo)
    assert _written_through(fifo, link, b"via link") == [b"via link"]
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(fifo).st_mode)
