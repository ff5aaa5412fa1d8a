"""``provscan pcap FILE...``: identify devices from packet captures, sending nothing."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provscan.commands.common import (
    EXIT_DAMAGED_INPUT,
    EXIT_USAGE,
    AsOption,
    DbOption,
    FailOnRestrictedOption,
    ForceOption,
    FormatOption,
    NmapFallbackOption,
    NoDbOption,
    OutputFormat,
    OutputOption,
    PolicyOption,
    QuietOption,
    SiteOption,
    check_store,
    emit,
    epilog,
    fail,
    fail_for,
    finish,
    guard_output,
    nmap_fallback,
    output_format,
    parse_policy_ids,
    resolve_acting_as,
    say_interrupted,
    stderr,
    warn,
)
from provscan.commands.options_output import VerboseOption, interrupted
from provscan.errors import ProvscanError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from provscan.passive import TimeWindow
    from provscan.store.captures import Capture


#: The width of the capture bar without its file name: spinner, the bar at its narrowest,
#: bytes ("123.4/456.7 MB"), rate ("123.4 MB/s"), packets ("1234567 packets") and the gaps
#: between the columns; the time elapsed (from ``ELAPSED_FROM_COLUMNS``) comes on top.
_BAR_WITHOUT_NAME = 1 + 10 + 14 + 10 + 15 + 5
#: The file name on the bar is cut to what the terminal leaves, but to no fewer characters
#: than the first and no more than the second (the notes after the report name the files).
_NAME_CHARS = (12, 40)
#: The rate is shown once a capture has been read this long (a first figure is noise).
_RATE_AFTER_S = 0.5


class RichCaptureProgress:
    """A progress bar over the bytes of each capture (a spinner for stdin and pipes), on one
    line: the file's name, not its path, cut to fit; only the bar shrinks further."""

    def __init__(self, console: Console) -> None:
        from rich.progress import DownloadColumn

        from provscan.report.events import one_line_progress, whole_column

        self._console = console
        self._progress = one_line_progress(
            console,
            [
                DownloadColumn(table_column=whole_column()),
                "[progress.data.speed]{task.fields[rate]}",
                "{task.fields[packets]}",
            ],
            transient=True,
        )
        self._task: TaskID | None = None
        self._started = 0.0

    def capture_started(self, name: str, total_bytes: int | None) -> None:
        from rich.markup import escape

        from provscan.report.events import ELAPSED_FROM_COLUMNS
        from provscan.report.safe_text import printable
        from provscan.report.wording import plural

        if self._task is None:
            self._progress.start()
        else:
            self._progress.remove_task(self._task)
        width = self._console.width
        room = width - _BAR_WITHOUT_NAME - (8 if width >= ELAPSED_FROM_COLUMNS else 0)
        shown = printable(Path(name).name or name, min(max(room, _NAME_CHARS[0]), _NAME_CHARS[1]))
        self._started = time.monotonic()
        self._task = self._progress.add_task(
            escape(shown), total=total_bytes, packets=plural(0, "packet"), rate=""
        )

    def capture_progress(self, bytes_done: int, packets: int) -> None:
        from rich.filesize import decimal

        from provscan.report.wording import plural

        if self._task is not None:
            reading = time.monotonic() - self._started
            rate = f"{decimal(int(bytes_done / reading))}/s" if reading >= _RATE_AFTER_S else ""
            self._progress.update(
                self._task, completed=bytes_done, packets=plural(packets, "packet"), rate=rate
            )

    def capture_done(self, name: str, packets: int) -> None:
        return None

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None


