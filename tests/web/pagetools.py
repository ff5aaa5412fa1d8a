"""Helpers of the console page tests: logging in through the form, the forms' tokens, and
what a strict CSP would block."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from webtools import PASSWORD, TestClient


class Inline(HTMLParser):
    """Collects what a strict CSP would block (script and style elements with content,
    style and event-handler attributes) and the scripts a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.scripts.append(found["src"] or "")
            else:
                self.blocked.append("script")
        elif tag == "style":
            self.blocked.append(tag)
        self.blocked += [name for name, _ in attrs if name == "style" or name.startswith("on")]
        hrefs = [value or "" for name, value in attrs if name in ("href", "src", "action")]
        self.blocked += [h for h in hrefs if h.strip().lower().startswith("javascript:")]


def inline(html: str) -> list[str]:
    parser = Inline()
    parser.feed(html)
    return parser.blocked


def scripts(html: str) -> list[str]:
    parser = Inline()
    parser.feed(html)
    return parser.scripts


class _Cells(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # inside the table's tbody when > 0
        self.rows: list[list[str]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag == "td" and self.rows:
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each body cell of the table ``table_id``, row by row."""
    parser = _Cells(table_id)
    parser.feed(html)
    return [[cell.strip() for cell in row] for row in parser.rows if row]


class _Accessible(HTMLParser):
    """Form controls without a label, tables without a caption, buttons without text."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labels: set[str] = set()
        self.tables = 0
        self.captions = 0
        self.empty_buttons = 0
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label" and found.get("for"):
            self.labels.add(found["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if found.get("type") not in ("hidden", "submit") and not found.get("aria-label"):
                self.controls.append(found.get("id") or f"<{tag} name={found.get('name')}>")
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "button":
            self._button = []

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.empty_buttons += not "".join(self._button).strip()
            self._button = None


def accessibility_problems(html: str) -> list[str]:
    """What a screen-reader user would miss: unlabelled controls, tables without a caption,
    buttons that do not say what they do."""
    parser = _Accessible()
    parser.feed(html)
    problems = [f"no label for {c}" for c in parser.controls if c not in parser.labels]
    if parser.captions < parser.tables:
        problems.append(f"{parser.tables - parser.captions} tables without a caption")
    if parser.empty_buttons:
        problems.append(f"{parser.empty_buttons} buttons without text")
    return problems


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def page_log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log ``client`` in through the login form; returns the session's form token."""
    token = form_token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return form_token(client.get("/").text)


__all__ = [
    "accessibility_problems",
    "form_token",
    "inline",
    "page_log_in",
    "scripts",
    "table_rows",
]
