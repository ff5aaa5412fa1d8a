"""Three newcomer messages of the command line.

- `provscan scan ... --as ca:municipal` printed all 23 organisation types (597 characters):
  it offers the near matches (else the types of the jurisdiction typed, else the
  jurisdictions), one line, exit 2.
- `--ports "22;23"` and `--ports telnet,ssh` said only "bad port specification": the message
  says what is accepted, with an example, and that service names are not.
- `provscan scan localhost` never said which address it scanned: a target given as a host
  name is listed with its address(es) once, in the scan's notes (table and JSON).

Nothing here leaves loopback: the only name resolved is ``localhost`` (``getaddrinfo`` is
replaced so that any other name fails the test), and the scans are of 127.0.0.1 port 9.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.errors import TargetError
from provscan.knowledge.loader import load_knowledge
from provscan.knowledge.policies import org_type_vocabulary
from provscan.policy.evaluate import OrgTypeError, near_org_types, parse_acting_as
from provscan.targets import build_targets, parse_ports

RUNNER = CliRunner()
POLICIES = list(load_knowledge().policies.values())
QUICK = ["--no-discovery", "--no-db", "-p", "9", "--timeout", "1"]


def _one_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), lines
    assert "Traceback" not in result.output
    return str(lines[0])


# -- --as: near matches, not the whole vocabulary ------------------------------------------


def test_a_mistyped_org_type_gets_its_near_match_on_one_short_line() -> None:
    line = _one_error(RUNNER.invoke(app, ["scan", "127.0.0.1", "--as", "ca:municipal", *QUICK]))
    assert "ca:municipal (did you mean ca:provincial-or-municipal-body?)" in line
    assert "provscan policies --as-types" in line
    assert "us:federal-agency" not in line and len(line) < 200


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ca:municipal", ["ca:provincial-or-municipal-body"]),
        ("ca:federal-instituton", ["ca:federal-institution"]),
        ("canada:federal-institution", ["ca:federal-institution"]),
        ("us:state-agency", ["us-tx:state-agency", "us-la:state-agency"]),
        ("ca:public-body", ["ca-qc:public-body"]),
        ("uk:government", ["uk:central-government"]),
        ("us:contractor", ["us:federal-contractor"]),
        # a known jurisdiction is never offered another country's type
        ("ca:government", []),
        ("xx:thing", []),
    ],
)
def test_near_org_types(typed: str, meant: list[str]) -> None:
    choosable = [key for key in org_type_vocabulary(POLICIES) if not key.endswith(":everyone")]
    assert near_org_types(typed, choosable) == meant


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        # nothing close: the jurisdiction's own types
        ("ca:government", "ca:government (ca has ca:individual, ca:business,"),
        # an unknown jurisdiction: the jurisdictions there are
        ("xx:thing", "xx:thing (jurisdictions: ca, ca-qc, us,"),
    ],
)
def test_without_a_near_match_the_message_still_says_where_to_look(typed: str, said: str) -> None:
    with pytest.raises(OrgTypeError) as caught:
        parse_acting_as(["ca:individual", typed], POLICIES)
    message = str(caught.value)
    assert said in message and "\n" not in message
    assert message.startswith("unknown organisation type(s) for --as: " + typed)
    assert "ca:individual" not in message.partition("(")[0]  # the known one is not blamed


# -- --ports: what is accepted ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "said"),
    [
        ("22;23", "'22;23': ports are separated by commas; give numbers and ranges, e.g. "),
        ("22 23", "ports are separated by commas"),
        (
            "telnet,ssh",
            "'telnet': service names are not accepted, only port numbers; give numbers and "
            "ranges, e.g. --ports 22,23,80-90",
        ),
        ("80,rtsp", "'rtsp': service names are not accepted"),
        ("10-5", "bad port range '10-5': it ends before it starts (write 5-10)"),
        ("1-2-3", "'1-2-3'; give numbers and ranges, e.g. --ports 22,23,80-90"),
    ],
)
def test_a_bad_port_list_says_what_is_accepted(ports: str, said: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_ports(ports)
    assert said in str(caught.value)
    line = _one_error(RUNNER.invoke(app, ["scan", "127.0.0.1", "--no-discovery", "--ports", ports]))
    assert said in line


# -- a target host name: the address it stood for --------------------------------------------


@pytest.fixture
def localhost_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``localhost`` resolves to 127.0.0.1 (whatever /etc/hosts says); any other name fails."""
    asked: list[str] = []

    def resolve(name: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(name)
        assert name == "localhost", f"tried to resolve {name!r}"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return asked


def test_name_notes_list_each_name_once_with_its_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolve(name: str, *args: Any, **kwargs: Any) -> Any:
        assert name == "localhost"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    targets = build_targets(["localhost", "127.0.0.2", "localhost"])
    assert targets.name_notes() == ("localhost = 127.0.0.1, ::1",)
    assert build_targets(["127.0.0.1/30"]).name_notes() == ()


def test_a_scan_of_localhost_says_which_address_it_scanned(localhost_only: list[str]) -> None:
    table = RUNNER.invoke(app, ["scan", "localhost", *QUICK])
    assert table.exit_code == 0, table.output
    assert table.stdout.count("localhost = 127.0.0.1") == 1
    assert "1 host without answers" in table.stdout
    document = RUNNER.invoke(app, ["scan", "localhost", *QUICK, "-f", "json"])
    assert document.exit_code == 0, document.output
    scan = json.loads(document.stdout)["scan"]
    assert scan["targets"] == ["localhost"]
    assert scan["notes"].count("localhost = 127.0.0.1") == 1
    assert "localhost = 127.0.0.1" not in document.stderr  # said once, in the document
    assert set(localhost_only) == {"localhost"}


def test_an_address_target_gets_no_name_note(localhost_only: list[str]) -> None:
    result = RUNNER.invoke(app, ["scan", "127.0.0.1", *QUICK, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert not any(" = " in note for note in json.loads(result.stdout)["scan"]["notes"])
    assert localhost_only == []
