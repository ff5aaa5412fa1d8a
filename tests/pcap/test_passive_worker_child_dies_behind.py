"""The second process dies while it is behind: no conversation is lost (issue 14 review).

When the child owes more than ``SHARE_AFTER`` batches, sending the next batch first looks at
its pipe. A child found gone there used to lose the batch being sent: it had already been
taken out of the worker's hands, so the recovery (which reads everything the child did not
answer in the reading process) missed it, and the answers of every later conversation waited
behind its empty slots forever. The child here is a real process, stopped with SIGSTOP so
that it falls behind, then killed as the OOM killer would.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
from typing import Any

import pytest
from test_passive_worker import analysed, table
from test_passive_worker_sharing import _many_conversations

from provscan.knowledge import load_knowledge
from provscan.passive import CaptureAnalyser, worker

KNOWLEDGE = load_knowledge()


@pytest.mark.parametrize("killed_at", [10, 18, 27])
def test_a_child_killed_while_behind_loses_no_conversation(
    monkeypatch: pytest.MonkeyPatch, killed_at: int
) -> None:
    data = _many_conversations(40)
    alone, _ = analysed(data, workers=1)

    monkeypatch.setattr(worker, "BATCH_FLOWS", 4)
    monkeypatch.setattr(worker, "SHARE_AFTER", 1)
    started = worker.StreamWorker.__init__
    submit = worker.StreamWorker.submit
    submitted = 0

    def stopped_at_once(self: worker.StreamWorker, *args: Any) -> None:
        started(self, *args)
        assert self._child is not None
        os.kill(self._child.pid, signal.SIGSTOP)  # it falls behind from the first batch

    def killed(self: worker.StreamWorker, flow: Any) -> None:
        nonlocal submitted
        submitted += 1
        if submitted == killed_at and self._child is not None:
            os.kill(self._child.pid, signal.SIGKILL)
            os.kill(self._child.pid, signal.SIGCONT)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._child.pid, 0)
            self._child.returncode = -signal.SIGKILL
        submit(self, flow)

    monkeypatch.setattr(worker.StreamWorker, "__init__", stopped_at_once)
    monkeypatch.setattr(worker.StreamWorker, "submit", killed)
    analyser = CaptureAnalyser(KNOWLEDGE, workers=2)
    child = analyser._worker
    assert child is not None
    analyser.feed("capture", io.BytesIO(data))
    analyser.flows.flush()
    analyser.close()

    assert child.broken  # the death was seen
    assert not child._order and not child._sent  # nothing left waiting
    assert child.read_by_child + child.read_shared + child.read_in_place == 40
    assert table(analyser) == table(alone)
