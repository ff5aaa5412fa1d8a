"""Senders against real receivers on 127.0.0.1: syslog over UDP, TCP and TLS (frames parsed
back as RFC 5424 / RFC 6587), a JSONL file, and an HTTP webhook. Each event reaches each
sink once; a receiver that is down loses nothing."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import open_case_on
from receivers import (
    LOOPBACK,
    free_port,
    make_test_ca,
    parse_rfc5424,
    tcp_syslog,
    udp_syslog,
    webhook_receiver,
)

from provscan.alerts.deliver import deliver_to
from provscan.alerts.file import FileSender
from provscan.alerts.formats import CEF_SIGNATURES, SYSLOG_SEVERITY, cef_body, rfc5424
from provscan.alerts.interface import DeliveryError, SinkConfigError
from provscan.alerts.syslog import SyslogSender
from provscan.alerts.webhook import WebhookSender
from provscan.config import FileSink, SyslogSink, WebhookSink
from provscan.report.contract import ScanDocument, from_contract
from provscan.store.db import Store, normalise_db_arg, open_store
from provscan.store.events import Event
from provscan.store.inventory import coverage_ranges

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
#: When the overdue case of the transitions test was opened.
OPENED_2019 = datetime(2019, 12, 1, tzinfo=UTC)


def _document(scan_id: str, third_octet: int, *, hostile: str | None = None) -> ScanDocument:
    """The golden scan (a restricted Dahua and an Axis) under another id and addresses."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = []
    for index, device in enumerate(golden.devices):
        update: dict[str, Any] = {"ip": f"127.0.{third_octet}.{index + 1}", "mac": None}
        update["serial"] = f"SER-{third_octet}-{index}"
        if hostile is not None and device.restricted:
            update["model"] = hostile
        devices.append(device.model_copy(update=update))
    scan = golden.scan.model_copy(update={"id": scan_id})
    return golden.model_copy(update={"scan": scan, "devices": devices})


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with open_store(normalise_db_arg(str(tmp_path / "events.db"))) as opened:
        opened.save_document(_document("s-1", 50), coverage=coverage_ranges(["127.0.50.0/24"]))
        yield opened


def _kinds(store: Store, sink: str) -> list[str]:
    return [event.kind for event in store.pending_events(sink)]


def test_udp_syslog_gets_each_event_once_as_rfc5424_with_a_json_body(store: Store) -> None:
    expected = store.pending_events("udp")
    assert {e.kind for e in expected} == {"device.restricted", "case.opened"}
    with udp_syslog() as (port, received):
        sender = SyslogSender(SyslogSink(name="udp", address=f"{LOOPBACK}:{port}"))
        outcome = deliver_to(store, sender)
        messages = received.wait_for(len(expected))
        # a second run finds nothing new: the cursor moved
        assert deliver_to(store, sender).delivered == 0
    assert outcome.ok and outcome.delivered == len(expected)
    assert len(messages) == len(expected)
    parsed = sorted((parse_rfc5424(m) for m in messages), key=lambda s: int(s.params()["event"]))
    for message, event in zip(parsed, expected, strict=True):
        assert message.priority == 13 * 8 + SYSLOG_SEVERITY[event.kind]
        assert message.app == "provscan" and message.msgid == event.kind
        assert message.params()["event"] == str(event.id)
        assert message.params()["device"] == event.device_id
        assert message.had_bom
        assert json.loads(message.message) == json.loads(json.dumps(event.to_json()))
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", message.timestamp)


def test_tcp_syslog_receiver_down_loses_nothing_and_gets_everything_once_later(
    store: Store,
) -> None:
    pending = store.pending_events("tcp")
    port = free_port()
    sender = SyslogSender(SyslogSink(name="tcp", address=f"{LOOPBACK}:{port}", protocol="tcp"))
    # Given a receiver that is down
    outcome = deliver_to(store, sender)
    # Then the send fails, nothing is delivered and nothing leaves the outbox
    assert not outcome.ok and outcome.delivered == 0
    assert "refused" in (outcome.error or "").lower()
    assert store.pending_events("tcp") == pending
    # When it comes back, everything arrives once, framed by octet counting
    with tcp_syslog(port) as (_, received):
        assert deliver_to(store, sender).delivered == len(pending)
        assert deliver_to(store, sender).delivered == 0
        frames = received.wait_for(len(pending))
    assert len(frames) == len(pending)
    ids = [int(parse_rfc5424(frame).params()["event"]) for frame in frames]
    assert ids == [event.id for event in pending]


