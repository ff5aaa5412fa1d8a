"""JSON lines appended to a file for log shippers: opened per batch (a rotated file is
followed), fsynced before the batch counts as delivered, created private."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from provscan.alerts.formats import json_body
from provscan.alerts.interface import DeliveryError, Sender
from provscan.config import FileSink
from provscan.report.files import PRIVATE_FILE_MODE
from provscan.store.events import Event


class FileSender(Sender):
    kind = "file"

    def __init__(self, sink: FileSink) -> None:
        self.name = sink.name
        self.batch_size = sink.batch_size
        self.path = sink.path.expanduser()

    def describe(self) -> str:
        return f"file {self.path}"

    def send(self, events: Sequence[Event]) -> None:
        if not events:
            return
        data = "".join(json_body(event) + "\n" for event in events).encode("utf-8")
        if not self.path.parent.is_dir():
            raise DeliveryError(f"directory {self.path.parent} does not exist")
        try:
            descriptor = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE
            )
        except OSError as exc:
            raise DeliveryError(str(exc.strerror or exc)) from exc
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise DeliveryError("not a regular file")
            view = memoryview(data)
            while view:
                written = os.write(descriptor, view)
                view = view[written:]
            os.fsync(descriptor)
        except OSError as exc:
            raise DeliveryError(str(exc.strerror or exc)) from exc
        finally:
            os.close(descriptor)
