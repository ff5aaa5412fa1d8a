"""`provscan events send|list` and delivery after a stored scan, as a user runs them
(subprocesses, a real capture, a real webhook receiver on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from receivers import LOOPBACK, free_port, webhook_receiver

CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROVSCAN_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_stored_scan_sends_its_events_and_a_down_receiver_only_warns(tmp_path: Path) -> None:
    port = free_port()
    jsonl = tmp_path / "events.jsonl"
    config = _config(
        tmp_path,
        f"""
[[alerts.file]]
name = "shipper"
path = "{jsonl}"

[[alerts.webhook]]
name = "hook"
url = "http://{LOOPBACK}:{port}/in"
retries = 1
backoff_seconds = 0
timeout_seconds = 2
""",
    )
    db = str(tmp_path / "store.db")
    # Given a capture stored in the inventory, with the webhook receiver down
    report = str(tmp_path / "scan.json")
    scanned = _run(config, "pcap", str(CAPTURE), "--db", db, "-f", "json", "-o", report)
    # Then the scan succeeds; the file got every event, the webhook failure is a warning
    assert scanned.returncode == 0, scanned.stderr
    assert "warning" in scanned.stderr and "hook" in scanned.stderr
    assert "Traceback" not in scanned.stderr
    written = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert written and {"device.restricted", "case.opened"} <= {e["kind"] for e in written}
    listed = _run(config, "events", "list", "-f", "json", "--db", db)
    assert listed.returncode == 0, listed.stderr
    pending = json.loads(listed.stdout)["sinks"]
    assert pending["shipper"] == []
    assert [e["id"] for e in pending["hook"]] == [e["id"] for e in written]
    # When the receiver is down, `events send` fails (exit 1) and says what was delivered
    failed = _run(config, "events", "send", "--once", "--db", db)
    assert failed.returncode == 1
    assert "hook" in failed.stderr and "0 event(s) delivered" in failed.stderr
    # When it is back, every waiting event arrives, once
    with webhook_receiver(port) as (_, log):
        sent = _run(config, "events", "send", "--once", "--db", db)
        again = _run(config, "events", "send", "--once", "--db", db)
    assert sent.returncode == 0, sent.stderr
    assert again.returncode == 0, again.stderr
    received = [e["id"] for r in log.requests for e in r["body"]["events"]]
    assert received == [e["id"] for e in written]
    assert f"hook (webhook http://{LOOPBACK}:{port}/in): {len(written)} event(s)" in sent.stderr
    # the file sink was not sent anything twice
    assert len(jsonl.read_text().splitlines()) == len(written)


def test_a_secret_in_the_config_file_is_refused_in_one_line(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
[[alerts.webhook]]
name = "hook"
url = "http://127.0.0.1:9/in"
secret = "Bearer do-not-put-me-here"
""",
    )
    result = _run(config, "events", "send", "--once", "--db", str(tmp_path / "s.db"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "alerts.webhook.0.secret" in result.stderr
    assert "do-not-put-me-here" not in result.stderr


def test_bad_sinks_and_names_are_usage_errors(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
[[alerts.syslog]]
name = "siem"
address = "127.0.0.1"
""",
    )
    result = _run(config, "events", "list", "--db", str(tmp_path / "s.db"))
    assert result.returncode == 2 and "alerts.syslog.0.address" in result.stderr
    good = _config(
        tmp_path,
        """
[[alerts.syslog]]
name = "siem"
address = "127.0.0.1:514"
""",
    )
    unknown = _run(
        good, "events", "send", "--once", "--sink", "nope", "--db", str(tmp_path / "s.db")
    )
    assert unknown.returncode == 2 and "no sink named 'nope'" in unknown.stderr
    empty = _config(tmp_path, "")
    none = _run(empty, "events", "list", "--db", str(tmp_path / "s.db"))
    assert none.returncode == 2 and "no sinks configured" in none.stderr
    duplicate = _config(
        tmp_path,
        """
[[alerts.syslog]]
name = "x"
address = "127.0.0.1:514"
[[alerts.file]]
name = "x"
path = "/tmp/x.jsonl"
""",
    )
    twice = _run(duplicate, "events", "list", "--db", str(tmp_path / "s.db"))
    assert twice.returncode == 2 and "two sinks are named 'x'" in twice.stderr


def test_send_keeps_delivering_until_interrupted(tmp_path: Path) -> None:
    jsonl = tmp_path / "events.jsonl"
    config = _config(
        tmp_path,
        f'[alerts]\nsend_after_scan = false\n[[alerts.file]]\nname = "f"\npath = "{jsonl}"\n',
    )
    db = str(tmp_path / "store.db")
    report = str(tmp_path / "scan.json")
    assert _run(config, "pcap", str(CAPTURE), "--db", db, "-o", report).returncode == 0
    assert not jsonl.exists()  # send_after_scan = false: the events wait
    env = {**os.environ, "PROVSCAN_CONFIG": str(config)}
    process = subprocess.Popen(
        [sys.executable, "-m", "provscan", "events", "send", "--interval", "1", "--db", db],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # stderr is read as it comes: the interrupt goes only once a batch was reported delivered
    # (the file appears a moment before the report; a loaded machine can stop between the two)
    lines: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("delivered" in line for line in lines):
            time.sleep(0.2)
        assert jsonl.exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        reader.join(timeout=10)
        process.stderr.close()
    err = "".join(lines)
    assert process.returncode == 130, err
    assert "event(s) delivered" in err and "Traceback" not in err
    kinds = [json.loads(line)["kind"] for line in jsonl.read_text().splitlines()]
    assert "device.restricted" in kinds
