"""The chat example in a real browser: headless Chromium driven by Playwright.

Debian's ``chromium`` is launched through Playwright's Python package (its
bundled driver, no browser download; see ``_browser``). The site is a real
``runserver`` process (the package's ``chat_site``), so this test is
synchronous: the browser part needs no event loop of ours. Screenshots go to
``test-artifacts/browser/`` — also of every open page when the test fails.

Without Chromium (or Playwright) the test is skipped, saying why; with
``CALLBOARD_REQUIRE_SERVICES`` set (CI) it fails instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from ._site import PASSWORD, REPOSITORY, SiteProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = REPOSITORY / "test-artifacts" / "browser"
"""Where screenshots go (git ignores ``test-artifacts/``)."""
VIEWPORT = {"width": 1100, "height": 680}
EXPECT_TIMEOUT = 10_000
"""Milliseconds an expectation waits for the page to catch up."""


@contextmanager
def open_browser() -> Iterator[Browser]:
    """Headless Chromium for the block: skip or fail first if there is none."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Pages:
    """The pages a test opened: each in its own browser context (its own cookies)."""

    def __init__(self, browser: Browser, site: SiteProcess) -> None:
        self.browser = browser
        self.site = site
        self.open: dict[str, Page] = {}
        self.errors: list[str] = []

    def visit(self, name: str, path: str, *, user: str | None = None) -> Page:
        """Open ``path`` in a fresh context, first logging in as ``user`` if given."""
        page = self.browser.new_context(viewport=VIEWPORT).new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{name}: {error}"))
        self.open[name] = page
        if user is None:
            page.goto(self.site.url + path)
            return page
        page.goto(f"{self.site.url}/accounts/login/?next={path}")
        page.fill("#id_username", user)
        page.fill("#id_password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(self.site.url + path)
        return page

    def close(self, name: str) -> None:
        """Close a page as a user closes its tab."""
        self.open.pop(name).close()

    def screenshot(self, page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    @contextmanager
    def screenshots_on_failure(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            for name, page in self.open.items():
                self.screenshot(page, f"failure-{name}")
            raise


def _names(page: Page) -> Any:
    from playwright.sync_api import expect

    return expect(page.locator("#presence .name"))


def test_two_pages_chat_a_third_sees_the_history_and_closing_one_updates_who_is_here(
    chat_site: SiteProcess, room: str
) -> None:
    with open_browser() as browser:
        _chat_in_three_pages(Pages(browser, chat_site), room)


def _chat_in_three_pages(pages: Pages, room: str) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chat_site = pages.site
    path = f"/chat/{room}/"
    with pages.screenshots_on_failure():
        alice = pages.visit("alice", "/chat/", user="alice")
        alice.fill("#room-name-input", room)  # the tutorial's way in: the index page
        alice.press("#room-name-input", "Enter")
        alice.wait_for_url(chat_site.url + path)
        bob = pages.visit("bob", path, user="bob")
        for page in (alice, bob):
            expect(page.locator("#connection-status")).to_have_text("connected")
            _names(page).to_have_text(["alice", "bob"])

        alice.fill("#chat-message-input", "Hello from Alice's browser!")
        alice.press("#chat-message-input", "Enter")
        for page in (alice, bob):
            expect(page.locator("#chat-log .message .text")).to_have_text(
                ["Hello from Alice's browser!"]
            )
            expect(page.locator("#chat-log .message .author")).to_have_text(["alice"])
        expect(alice.locator("#chat-message-input")).to_have_value("")
        bob.fill("#chat-message-input", "Hi Alice, Bob here.")
        bob.click("#chat-message-submit")
        expect(alice.locator("#chat-log .message .author")).to_have_text(["alice", "bob"])
        pages.screenshot(alice, "1-alice-and-bob-chatting")

        guest = pages.visit("guest", path)
        expect(guest.locator("#chat-log .message .text")).to_have_text(
            ["Hello from Alice's browser!", "Hi Alice, Bob here."]
        )
        expect(guest.locator("#chat-log .message .author")).to_have_text(["alice", "bob"])
        expect(guest.locator("#chat-message-input")).to_have_count(0)
        expect(guest.locator(".composer-guest")).to_contain_text("Log in to post messages.")
        for page in (alice, bob, guest):
            _names(page).to_have_text(["alice", "bob", "guest"])
        pages.screenshot(guest, "2-guest-sees-the-history")

        pages.close("bob")
        for page in (alice, guest):
            _names(page).to_have_text(["alice", "guest"])
        pages.screenshot(alice, "3-bob-closed-his-page")

        alice.goto(chat_site.url + "/chat/")
        expect(alice.locator(".rooms")).to_contain_text(f"# {room}")
        pages.screenshot(alice, "4-room-index")

    assert pages.errors == []
