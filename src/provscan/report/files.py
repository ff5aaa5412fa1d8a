"""Writing the user's files safely: never over an input, atomically, private by default.

Every command that writes a file goes through :func:`check_output` (before any work, so a
mistake costs nothing) and :func:`write_atomically` (so a reader never sees half a report).
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from provscan.errors import ProvscanError

#: The ``--output`` name that means standard output.
STDOUT_NAME = "-"

#: Mode of a report or database file that did not exist before: reports and scan databases
#: describe an organisation's weak devices, so they are readable by their owner only.
PRIVATE_FILE_MODE = 0o600


class OutputError(ProvscanError):
    """The report could not be written."""


class OutputIsInputError(OutputError):
    """The output names one of the command's inputs (exit 2: a bad argument)."""


def same_file(first: Path, second: Path) -> bool:
    """True when both paths name one file: the same path, a symlink to it, or a hard link."""
    try:
        if first.expanduser().resolve() == second.expanduser().resolve():
            return True
        return first.exists() and second.exists() and first.samefile(second)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False


def check_output(output: Path | None, inputs: Iterable[Path | str | None]) -> None:
    """Refuse an ``output`` that is one of ``inputs`` (same path, symlink or hard link).

    ``inputs`` may hold ``None`` and ``-`` (standard input), which are skipped.
    """
    if output is None or str(output) == "-":
        return
    for item in inputs:
        if item is None or str(item) in ("", "-"):
            continue
        if same_file(output, Path(item)):
            raise OutputIsInputError(
                f"--output {output} is also an input ({item}); inputs are never overwritten"
            )


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` with ``data`` (bytes, or pieces written as they come) in one rename.

    An existing file keeps its permissions; a new one is created private (0600). A symlink
    at ``path`` is written through (its target is replaced), never turned into a file. A
    device or FIFO (``-o /dev/null``, ``-o /dev/stdout``) is written to, never replaced.
    """
    with open_atomically(path) as handle:
        _write_pieces(handle, data)


@contextmanager
def open_atomically(path: Path) -> Iterator[BinaryIO]:
    """:func:`write_atomically` for a writer that has its pieces one at a time: a handle to
    write to, and ``path`` replaced in one rename when the block ends without an error.

    An ``OSError`` in the block (a write that failed) becomes an :class:`OutputError`; after
    any error no half file is left behind.
    """
    if str(path) == STDOUT_NAME:
        # `-o -`: standard output, as every Unix tool reads it (it wrote a file named "-").
        stdout = sys.stdout.buffer
        try:
            yield stdout
            stdout.flush()
        except OSError as exc:
            raise OutputError(f"cannot write standard output: {exc.strerror or exc}") from exc
        return
    if is_special(path):
        # /dev/null, /dev/stdout, a FIFO: written to, never replaced by a rename (renaming over
        # /dev/null would turn the system's null device into a plain file).
        try:
            with open(path, "wb") as handle:
                yield handle
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return
    target = _through_symlink(path)
    try:
        descriptor, temporary_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _target_mode(target))
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:  # the pieces failed to render: no half file is left behind
        temporary.unlink(missing_ok=True)
        raise


def _write_pieces(handle: BinaryIO, data: bytes | Iterable[bytes]) -> None:
    if isinstance(data, bytes):
        handle.write(data)
        return
    for piece in data:
        handle.write(piece)


def is_special(path: Path) -> bool:
    """Whether ``path`` (followed through symlinks) exists and is neither a regular file nor
    a directory: a device, a FIFO or a socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _through_symlink(path: Path) -> Path:
    try:
        return path.resolve() if path.is_symlink() else path
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"cannot write {path}: {exc}") from exc


def _target_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return PRIVATE_FILE_MODE


#: Cell starts a spreadsheet runs as a formula (CSV injection, OWASP): such cells get a
#: leading ``'`` in every CSV provscan writes.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def guard_formula(value: str) -> str:
    """``value`` as a spreadsheet cell that is never run as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
