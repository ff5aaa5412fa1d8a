"""Front-end listeners of the scan events (the seam itself is :mod:`provscan.events`).

:class:`RichProgressObserver` is the CLI's progress bar; rich is imported only when one is
made. ``ScanObserver`` and ``NullObserver`` are re-exported for the front ends' convenience.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from provscan.events import NullObserver, ScanObserver
from provscan.model import Device, ScanInfo, ScanResult
from provscan.report.safe_text import printable
from provscan.report.wording import plural

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, TaskID
    from rich.table import Column

__all__ = [
    "ANNOUNCED_RESTRICTED",
    "ELAPSED_FROM_COLUMNS",
    "NullObserver",
    "RichProgressObserver",
    "ScanObserver",
    "one_line_progress",
    "whole_column",
]


#: Restricted devices announced above the progress bar; later ones are only counted, so that
#: a big find does not scroll the terminal (the report that follows lists every one).
ANNOUNCED_RESTRICTED = 5
#: Terminals narrower than this get progress bars without the time elapsed, so that the
#: counts keep their room (at 80 columns a newcomer saw ``321/163… hosts``).
ELAPSED_FROM_COLUMNS = 100


class RichProgressObserver(ScanObserver):
    """A progress bar over hosts on stderr, with live counts of devices and restricted ones.

    The first :data:`ANNOUNCED_RESTRICTED` restricted devices are also announced on their own
    line above the bar as they are found (the report lists them all). The bar shows the time
    elapsed (from :data:`ELAPSED_FROM_COLUMNS` columns) and an estimate of the time left; the
    host count is never cut, the bar shrinks first. Use it as a context manager (or call
    :meth:`close`) so the bar is stopped even when the scan fails before :meth:`scan_done`.
    """

    def __init__(self, console: Console | None = None, *, transient: bool = False) -> None:
        from rich.console import Console
        from rich.progress import MofNCompleteColumn, TimeRemainingColumn

        self._console = console if console is not None else Console(stderr=True)
        self._progress = one_line_progress(
            self._console,
            [
                MofNCompleteColumn(table_column=whole_column()),
                "hosts",
                "{task.fields[devices]}",
                "[bold red]{task.fields[restricted]} restricted",
            ],
            ["eta", TimeRemainingColumn(table_column=whole_column())],
            transient=transient,
        )
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self._devices = 0
        self._restricted = 0

    @property
    def devices_found(self) -> int:
        return self._devices

    @property
    def restricted_found(self) -> int:
        return self._restricted

    def scan_started(self, info: ScanInfo, total_hosts: int) -> None:
        with self._lock:
            if self._task is None:
                self._progress.start()
                self._task = self._progress.add_task(
                    "scanning", total=total_hosts, devices=plural(0, "device"), restricted=0
                )

    def host_done(self, ip: str, device: Device | None) -> None:
        with self._lock:
            if device is not None:
                self._devices += 1
                if device.restricted:
                    self._restricted += 1
            if self._task is not None:
                self._progress.update(
                    self._task,
                    advance=1,
                    devices=plural(self._devices, "device"),
                    restricted=self._restricted,
                )
        if device is not None and device.restricted:
            from rich.text import Text

            if self._restricted <= ANNOUNCED_RESTRICTED:
                self._announce(device)
            elif self._restricted == ANNOUNCED_RESTRICTED + 1:
                self._progress.console.print(
                    Text("... more restricted devices: counted in the bar, all in the report")
                )

    def hosts_empty(self, ips: Sequence[str]) -> None:
        # one update per batch: rich estimates speed from its recent updates, and hundreds
        # of them in the same millisecond made the time left read 0:00:01 for a whole sweep
        with self._lock:
            if self._task is not None and ips:
                self._progress.update(self._task, advance=len(ips))

    def scan_stopping(self) -> None:
        with self._lock:
            if self._task is not None:
                self._progress.update(self._task, description="[bold yellow]stopping")

    def scan_done(self, result: ScanResult) -> None:
        self.close()

    def close(self) -> None:
        """Stop the bar (idempotent)."""
        with self._lock:
            if self._task is not None:
                self._progress.stop()
                self._task = None

    def __enter__(self) -> RichProgressObserver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _announce(self, device: Device) -> None:
        from rich.text import Text

        maker = device.brand or device.manufacturer or "unknown"
        # Only the policies whose measures restrict it for the user: measures that bind others,
        # advise or give context are in the report, marked.
        policies = ", ".join(dict.fromkeys(f.policy for f in device.findings if f.restricts))
        line = Text.assemble(
            ("RESTRICTED ", "bold red"),
            printable(f"{device.ip} {maker} {device.model or ''}".rstrip()),
            (f" ({printable(policies)})" if policies else "", "red"),
        )
        self._progress.console.print(line)


def one_line_progress(
    console: Console,
    counts: Sequence[ProgressColumn | str],
    tail: Sequence[ProgressColumn | str] = (),
    *,
    transient: bool,
) -> Progress:
    """A progress bar that keeps to one line: a spinner, the task's description, the bar,
    ``counts``, the time elapsed (from :data:`ELAPSED_FROM_COLUMNS` columns) and ``tail``.

    When the line is too long rich squeezes the columns that may wrap, and the bar is meant
    to be the only one: give ``counts`` and ``tail`` as plain strings (which never wrap) or
    with ``table_column=``:func:`whole_column`, so that no count is cut.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TimeElapsedColumn

    wide = console.width >= ELAPSED_FROM_COLUMNS
    elapsed = [TimeElapsedColumn(table_column=whole_column())] if wide else []
    return Progress(
        SpinnerColumn(table_column=whole_column()),
        "[progress.description]{task.description}",
        BarColumn(bar_width=24),
        *counts,
        *elapsed,
        *tail,
        console=console,
        transient=transient,
    )


def whole_column() -> Column:
    """A table column that never wraps nor shrinks while another (the bar) can."""
    from rich.table import Column

    return Column(no_wrap=True)