def test_tls_syslog_verifies_the_receiver_with_the_configured_ca(
    store: Store, tmp_path: Path
) -> None:
    ca = make_test_ca(tmp_path)
    pending = store.pending_events("tls")
    with tcp_syslog(context=ca.server_context) as (port, received):
        # the system CAs do not know the test CA: refused, nothing lost
        untrusted = SyslogSender(
            SyslogSink(name="tls", address=f"{LOOPBACK}:{port}", protocol="tls")
        )
        failed = deliver_to(store, untrusted)
        assert not failed.ok and "certificate" in (failed.error or "").lower()
        assert store.pending_events("tls") == pending
        trusted = SyslogSender(
            SyslogSink(
                name="tls",
                address=f"{LOOPBACK}:{port}",
                protocol="tls",
                format="cef",
                tls_ca_file=ca.ca_file,
            )
        )
        assert deliver_to(store, trusted).delivered == len(pending)
        frames = received.wait_for(len(pending))
    bodies = [parse_rfc5424(frame).message for frame in frames if frame]
    assert len(bodies) == len(pending)
    assert all(body.startswith("CEF:0|provscan|provscan|") for body in bodies)


def test_a_missing_ca_file_is_a_configuration_error(tmp_path: Path) -> None:
    sink = SyslogSink(
        name="x", address="127.0.0.1:6514", protocol="tls", tls_ca_file=tmp_path / "none.pem"
    )
    with pytest.raises(SinkConfigError, match="CA file"):
        SyslogSender(sink)


# --- CEF -----------------------------------------------------------------------------------


def _split_unescaped(text: str, separator: str, limit: int) -> list[str]:
    parts, current, index = [], "", 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current += text[index : index + 2]
            index += 2
            continue
        if char == separator and len(parts) < limit:
            parts.append(current)
            current = ""
        else:
            current += char
        index += 1
    parts.append(current)
    return parts


def _cef_extension(text: str) -> dict[str, str]:
    """key=value pairs; a key is the word before an unescaped '='."""
    pairs: dict[str, str] = {}
    tokens = re.split(r"(?<!\\) (?=\w+=)", text)
    for token in tokens:
        key, value = _split_unescaped(token, "=", 1)
        unescaped = re.sub(
            r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value
        )
        pairs[key] = unescaped
    return pairs


HOSTILE = 'X|Y\\Z=1 cs9=forged\nsecond line|"quoted"]'


def test_cef_escapes_hostile_device_text(tmp_path: Path) -> None:
    with open_store(normalise_db_arg(str(tmp_path / "h.db"))) as store:
        store.save_document(_document("h-1", 51, hostile=HOSTILE))
        events = store.pending_events("cef")
        event = next(e for e in events if e.kind == "device.restricted")
    record = cef_body(event)
    assert "\n" not in record and "\r" not in record
    header = _split_unescaped(record, "|", 7)
    assert len(header) == 8, header
    assert header[:7] == [
        "CEF:0",
        "provscan",
        "provscan",
        header[3],
        CEF_SIGNATURES["device.restricted"][0],
        CEF_SIGNATURES["device.restricted"][2],
        str(CEF_SIGNATURES["device.restricted"][1]),
    ]
    fields = _cef_extension(header[7])
    assert fields["cs3"] == HOSTILE  # the model, read back intact
    assert fields["cs3Label"] == "model"
    assert "cs9" not in fields  # the text could not forge a field
    assert fields["externalId"] == str(event.id)
    assert fields["src"] == event.payload["device"]["ip"]
    opened = next(e for e in events if e.kind == "case.opened")
    due = _cef_extension(_split_unescaped(cef_body(opened), "|", 7)[7])
    assert due["flexDate1Label"] == "caseDue"
    assert (
        datetime.fromtimestamp(int(due["flexDate1"]) / 1000, UTC).date().isoformat()
        == (opened.payload["case"]["due"])
    )
    # and the RFC 5424 frame around it stays one parseable message
    message = parse_rfc5424(rfc5424(event, record))
    assert message.message == record


