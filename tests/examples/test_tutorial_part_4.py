"""Tutorial part 4: its ``ChannelsLiveServerTestCase`` test ports by its import line, and passes.

Part 4 tests the finished chat (parts 1 to 3) end to end: ``chat/tests.py``
subclasses ``ChannelsLiveServerTestCase`` and drives two browser windows
through the site with Selenium. Here the whole site is written out as the
tutorial's reader has it, ported as the migration guide says (``_tutorial``),
and its tests run as the tutorial runs them: ``python manage.py test
chat.tests``, in a subprocess, against the test database the tutorial's
settings name.

Selenium and chromedriver are not part of this project's test environment;
Playwright and Debian's Chromium are. So ``chat/tests.py`` here is the
tutorial's test with each Selenium call replaced by its Playwright
counterpart — the same class, the same attributes, the same set-up and
tear-down, the same tests and helpers in the same order (a test checks
that) — and its callboard side, the import line, is exactly what the port
makes of the published file. One line more is Playwright's, not callboard's:
its synchronous API keeps an asyncio loop running in the test's thread, so
Django's async-safety check refuses the test case's own database calls (the
flush after each test) unless ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set, as
Playwright's Django users set it (microsoft/playwright-python#439).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from ._browser import CHROMIUM, require_browser
from ._tutorial import PART_4_TESTS, port, write_project

RUN_TIMEOUT = 120.0
"""Seconds ``manage.py test`` gets (it takes a few)."""

PART_4_TESTS_ON_PLAYWRIGHT = """\
# chat/tests.py
import os
import re

from callboard.testing import ChannelsLiveServerTestCase
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("CALLBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
# Playwright's sync API keeps an asyncio loop running in this thread, which Django's
# async-safety check takes for async code: the test's own ORM calls need this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class ChatTests(ChannelsLiveServerTestCase):
    serve_static = True  # emulate StaticLiveServerTestCase

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            # NOTE: Requires Chromium at $CALLBOARD_CHROMIUM (no chromedriver, no download)
            cls.playwright = sync_playwright().start()
            browser = cls.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            cls.driver = browser.new_context()  # its pages are Selenium's windows
            cls.window = cls.driver.new_page()
        except:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.driver.browser.close()
        cls.playwright.stop()
        super().tearDownClass()

    def test_when_chat_message_posted_then_seen_by_everyone_in_same_room(self):
        try:
            self._enter_chat_room("room_1")

            self._open_new_window()
            self._enter_chat_room("room_1")

            self._switch_to_window(0)
            self._post_message("hello")
            expect(
                self.window.locator("#chat-log"),
                "Message was not received by window 1 from window 1",
            ).to_have_value(re.compile("hello"), timeout=2_000)
            self._switch_to_window(1)
            expect(
                self.window.locator("#chat-log"),
                "Message was not received by window 2 from window 1",
            ).to_have_value(re.compile("hello"), timeout=2_000)
        finally:
            self._close_all_new_windows()

    def test_when_chat_message_posted_then_not_seen_by_anyone_in_different_room(self):
        try:
            self._enter_chat_room("room_1")

            self._open_new_window()
            self._enter_chat_room("room_2")

            self._switch_to_window(0)
            self._post_message("hello")
            expect(
                self.window.locator("#chat-log"),
                "Message was not received by window 1 from window 1",
            ).to_have_value(re.compile("hello"), timeout=2_000)

            self._switch_to_window(1)
            self._post_message("world")
            expect(
                self.window.locator("#chat-log"),
                "Message was not received by window 2 from window 2",
            ).to_have_value(re.compile("world"), timeout=2_000)
            self.assertTrue(
                "hello" not in self._chat_log_value,
                "Message was improperly received by window 2 from window 1",
            )
        finally:
            self._close_all_new_windows()

    # === Utility ===

    def _enter_chat_room(self, room_name):
        self.window.goto(self.live_server_url + "/chat/")
        self.window.keyboard.type(room_name)
        self.window.keyboard.press("Enter")
        self.window.wait_for_url(f"**/{room_name}/", timeout=2_000)
        # Playwright types faster than chromedriver: wait for the room's socket too.
        self.window.wait_for_function("chatSocket.readyState === WebSocket.OPEN", timeout=2_000)

    def _open_new_window(self):
        with self.driver.expect_page():
            self.window.evaluate('window.open("about:blank", "_blank");')
        self._switch_to_window(-1)

    def _close_all_new_windows(self):
        while len(self.driver.pages) > 1:
            self._switch_to_window(-1)
            self.window.close()
        if len(self.driver.pages) == 1:
            self._switch_to_window(0)

    def _switch_to_window(self, window_index):
        self.window = self.driver.pages[window_index]

    def _post_message(self, message):
        self.window.keyboard.type(message)
        self.window.keyboard.press("Enter")

    @property
    def _chat_log_value(self):
        return self.window.locator("#chat-log").input_value()
"""


def _import_lines(source: str) -> set[str]:
    return {
        line for line in source.splitlines() if line.startswith(("from callboard", "from channels"))
    }


def _outline(source: str) -> list[str]:
    """The test class's shape: its bases, class attributes and methods, in order."""
    (test_class,) = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    shape = [f"class {test_class.name}({', '.join(ast.unparse(b) for b in test_class.bases)})"]
    for node in test_class.body:
        if isinstance(node, ast.FunctionDef):
            decorators = "".join(f"@{ast.unparse(d)} " for d in node.decorator_list)
            shape.append(f"{decorators}def {node.name}")
        else:
            shape.append(ast.unparse(node))
    return shape


def test_the_published_part_4_test_ports_by_its_import_line() -> None:
    changed = [
        (before, after)
        for before, after in zip(
            PART_4_TESTS.splitlines(), port(PART_4_TESTS).splitlines(), strict=True
        )
        if before != after
    ]

    assert changed == [
        (
            "from channels.testing import ChannelsLiveServerTestCase",
            "from callboard.testing import ChannelsLiveServerTestCase",
        )
    ]


def test_the_playwright_version_keeps_the_tutorial_test_and_its_callboard_import() -> None:
    assert _outline(PART_4_TESTS_ON_PLAYWRIGHT) == _outline(PART_4_TESTS)
    assert _import_lines(PART_4_TESTS_ON_PLAYWRIGHT) == _import_lines(port(PART_4_TESTS))


def test_the_tutorial_chat_passes_its_part_4_tests_in_chromium(tmp_path: Path) -> None:
    require_browser()
    project = write_project(tmp_path / "mysite", tests=PART_4_TESTS_ON_PLAYWRIGHT)
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(CALLBOARD_CHROMIUM=CHROMIUM, PYTHONUNBUFFERED="1")

    done = subprocess.run(
        [sys.executable, "manage.py", "test", "chat.tests", "--noinput", "--verbosity", "2"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=RUN_TIMEOUT,
    )

    output = done.stdout
    assert done.returncode == 0, output
    assert re.search(r"^Ran 2 tests in ", output, re.MULTILINE), output
    for test in (
        "test_when_chat_message_posted_then_seen_by_everyone_in_same_room",
        "test_when_chat_message_posted_then_not_seen_by_anyone_in_different_room",
    ):
        # The server's "Running on ..." line may come between a test's name and its "ok".
        passed = rf"\(chat\.tests\.ChatTests\.{test}\) \.\.\. (.*\n)?ok$"
        assert re.search(passed, output, re.MULTILINE), output
    assert f"('{project / 'db.sqlite3'}')" in output, output  # part 4's file test database
    assert "Traceback" not in output, output
