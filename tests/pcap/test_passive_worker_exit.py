"""The second process exits without tearing its memory down once its input ends (issue 14:
the reading process waited for that in ``close()``): every answer still arrives, in order,
and it exits with status 0."""

from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from provscan.knowledge import load_knowledge
from provscan.passive import CaptureAnalyser, worker
from provscan.passive.reassembly import Flow

FIXTURES = Path(__file__).parent / "fixtures"
KNOWLEDGE = load_knowledge()


def _conversations(name: str) -> tuple[CaptureAnalyser, list[Any]]:
    """The analyser's stream analyser and every conversation of a capture, as the reading
    process hands them to the child (in the order they finished)."""
    data = (FIXTURES / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    analyser = CaptureAnalyser(KNOWLEDGE, workers=1)
    items: list[Any] = []

    def keep(flow: Flow) -> None:
        items.append(worker.flow_item(flow))

    analyser.flows._on_complete = keep
    analyser.feed("capture", io.BytesIO(data))
    analyser.flows.flush()
    return analyser, items


def test_the_child_answers_everything_before_it_exits() -> None:
    analyser, items = _conversations("lab_scan.pcap.gz")
    endpoints, prefixes = analyser.streams.endpoints, analyser.streams.path_prefixes
    batches = [items[: len(items) // 2], items[len(items) // 2 :]]
    frames = [pickle.dumps((dict(endpoints), dict(prefixes))), *map(worker._dumps, batches)]
    stream = b"".join(worker._FRAME.pack(len(frame)) + frame for frame in frames)
    done = subprocess.run(
        [sys.executable, "-m", "provscan.passive.worker"],
        input=stream,
        capture_output=True,
        env=worker._child_environment(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    output = io.BytesIO(done.stdout)
    answers = []
    while (blob := worker._read_frame(output)) is not None:
        answers += pickle.loads(blob)
    assert output.read() == b""
    here = worker.CallRecorder(endpoints, prefixes)
    assert answers == [here.read(item) for item in items]


def test_the_child_leaves_without_its_interpreters_teardown(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Once its last answer is flushed the child ends with ``os._exit``: the interpreter's
    teardown (atexit handlers, freeing what the conversations left in memory) does not run.
    A ``sitecustomize`` put on the child's path registers an atexit handler; it must never
    write (the earlier test passed with a plain ``SystemExit`` too, a review found)."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    started, torn_down = tmp_path / "started", tmp_path / "torn-down"
    hooks.joinpath("sitecustomize.py").write_text(
        "import atexit, pathlib\n"
        f"pathlib.Path({str(started)!r}).write_text('yes')\n"
        f"atexit.register(lambda: pathlib.Path({str(torn_down)!r}).write_text('yes'))\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PYTHONPATH", str(hooks))
    first = pickle.dumps(({}, {}))
    done = subprocess.run(
        [sys.executable, "-m", "provscan.passive.worker"],
        input=worker._FRAME.pack(len(first)) + first,
        capture_output=True,
        env=worker._child_environment(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert started.exists()  # the hook ran in the child
    assert not torn_down.exists()  # but the child never tore its interpreter down
