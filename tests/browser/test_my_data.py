"""A resident sees their own data, masked on screen, and downloads all of it (PIPL Art. 45)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_signin import fill_sign_in
from tests.conftest import Personas, Tree
from tests.web import catalogue

pytestmark = pytest.mark.browser


def test_resident_views_and_downloads_their_data(page: Page, personas: Personas, tree: Tree) -> None:
    catalogue.register_resident(tree, personas)
    fill_sign_in(page, catalogue.PHONE)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的信息").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的信息")
    main = page.locator("main")
    expect(main).to_contain_text("王秀英")
    expect(main).to_contain_text("138****8000")
    # Nothing sensitive in plain text on the screen until asked for.
    expect(main).not_to_contain_text(catalogue.PHONE)
    expect(main).not_to_contain_text(catalogue.ID_NUMBER)
    expect(main).not_to_contain_text("高血压")
    screenshot(page, "my-data-resident-phone")

    link = page.locator(f'a[href="{reverse("people:my_data_download")}"]')
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".json")
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["resident"]["name"] == "王秀英"
    assert data["resident"]["phone"] == catalogue.PHONE
    assert data["resident"]["id_number"] == catalogue.ID_NUMBER
    assert data["resident"]["health"] == "高血压"
    assert "李建国" in [m["name"] for m in data["household_members"]]
    assert data["consents"][0]["purpose"] == "社区养老服务联系"


def test_a_resident_cannot_download_someone_elses_data(page: Page, personas: Personas, tree: Tree) -> None:
    catalogue.register_resident(tree, personas)
    fill_sign_in(page, "other_resident")  # holds a resident role but has no record linked
    response = page.request.get(reverse("people:my_data_download"))
    assert response.status == 404
    page.goto(reverse("people:my_data"))
    expect(page.locator("main")).not_to_contain_text("王秀英")