def register(app: typer.Typer) -> None:
    @app.command(
        "pcap",
        short_help="Identify devices passively from packet captures (nothing sent).",
        epilog=epilog(
            "provscan pcap mirror.pcapng",
            "provscan pcap day1.pcap.gz day2.pcap -f json -o passive.json",
            "provscan pcap mirror.pcapng --as us:federal-contractor",
            "provscan pcap day1.pcap --since 2026-01-05T08:00Z --until 2026-01-05T18:00Z",
            "provscan pcap ring.pcapng --since 2h",
            "tcpdump -i eth1 -w - | provscan pcap - --no-db -f jsonl",
            stores_scan=True,
            partial=True,
            fail_on_restricted=True,
            damaged_input=True,
        ),
    )
    def pcap(
        files: Annotated[
            list[str],
            typer.Argument(
                metavar="FILE",
                help="pcap or pcapng captures, optionally gzip-compressed; - reads stdin.",
            ),
        ],
        policy: PolicyOption = None,
        acting_as: AsOption = None,
        fmt: FormatOption = None,
        output: OutputOption = None,
        force: ForceOption = False,
        db: DbOption = None,
        no_db: NoDbOption = False,
        site: SiteOption = None,
        fail_on_restricted: FailOnRestrictedOption = False,
        quiet: QuietOption = False,
        verbose: VerboseOption = False,
        use_nmap_fallback: NmapFallbackOption = True,
        since: Annotated[
            str | None,
            typer.Option(
                "--since",
                metavar="TIME",
                help="Analyse only packets captured from TIME on: an ISO 8601 date or "
                "date/time (no offset: UTC), or a duration before the captures' last packet "
                "(2h, 30m, 1d; reads the files twice, not stdin).",
            ),
        ] = None,
        until: Annotated[
            str | None,
            typer.Option(
                "--until",
                metavar="TIME",
                help="Analyse only packets captured before TIME (same forms as --since).",
            ),
        ] = None,
        again: Annotated[
            bool,
            typer.Option(
                "--again",
                help="Store a capture file stored before (the same sha256) once more; "
                "without it such a file is refused (exit 2): its devices would count twice.",
            ),
        ] = False,
    ) -> None:
        """Identify devices passively from packet captures (no packet is sent)."""
        run_pcap(
            files,
            policy,
            fmt,
            output,
            db,
            no_db,
            fail_on_restricted,
            quiet,
            verbose,
            site=site,
            acting_as=acting_as,
            force=force,
            use_nmap_fallback=use_nmap_fallback,
            since=since,
            until=until,
            again=again,
        )


def time_window(since: str | None, until: str | None) -> TimeWindow | None:
    """``--since``/``--until`` as a window (None when neither is given); a bad value is a
    one-line usage error (exit 2)."""
    from provscan.passive import TimeWindow, parse_bound

    if since is None and until is None:
        return None
    bounds = []
    for option, text in (("--since", since), ("--until", until)):
        try:
            bounds.append(None if text is None else parse_bound(text))
        except ValueError as exc:
            raise fail(f"{option}: {exc}", EXIT_USAGE) from None
    try:
        return TimeWindow(bounds[0], bounds[1])
    except ProvscanError as exc:
        raise fail_for(exc) from None