def test_cef_header_escapes_pipes_and_backslashes() -> None:
    from provscan.alerts.formats import _cef_header, _cef_value

    assert _cef_header("a|b\\c\nd") == "a\\|b\\\\c d"
    assert _cef_value("a=b\\c|d\r\ne") == "a\\=b\\\\c|d\\ne"


# --- file ----------------------------------------------------------------------------------


def test_file_sink_appends_private_jsonl_and_follows_rotation(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sender = FileSender(FileSink(name="file", path=path, batch_size=1))
    first = store.pending_events("file")
    assert deliver_to(store, sender).delivered == len(first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == [event.id for event in first]
    # a log rotator moves the file away; the next batch goes to a new file
    path.rename(tmp_path / "events.jsonl.1")
    store.save_document(_document("s-2", 52), coverage=coverage_ranges(["127.0.52.0/24"]))
    second = store.pending_events("file")
    assert second and all(e.id > first[-1].id for e in second)
    assert deliver_to(store, sender).delivered == len(second)
    assert [json.loads(x)["id"] for x in path.read_text().splitlines()] == [e.id for e in second]
    assert len((tmp_path / "events.jsonl.1").read_text().splitlines()) == len(first)


def test_file_sink_in_a_missing_directory_fails_and_keeps_the_events(
    store: Store, tmp_path: Path
) -> None:
    sender = FileSender(FileSink(name="file", path=tmp_path / "nowhere" / "e.jsonl"))
    outcome = deliver_to(store, sender)
    assert not outcome.ok and "does not exist" in (outcome.error or "")
    assert not (tmp_path / "nowhere").exists()
    assert len(store.pending_events("file")) == 2


# --- webhook -------------------------------------------------------------------------------


def test_webhook_retries_with_backoff_and_delivers_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVSCAN_TEST_HOOK_SECRET", "Bearer s3cret")
    pending = store.pending_events("hook")
    slept: list[float] = []
    with webhook_receiver() as (url, log):
        log.fail_next = [503, 503]
        sink = WebhookSink(
            name="hook",
            url=url,
            secret_header="Authorization",
            secret_env="PROVSCAN_TEST_HOOK_SECRET",
            backoff_seconds=0.5,
        )
        sender = WebhookSender(sink, sleep=slept.append)
        outcome = deliver_to(store, sender)
        assert deliver_to(store, sender).delivered == 0
        sender.close()
    assert outcome.ok and outcome.delivered == len(pending)
    assert [r["status"] for r in log.requests] == [503, 503, 200]
    # exponential back-off with jitter: the second wait is drawn from a doubled range
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0
    accepted = [r for r in log.requests if r["status"] == 200]
    assert len(accepted) == 1
    body = accepted[0]["body"]
    assert [e["id"] for e in body["events"]] == [e.id for e in pending]
    assert body["events"][0]["kind"] == pending[0].kind
    headers = {k.lower(): v for k, v in accepted[0]["headers"].items()}
    assert headers["authorization"] == "Bearer s3cret"
    # the retried requests carry the same idempotency key
    keys = {r["headers"].get("Idempotency-Key") for r in log.requests}
    assert len(keys) == 1 and None not in keys


def test_webhook_down_then_up_loses_nothing_and_duplicates_nothing(store: Store) -> None:
    port = free_port()
    url = f"http://{LOOPBACK}:{port}/hook"
    sender = WebhookSender(
        WebhookSink(name="hook", url=url, retries=2, backoff_seconds=0, timeout_seconds=2)
    )
    pending = store.pending_events("hook")
    down = deliver_to(store, sender)
    assert not down.ok and "after 3 attempts" in (down.error or "")
    assert store.pending_events("hook") == pending
    # meanwhile a new scan adds events: they queue behind the first ones
    store.save_document(_document("s-3", 53), coverage=coverage_ranges(["127.0.53.0/24"]))
    queued = store.pending_events("hook")
    assert len(queued) == 2 * len(pending)
    with webhook_receiver(port) as (_, log):
        assert deliver_to(store, sender).delivered == len(queued)
        assert deliver_to(store, sender).delivered == 0
    sender.close()
    delivered = [e["id"] for r in log.requests for e in r["body"]["events"]]
    assert delivered == [e.id for e in queued]


def test_https_webhook_checks_the_receiver_with_the_configured_ca(
    store: Store, tmp_path: Path
) -> None:
    ca = make_test_ca(tmp_path)
    with webhook_receiver(context=ca.server_context) as (url, log):
        untrusted = WebhookSender(WebhookSink(name="hook", url=url, retries=0))
        failed = deliver_to(store, untrusted)
        untrusted.close()
        trusted = WebhookSender(
            WebhookSink(name="hook", url=url, retries=0, tls_ca_file=ca.ca_file)
        )
        delivered = deliver_to(store, trusted)
        trusted.close()
    assert not failed.ok and "certificate" in (failed.error or "").lower()
    assert delivered.ok and delivered.delivered == 2
    assert [len(r["body"]["events"]) for r in log.requests] == [2]


def test_webhook_client_error_is_not_retried(store: Store) -> None:
    with webhook_receiver() as (url, log):
        log.fail_next = [400]
        sender = WebhookSender(WebhookSink(name="hook", url=url, backoff_seconds=0))
        outcome = deliver_to(store, sender)
        sender.close()
    assert not outcome.ok and outcome.error and "HTTP 400" in outcome.error
    assert len(log.requests) == 1
    assert len(store.pending_events("hook")) == 2


def test_webhook_secret_comes_from_a_file_or_fails_in_one_line(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("Token abc\n")
    sink = WebhookSink(
        name="w", url="http://127.0.0.1:9/", secret_header="Authorization", secret_file=secret
    )
    sender = WebhookSender(sink)
    assert sender.client.headers["Authorization"] == "Token abc"
    sender.close()
    missing = sink.model_copy(update={"secret_file": tmp_path / "absent"})
    with pytest.raises(SinkConfigError, match="cannot be read"):
        WebhookSender(missing)
    unset = WebhookSink(
        name="w", url="http://127.0.0.1:9/", secret_header="X-Key", secret_env="PROVSCAN_UNSET_X"
    )
    os.environ.pop("PROVSCAN_UNSET_X", None)
    with pytest.raises(SinkConfigError, match="not set"):
        WebhookSender(unset)


# --- transitions -----------------------------------------------------------------------------


def test_each_transition_reaches_each_sink_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    sender = FileSender(FileSink(name="file", path=path))
    with udp_syslog() as (port, received):
        udp = SyslogSender(SyslogSink(name="udp", address=f"{LOOPBACK}:{port}"))
        first = deliver_to(store, udp).delivered
        assert deliver_to(store, sender).delivered == first
        # the same devices seen again (same serials): no transition, nothing sent
        store.save_document(_document("s-1b", 50), coverage=coverage_ranges(["127.0.50.0/24"]))
        assert deliver_to(store, udp).delivered == 0
        assert deliver_to(store, sender).delivered == 0
        # a case past due: one overdue event for each sink
        case = store.cases()[0]
        # (a case opened in 2019: the store refuses a due date before the opening)
        open_case_on(normalise_db_arg(str(tmp_path / "events.db")), case.id, OPENED_2019)
        store.update_case(case.id, actor="test", due="2020-01-01")  # a person's change
        store.record_overdue()
        store.record_overdue()
        assert deliver_to(store, udp).delivered == 2  # case.updated, then case.overdue once
        assert deliver_to(store, sender).delivered == 2
        messages = received.wait_for(first + 2)
    assert len(messages) == first + 2
    assert [parse_rfc5424(m).msgid for m in messages[-2:]] == ["case.updated", "case.overdue"]
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds.count("case.overdue") == 1 and len(kinds) == first + 2


def test_the_interlock_refuses_a_receiver_outside_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 198.51.100.0/24 is documentation space: nothing is sent, the interlock refuses first
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    sender = SyslogSender(SyslogSink(name="far", address="198.51.100.55:514", protocol="tcp"))
    outcome = deliver_to(store, sender)
    assert not outcome.ok and "PROVSCAN_ALLOWED_TARGETS" in (outcome.error or "")
    named = SyslogSender(SyslogSink(name="far", address="siem.example:514", protocol="tcp"))
    with pytest.raises(DeliveryError, match="names are not resolved"):
        named.send(store.pending_events("far"))
    assert len(store.pending_events("far")) == 2


def test_events_are_plain_values_in_the_order_they_were_written(store: Store) -> None:
    events: list[Event] = store.pending_events("any")
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert _kinds(store, "any")[0] in SYSLOG_SEVERITY


def _later(document: ScanDocument, scan_id: str, hour: int, keep: slice) -> ScanDocument:
    devices = document.devices[keep]
    scan = document.scan.model_copy(
        update={
            "id": scan_id,
            "started_at": document.scan.started_at.replace(hour=hour),
            "finished_at": None,
            "devices_found": len(devices),
            "restricted_count": sum(d.restricted for d in devices),
        }
    )
    return document.model_copy(update={"scan": scan, "devices": devices})


def test_verified_and_reopened_cases_are_sent_once_each(tmp_path: Path) -> None:
    cover = coverage_ranges(["127.0.54.0/24"])
    base = _document("v-0", 54)
    path = tmp_path / "v.jsonl"
    sender = FileSender(FileSink(name="file", path=path))
    with open_store(normalise_db_arg(str(tmp_path / "v.db"))) as store:
        store.save_document(_later(base, "v-1", 1, slice(None)), coverage=cover)
        assert deliver_to(store, sender).ok
        (case,) = [c for c in store.cases() if c.subject == "restricted"]
        store.update_case(case.id, actor="test", status="removed")  # case.updated
        # a covering scan no longer sees the restricted camera: verified, one event
        store.save_document(_later(base, "v-2", 2, slice(1, None)), coverage=cover)
        assert deliver_to(store, sender).delivered == 2
        # the camera is back: the case reopens, one event
        store.save_document(_later(base, "v-3", 3, slice(None)), coverage=cover)
        assert deliver_to(store, sender).delivered == 1
        assert deliver_to(store, sender).delivered == 0
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds[-2:] == ["case.verified", "case.reopened"]
    assert kinds.count("case.verified") == 1 and kinds.count("case.reopened") == 1


def test_a_large_event_over_udp_is_sent_compact(store: Store) -> None:
    (event,) = [e for e in store.pending_events("u") if e.kind == "device.restricted"]
    finding = event.payload["device"]["findings"][0]
    many = [{**finding, "policy": f"p{i:02d}", "effect": "use-ban" * 20} for i in range(40)]
    big = Event(
        event.id,
        event.at,
        event.kind,
        event.device_id,
        event.case_id,
        event.scan_id,
        {"device": {**event.payload["device"], "findings": many}},
    )
    sender = SyslogSender(SyslogSink(name="u", address=f"{LOOPBACK}:514"))
    message = sender.message(big)
    assert len(message) <= 2048
    body = json.loads(parse_rfc5424(message).message)
    assert body["device"]["findings_omitted"] == 40
    # binding ones (none here: "use-ban" * 20 restricts nobody), and the others
    assert body["device"]["policies"] == []
    assert body["device"]["other_policies"] == [f"p{i:02d}" for i in range(40)]
    # over TCP the same event goes whole
    tcp = SyslogSender(SyslogSink(name="t", address=f"{LOOPBACK}:514", protocol="tcp"))
    assert len(json.loads(parse_rfc5424(tcp.message(big)).message)["device"]["findings"]) == 40
