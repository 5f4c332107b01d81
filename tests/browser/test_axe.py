"""axe-core on every page linli serves, as the persona who opens it, in standard and
elder mode: no serious or critical violation, no request to another host, no CSP
violation. Screenshots of each page land in test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import (
    DESKTOP,
    Watch,
    new_context,
    run_axe,
    screenshot,
    sign_in_as,
)
from tests.conftest import Personas, Tree
from tests.web import catalogue
from tests.web.conftest import superuser  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser

# Pages photographed (on a phone; the first few on a desktop screen too) for people to look at.
DESKTOP_PAGES = {"web:home", "people:my_data", "people:resident_list", "places:tree", "audit:log"}
MAIN_PAGES = DESKTOP_PAGES | {
    "web:settings", "accounts:login", "accounts:two_factor", "people:resident_detail", "people:import", "places:detail",
}
# Django's own admin widgets fail these upstream (select2's autocomplete box has no name;
# the two-list permission picker puts aria-label on a bare <span>; the date widget's
# "Today" shortcut has an English aria-label around translated text). linli's admin forms
# keep them; everything else on admin pages must pass.
ADMIN_UPSTREAM_RULES = {"aria-input-field-name", "aria-prohibited-attr", "label-content-name-mismatch"}
ADMIN_OWN_PAGES = {"admin:index", "admin:password_change"}
BROKEN_IMAGES = "[...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.alt || i.src.slice(0, 60))"


def _user(sample: catalogue.Sample, persona: str) -> Any:
    if persona == "superuser":
        return sample.superuser
    if persona == "pending":
        return sample.personas.staff
    return getattr(sample.personas, persona)


@pytest.mark.parametrize("mode", ["standard", "elder"])
def test_every_page_passes_axe(
    browser: Browser, live_server: Any, watch: Watch, transactional_db: None, tree: Tree, personas: Personas,
    superuser: Any, mode: str,  # noqa: F811
) -> None:
    sample = catalogue.Sample(tree, personas, superuser, catalogue.register_resident(tree, personas))
    cases = [c for c in catalogue.pages(sample) if c.full_page]
    # The home page differs most by role: see it as a resident and as staff too.
    cases += [catalogue.PageCase("web:home", "/", persona, True) for persona in ("resident", "staff")]
    # In the admin: its own pages and linli's models (Django's and other packages' models
    # are theirs to check). The admin does not follow linli's elder mode.
    linli_apps = {config.label for config in apps.get_app_configs() if config.name.startswith("linli.")}
    cases = [
        c for c in cases
        if not c.name.startswith("admin:")
        or (mode == "standard" and (c.name in ADMIN_OWN_PAGES or c.name.split(":")[1].split("_")[0] in linli_apps))
    ]
    assert len(cases) > 15

    contexts: dict[tuple[str, str], BrowserContext] = {}
    pages: dict[tuple[str, str], Page] = {}

    def page_for(persona: str, viewport: str) -> Page:
        """One browser tab per persona and screen, signed in as that persona."""
        key = (persona, viewport)
        if key not in pages:
            context = new_context(browser, live_server, watch, **({"viewport": DESKTOP} if viewport == "desktop" else {}))
            if persona != "anonymous":
                sign_in_as(context, live_server, _user(sample, persona), second_factor=persona != "pending")
            if mode == "elder":
                context.add_cookies([{"name": "linli_elder", "value": "1", "url": live_server.url}])
            contexts[key] = context
            pages[key] = context.new_page()
        return pages[key]

    violations: dict[str, list[dict[str, Any]]] = {}
    broken_images: dict[str, list[str]] = {}
    try:
        for case in cases:
            page = page_for(case.persona, "phone")
            response = page.goto(case.url)
            assert response is not None and response.status == 200, (case.url, case.persona)
            if mode == "elder" and not case.name.startswith("admin:"):
                assert "elder" in (page.locator("html").get_attribute("class") or ""), case.url
            broken = page.evaluate(BROKEN_IMAGES)
            if broken:
                broken_images[f"{case.url} as {case.persona}"] = broken
            found = run_axe(page)
            if case.name.startswith("admin:"):
                found = [v for v in found if v["id"] not in ADMIN_UPSTREAM_RULES]
            if found:
                violations[f"{case.url} as {case.persona}"] = found
            label = f"{mode}-{case.name.replace(':', '-')}-{case.persona}"
            if case.name in MAIN_PAGES:
                screenshot(page, f"{label}-phone")
            if mode == "standard" and case.name in DESKTOP_PAGES and case.persona != "anonymous":
                desktop = page_for(case.persona, "desktop")
                desktop.goto(case.url)
                screenshot(desktop, f"{label}-desktop")
        assert violations == {}, "\n".join(f"{where}: {found}" for where, found in violations.items())
        assert broken_images == {}, "these images do not display"
        watch.assert_clean()
    finally:
        for context in contexts.values():
            context.close()
