"""Browser journeys in Debian's Chromium, driven by Playwright, against a live server."""

import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.workers import celery_worker_start, celery_worker_stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ROOT = Path(__file__).resolve().parents[2]
# `make guide` sets UPDATE_GUIDE=1 so the screenshots land in the illustrated guide.
SCREENSHOTS = ROOT / (
    "docs/guide/img" if os.environ.get("UPDATE_GUIDE") else "var/screenshots"
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls
# are still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package.")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """Console errors and CSP violations seen by one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _on_console(self, message):
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture
def make_page(browser, live_server):
    contexts = []

    def _make(*, viewport=DESKTOP, language="en"):
        context = browser.new_context(viewport=viewport, locale=language)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.problems = PageProblems(page)
        page.base_url = live_server.url
        return page

    yield _make
    for context in contexts:
        context.close()


@pytest.fixture
def celery_worker(live_server):
    """A real Celery worker process on the configured broker (Redis, or the embedded
    filesystem queue) for the live server's background work.

    The reconciliation tasks go to a queue of this test's own, so the worker never
    picks up a message another test left behind.
    """
    from outage_desk.celery import app

    queue = f"browser-{uuid.uuid4().hex[:8]}"
    routes = app.conf.task_routes
    app.conf.update(task_routes={"reconciliation.tasks.*": {"queue": queue}})
    proc = celery_worker_start(queue)
    yield proc
    app.conf.update(task_routes=routes)
    celery_worker_stop(proc)


def login(page, username: str, password: str = "pw") -> None:
    page.goto(f"{page.base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{page.base_url}/")


def set_language(page, code: str) -> None:
    page.click(f"nav button[name=language][value={code}]")
    page.wait_for_load_state()


def serious_accessibility_violations(page) -> list[str]:
    """Run axe-core in the page; return the serious and critical violations."""
    page.evaluate(AXE.read_text())
    # No preload: axe would copy the stylesheets into inline <style> elements,
    # which the strict CSP blocks (and reports as console errors).
    result = page.evaluate("async () => await axe.run(document, {preload: false})")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: "
        f"{[n['target'] for n in v['nodes']]})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_page(page, shot: str | None = None, *, full_page: bool = False) -> None:
    """Assert a page is accessible and clean, and save its screenshot for the guide.

    Screenshots show the viewport (what the user sees first), which keeps the
    guide's images small; pass full_page=True for a short page shown whole.
    """
    assert serious_accessibility_violations(page) == []
    assert page.problems.errors == []
    if shot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{shot}.png", full_page=full_page)
