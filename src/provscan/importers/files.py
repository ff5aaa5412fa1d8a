"""Bounded reading of the files to import: size checked before reading, text decoded once."""

from __future__ import annotations

from pathlib import Path

from provscan.importers.interface import (
    MAX_FILE_BYTES,
    MAX_LINE_CHARS,
    ImportFileError,
)


def check_size(path: Path) -> int:
    """The file's size, refused (one line) when it is missing, not a file, or too large."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ImportFileError(f"{path}: not a regular file")
    if size > MAX_FILE_BYTES:
        raise ImportFileError(
            f"{path}: {size} bytes is more than the {MAX_FILE_BYTES} an import reads"
        )
    return size


def read_bytes(path: Path) -> bytes:
    """The whole file, at most :data:`MAX_FILE_BYTES`."""
    check_size(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"{path}: more than the {MAX_FILE_BYTES} bytes an import reads")
    return data


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1 (every byte is a character)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def text_lines(path: Path, data: bytes) -> list[str]:
    """The lines of a text file, each at most :data:`MAX_LINE_CHARS` (a longer one is
    refused: no tool writes such lines into a lease file or a MAC table)."""
    if b"\x00" in data[:8192]:
        raise ImportFileError(f"{path}: binary data, not a text file")
    lines = decode_text(path, data).splitlines()
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:
            raise ImportFileError(f"{path}:{number}: line longer than {MAX_LINE_CHARS} characters")
    return lines
