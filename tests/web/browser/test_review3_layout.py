"""The console's layout in a real browser at a desktop's 1280 and a small laptop's 800
pixels (third review): no page wider than the window (wide tables scroll on their own), a
day never split at its hyphens, what a device sent readable in a narrow window, and every
case state in sight above the board."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Shoot = Callable[..., Path | None]
LogIn = Callable[[str], None]

#: Every element that reaches past the window's right edge outside a scrolling container.
OUTSIDE = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const element of document.querySelectorAll("body *")) {
    if (element.getBoundingClientRect().right <= width + 1) continue;
    let parent = element.parentElement, scrolled = false;
    while (parent && !scrolled) {
      scrolled = ["auto", "scroll"].includes(getComputedStyle(parent).overflowX);
      parent = parent.parentElement;
    }
    if (!scrolled) out.push(element.tagName + (element.id ? "#" + element.id : ""));
  }
  return out.slice(0, 10);
}"""


def _lines(page: Any, selector: str) -> list[int]:
    """How many lines each element matching ``selector`` takes."""
    found: list[int] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map(element => {
          const style = getComputedStyle(element);
          const line = parseFloat(style.lineHeight) || 1.4 * parseFloat(style.fontSize);
          return Math.round(element.getBoundingClientRect().height / line);
        })""",
        selector,
    )
    return found


@pytest.mark.parametrize("width", [1280, 800])
def test_no_page_is_wider_than_the_window_and_days_stay_whole(
    page: Any, console: Any, screenshot: Shoot, log_in: LogIn, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    log_in("analyst")
    device_id = console.scalar(
        "SELECT device_id FROM inventory WHERE ip = :ip", ip=console.hostile_address
    )
    for name, url, dated in (
        ("dashboard", "/", True),
        ("devices", "/devices", True),
        ("device", f"/devices/{device_id}", True),
        ("cases", "/cases", True),
        ("scans", "/scans", True),
        ("sites", "/sites", False),
    ):
        page.goto(url)
        assert page.evaluate(OUTSIDE) == [], (url, width)
        root = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert root[0] <= root[1], (url, width, root)
        screenshot(f"review3-{name}-{width}")
        # every day shown (a case's due date, a finding's dates, when a scan ran) on one line
        days = _lines(page, ".date")
        assert set(days) <= {1} and bool(days) == dated, (url, width, days)
    # the devices table's case column: the due date whole, next to its state
    page.goto("/devices")
    cases = page.locator("#devices-table tbody td:last-child .date").all_inner_texts()
    assert cases and all(len(day) == 10 for day in cases)


def test_what_a_device_sent_stays_readable_in_a_narrow_window(
    page: Any, console: Any, log_in: LogIn
) -> None:
    log_in("viewer")
    device_id = console.scalar(
        "SELECT device_id FROM inventory WHERE ip = :ip", ip=console.hostile_address
    )
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"/devices/{device_id}")
    rem = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    widths = page.evaluate(
        "[...document.querySelectorAll('#evidence td.observed')]"
        ".map(cell => cell.getBoundingClientRect().width)"
    )
    assert widths and min(widths) >= 12 * rem, widths
    # the evidence scrolls inside its own box, the page does not
    box = page.evaluate(
        "(() => { const box = document.querySelector('#evidence').parentElement;"
        " return [box.className, box.scrollWidth > box.clientWidth]; })()"
    )
    assert box[0] == "scroll"
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # at a desktop's width the evidence fits the page with no scrolling, words unbroken
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/devices/{device_id}")
    fits = page.evaluate(
        "(() => { const box = document.querySelector('#evidence').parentElement;"
        " return box.scrollWidth <= box.clientWidth; })()"
    )
    assert fits


def test_every_case_state_is_in_sight_above_the_board(
    page: Any, console: Any, log_in: LogIn
) -> None:
    """The board's columns wrap (a sixth state stands below a long first column at a
    desktop's width): a list above the board names every state with its count, and its link
    brings that state's column into the window."""
    log_in("viewer")
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/cases")
        links = page.locator("#case-states a")
        assert links.count() == 6
        assert links.first.is_visible() and links.last.is_visible()
        open_count = console.scalar("SELECT count(*) FROM cases WHERE status = 'open'")
        assert links.first.inner_text().startswith(
            (f"open ({open_count})", f"open ({open_count}, ")
        )
        assert links.last.inner_text() == "verified ({})".format(
            console.scalar("SELECT count(*) FROM cases WHERE status = 'verified'")
        )
        links.last.click()
        page.wait_for_url("**/cases#state-verified")
        top = "document.querySelector('#state-verified').getBoundingClientRect().top"
        assert 0 <= page.evaluate(top) < 900, width
