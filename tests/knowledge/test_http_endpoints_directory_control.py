"""An endpoint's directory control: a file no endpoint asks, in a directory of its own path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.knowledge import load_knowledge


def edit(path: Path, change: Callable[[Any], None]) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def load_error(data_dir: Path) -> str:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    return str(caught.value)


def test_only_the_endpoint_under_a_generic_directory_has_one() -> None:
    endpoints = load_knowledge().http_endpoints
    assert endpoints is not None
    controlled = {e.id: e.directory_control for e in endpoints.endpoints if e.directory_control}
    # /cgi-bin/ is every web server's; /ISAPI/, /SDK/ and /RPC2_Login are the vendors' own
    assert controlled == {"dahua-magicbox-machinename": "/cgi-bin/provscan-canary-0f3a9c.cgi"}


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ("/provscan-canary-0f3a9c.cgi", "must lie in a directory of the path"),
        ("/ISAPI/provscan-canary-0f3a9c", "must lie in a directory of the path"),
        ("cgi-bin/provscan-canary-0f3a9c.cgi", "must be a path without a query"),
        ("/cgi-bin/x.cgi?action=getMachineName", "must be a path without a query"),
        ("/cgi-bin/", "must name a file no endpoint asks"),
        ("/cgi-bin/magicBox.cgi", "must name a file no endpoint asks"),
    ],
)
def test_a_misplaced_directory_control_is_refused(
    data_copy: Path, control: str, message: str
) -> None:
    def misplace(document: Any) -> None:
        for endpoint in document["endpoints"]:
            if endpoint["id"] == "dahua-magicbox-machinename":
                endpoint["directory_control"] = control

    edit(data_copy / "http_endpoints.yaml", misplace)
    assert message in load_error(data_copy)
