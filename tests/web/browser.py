"""A real browser for page tests: headless Debian chromium driven by Playwright, each person
signed in through the sign-in form, every page photographed and checked with axe-core.

``Screens.take`` saves a full-page screenshot and runs axe-core (injected by Playwright from
axe-playwright-python's bundled copy, through ``page.evaluate``, so the pages' CSP stays as
it is); ``Screens.assert_accessible`` fails naming every serious or critical violation and
the page it was on. Modules using this mark themselves with ``needs_browser``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: axe-core impact levels that fail a page
BLOCKING = ("serious", "critical")

needs_browser = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"browser tests need Debian's chromium at {CHROMIUM} (scripts/system-packages "
                              "installs it when run as root)"),
]


def sync_api() -> Any:
    return pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (the dev extra)")


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One headless chromium for the package: defined once (``tests/web/conftest.py``), since
    Playwright's sync API allows one running instance per thread."""
    with sync_api().sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Screens:
    """Numbered full-page screenshots, each page's HTML kept for confidentiality checks, and
    each page's axe-core violations."""

    def __init__(self, folder: Path, *, axe: bool = True) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.pages: list[str] = []
        self.problems: list[str] = []
        self.violations: list[str] = []
        self.checked: list[str] = []
        self._axe: Any = None
        if axe:
            from axe_playwright_python.sync_playwright import Axe
            self._axe = Axe()

    def console(self, message: Any) -> None:
        # a refused page (403/404) and the absent favicon log "Failed to load resource"
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(message.text)

    def take(self, page: Any, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)
        self.pages.append(page.content())
        if self._axe is not None:
            self.check(page, name)

    def check(self, page: Any, name: str) -> None:
        """Run axe-core on the page as it is now; keep every serious or critical violation."""
        results = self._axe.run(page, options={"resultTypes": ["violations"]})
        self.checked.append(name)
        for violation in results.response["violations"]:
            if violation.get("impact") in BLOCKING:
                targets = "; ".join(" ".join(n["target"]) for n in violation["nodes"][:3])
                self.violations.append(f"{name} ({page.url}): {violation['impact']} {violation['id']}: "
                                       f"{violation['help']} at {targets}")

    def assert_accessible(self) -> None:
        assert self.checked, "no page was checked"
        assert self.violations == [], "\n".join(self.violations)


class Person:
    """One user at their own browser (own cookies), signed in through the sign-in form."""

    def __init__(self, chromium: Any, server: Any, user: str, screens: Screens) -> None:
        self.context = chromium.new_context(base_url=server.base, accept_downloads=True,
                                            viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.on("console", screens.console)
        self.screens = screens
        self.visited: list[str] = []
        self.page.on("framenavigated", lambda frame: self.visited.append(frame.url))
        self.page.goto("/")
        self.page.fill("#token", server.tokens[user])
        self.page.get_by_role("button", name="Sign in").click()
        sync_api().expect(self.page.locator("header .who")).to_contain_text(user)

    def shot(self, name: str) -> None:
        self.screens.take(self.page, name)

    def close(self) -> None:
        self.context.close()
