"""A scan sent to a site nothing names is refused by the API with its JSON field as the remedy
(``send "new_site": true``) and by the console with its box (``tick "a new site"``): the
console words it from the refusal's parts (``UnknownScanSite``), not by rewriting the API's
message, so a change of the API's wording cannot leak into the page. A real store on SQLite
with a scan stored at site ``hq``, the real app; the refusal comes before anything is sent."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from pagetools import page_log_in
from webtools import GOLDEN, TestClient

from provscan.report.contract import from_contract
from provscan.store.db import open_store
from provscan.web import api


def _with_site_hq(store_url: str) -> None:
    document = from_contract(GOLDEN.read_text(encoding="utf-8"))
    scan = document.scan.model_copy(update={"id": "scan-at-hq"})
    with open_store(store_url) as store:
        store.save_document(document.model_copy(update={"scan": scan}), site="hq")


def _page_refusal(client: TestClient, token: str) -> str:
    asked = {"csrf_token": token, "targets": "127.0.0.1", "ports": "80", "site": "HQ"}
    response = client.post("/scans", data=asked, follow_redirects=False)
    assert response.status_code == 404, response.text[:300]
    return " ".join(html.unescape(response.text).split())


def _api_refusal(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post(
        "/api/v1/scans",
        json={"targets": ["127.0.0.1"], "ports": [80], "site": "HQ"},
        headers=headers,
    )
    assert response.status_code == 404, response.text
    detail: str = response.json()["detail"]
    return detail


def test_an_unknown_site_is_refused_in_the_words_of_each_audience(
    client: TestClient,
    store_url: str,
    token_for: Callable[[str], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_site_hq(store_url)
    known = "no site 'HQ': known sites: hq (site names are case-sensitive: did you mean 'hq'?)"
    # The API names its JSON field
    assert _api_refusal(client, token_for("analyst")) == (
        f'{known}; send "new_site": true to start a new site'
    )
    # and the console, the same refusal with its box, the rest word for word
    token = page_log_in(client, "analyst")
    page = _page_refusal(client, token)
    assert f'{known}; tick "a new site" to start a new site' in page
    assert "new_site" not in page.replace('name="new_site"', "")
    # When the API's words for its remedy change, the console's do not follow them
    monkeypatch.setattr(api.UnknownScanSite, "API_REMEDY", 'set "new_site" to true')
    assert _api_refusal(client, token_for("analyst")) == (
        f'{known}; set "new_site" to true to start a new site'
    )
    page = _page_refusal(client, token)
    assert f'{known}; tick "a new site" to start a new site' in page
    assert "set " not in page.split(known, 1)[1][:60]
