"""Playwright (sync API) on Debian's Chromium against pytest-django's live server.

One browser for the whole session, a fresh context (cookies, storage) per test. Every
page a test opens is watched: a request to any host but the live server, a CSP
violation or a console error fails the test.
"""

from __future__ import annotations

import os

# Playwright's sync API keeps an event loop running in the main thread; the ORM calls
# the tests make beside it are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import pytest  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

import linli.web  # noqa: E402
from linli.accounts.middleware import SESSION_2FA  # noqa: E402
from linli.accounts.models import User  # noqa: E402

CHROMIUM = os.environ.get("LINLI_CHROMIUM", "/usr/bin/chromium")
AXE = Path(linli.web.__file__).parent / "static" / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Runs before any page script, on every document; neither an init script nor an exposed
# function is subject to the page's CSP, so every violation reaches the test at once.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__linliCspViolation(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


@dataclass
class Watch:
    """What the pages of one context did that they should not have."""

    host: str
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_resources: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    def on_page(self, page: Page) -> None:
        self.pages.append(page)
        # DOMAIN §8: no pop-ups. A dialog would also hang the test, so dismiss and record it.
        page.on("dialog", lambda dialog: (self.dialogs.append(f"{dialog.type}: {dialog.message}"), dialog.dismiss()))

    def on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.host:
            self.foreign_requests.append(request.url)

    def on_response(self, response: Response) -> None:
        # A page may answer 400 (a form with errors) or 404; what it loads may not fail.
        if response.status >= 400 and response.request.resource_type != "document":
            self.failed_resources.append(f"{response.status} {response.url}")

    def on_console(self, message: ConsoleMessage) -> None:
        # Failed loads are judged by on_response, which knows a page from what it loads.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_csp_violation(self, text: str) -> None:
        self.csp_violations.append(text)

    def assert_clean(self) -> None:
        assert self.foreign_requests == [], "a page asked another host for something"
        assert self.csp_violations == [], "the Content-Security-Policy blocked something"
        assert self.dialogs == [], "a page opened a pop-up dialog"
        assert self.failed_resources == [], "a script, style or image failed to load"
        assert self.console_errors == [], "the browser console shows errors"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield browser
    browser.close()


@pytest.fixture
def watch(live_server: Any) -> Watch:
    return Watch(urlsplit(live_server.url).netloc)


def new_context(browser: Browser, live_server: Any, watch: Watch, *, viewport: dict[str, int] = PHONE) -> BrowserContext:
    # The browser says it prefers English: linli must still answer in Chinese until asked.
    context = browser.new_context(base_url=live_server.url, viewport=viewport, locale="en-US", timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    context.expose_function("__linliCspViolation", watch.on_csp_violation)
    context.add_init_script(WATCH_CSP)
    context.on("request", watch.on_request)
    context.on("console", watch.on_console)
    context.on("response", watch.on_response)
    context.on("page", watch.on_page)
    return context


@pytest.fixture
def context(browser: Browser, live_server: Any, watch: Watch, transactional_db: None) -> Iterator[BrowserContext]:
    context = new_context(browser, live_server, watch)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, watch: Watch) -> Iterator[Page]:
    page = context.new_page()
    yield page
    watch.assert_clean()


def sign_in_as(context: BrowserContext, live_server: Any, user: User, *, second_factor: bool = True) -> None:
    """Put a signed-in session (second factor given) into the browser, skipping the form."""
    client = Client()
    client.force_login(user)
    if second_factor:
        session = client.session
        session[SESSION_2FA] = True
        session.save()
    context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }])


RUN_AXE = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}
"""


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page.

    axe is loaded from linli's own static files (where ``node scripts/copy-assets.mjs``
    puts it), so the page's strict CSP lets it in like any of our scripts; the usual
    ``page.add_script_tag(path=...)`` adds an inline <script>, which the CSP refuses."""
    assert AXE.is_file(), "axe-core is missing: run `make assets` (node scripts/copy-assets.mjs)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=f"{settings.STATIC_URL}vendor/axe.min.js")
    return page.evaluate(RUN_AXE)  # type: ignore[no-any-return]


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