def run_pcap(
    files: list[str],
    policy: str | None,
    fmt: OutputFormat | None,
    output: Path | None,
    db: str | None,
    no_db: bool,
    fail_on_restricted: bool,
    quiet: bool,
    verbose: bool = False,
    *,
    site: str | None = None,
    acting_as: str | None = None,
    force: bool = False,
    use_nmap_fallback: bool = True,
    since: str | None = None,
    until: str | None = None,
    again: bool = False,
) -> None:
    from provscan.passive import STDIN_NAME, workers_for
    from provscan.pipeline import first_interrupt_calls, run_passive

    if files.count(STDIN_NAME) > 1:
        raise fail("standard input (-) can be read only once", EXIT_USAGE)
    window = time_window(since, until)
    progress = None
    if not quiet and sys.stderr.isatty():
        progress = RichCaptureProgress(stderr)
    # The first Ctrl-C stops the analysis between packets (a live capture piped in ends
    # with it): what was read is printed and stored, marked incomplete, and the exit is 130.
    stop = threading.Event()
    from provscan.commands.knowledge import warn_if_stale

    try:
        chosen = output_format(fmt, output)
        guard_output(output, files, db=db, force=force)
        check_store(db, no_db)
        try:
            captures = [] if no_db else capture_files(files, db, again=again)
        except KeyboardInterrupt:
            raise say_interrupted(
                " while the captures were recognised by their sha256, before any packet was "
                "read; nothing was analysed or stored"
            ) from None
        warn_if_stale()
        policy_ids = parse_policy_ids(policy)
        org_types = resolve_acting_as(acting_as, policy_ids)
        try:
            with first_interrupt_calls(stop.set):
                result = run_passive(
                    files,
                    policy_ids=policy_ids,
                    observer=progress,
                    stop=stop.is_set,
                    acting_as=org_types,
                    workers=workers_for(files),
                    service_probes=nmap_fallback(use_nmap_fallback),
                    window=window,
                )
        finally:
            if progress is not None:
                progress.close()
        read = len(result.info.targets)
        if stop.is_set():
            # Only captures read to their end are kept as stored: one cut short by the stop
            # may be given again to finish it, without --again.
            whole = set(files[: max(read - 1, 0)])
            captures = [capture for capture in captures if capture.name in whole]
        for note in result.info.notes:
            if " is truncated" in note or " is corrupt" in note:
                warn(note)
        emit(
            result,
            chosen,
            output,
            db,
            no_db,
            verbose=verbose,
            site=site,
            captures=captures,
            again=again,
        )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if stop.is_set():
        raise _interrupted(result.info.notes, read, len(files))
    finish(result, fail_on_restricted)
    if not result.info.complete:
        # Only a capture cut short or damaged leaves a passive result incomplete without a
        # stop (tshark exits 2 there too): a script must not take it for the whole capture.
        raise typer.Exit(EXIT_DAMAGED_INPUT)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read with ``pread``: the descriptor's offset stays at 0,
    so what watches a reader's progress by its file position (``/proc/PID/fdinfo``, the
    ``progress`` tool) sees the analysis read the capture, not this first pass."""
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY)
    try:
        offset = 0
        while block := os.pread(descriptor, 1 << 20, offset):
            digest.update(block)
            offset += len(block)
    finally:
        os.close(descriptor)
    return digest.hexdigest()


def capture_files(files: Sequence[str], db: str | None, *, again: bool) -> list[Capture]:
    """The regular files among ``files`` with their sha256, to be kept with the scan; a
    file already stored (in any scan, at any site) is refused here, before it is read,
    with one line naming that scan (exit 2), unless ``again``. Standard input, pipes and
    files that cannot be read (the analysis says why) are not recognised, and stored."""
    from provscan.commands.common import _db_file, open_db
    from provscan.passive import STDIN_NAME
    from provscan.store.captures import Capture, refusal

    captures: list[Capture] = []
    for name in files:
        path = Path(name)
        if name == STDIN_NAME or not path.is_file():
            continue
        try:
            captures.append(Capture(name, file_sha256(path)))
        except OSError:
            continue
    if again or not captures:
        return captures
    first: dict[str, Capture] = {}
    for capture in captures:
        twin = first.setdefault(capture.sha256, capture)
        if twin is not capture:
            raise fail(
                f"{capture.name} has the same bytes (sha256) as {twin.name}, given before it: "
                "its packets would count twice; nothing was read (give it once, or --again)",
                EXIT_USAGE,
            )
    store_file = _db_file(db)
    if store_file is not None and not store_file.exists():
        return captures  # a new store: nothing stored before (and nothing is created yet)
    with open_db(db) as store:
        earlier = store.stored_captures(capture.sha256 for capture in captures)
    for capture in captures:
        if capture.sha256 in earlier:
            raise fail(refusal(capture, earlier[capture.sha256]), EXIT_USAGE)
    return captures


def _interrupted(notes: Sequence[str], read: int, total: int) -> typer.Exit:
    """The line a Ctrl-C ends ``provscan pcap`` with: where the reading stopped, as the
    scan's stop note says it ("provscan: interrupted in capture 1 of 1 (big.pcap) after
    40,960 packets (4% of its bytes); the result is marked incomplete"), and exit 130."""
    from provscan.passive import STOPPED_NOTE_PREFIX

    where = next(
        (
            note[len(STOPPED_NOTE_PREFIX) :]
            for note in notes
            if note.startswith(STOPPED_NOTE_PREFIX)
        ),
        None,
    )
    if where is None:  # (every stopped analysis notes where; kept for safety)
        return interrupted(read, total, "capture")
    return say_interrupted(f" {where}; the result is marked incomplete")
