"""The owners' roll over HTTP and its preview: the file is previewed (owners as the law
counts them, total area, the first rows, every bad row) without storing anything, then
exactly the previewed file is imported; owners are linked to the accounts they vote with."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from linli.deliberation.models import Owner, OwnerRoll, OwnerUnit
from linli.deliberation.owner_roll import owner_roll_preview
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import csv_upload
from tests.deliberation.test_vote_views_support import HTMX, as_user, queries, text

REGISTER = [
    ["房屋", "业主", "建筑面积", "未售"],
    ["1-101", "张三", "89.37", ""],
    ["1-102", "张三", "60.5", ""],  # a second unit of the same buyer: one owner
    ["1-201", "李四、王五", "100", ""],
    ["1-202", "", "120", "是"],  # the developer's unsold units: together one owner
    ["1-301", "", "80", "是"],
]


def test_preview_counts_owners_as_the_law_does_and_stores_nothing(tree: Tree, personas: Personas) -> None:
    preview = owner_roll_preview(place=tree.community, by=personas.staff, upload=csv_upload(REGISTER))
    assert (preview.rows, preview.units, preview.owners, preview.developer_units) == (5, 5, 3, 2)
    assert preview.total_area == 4498700 and preview.ok and preview.errors == []
    assert preview.sample[0] == (2, "1-101", "张三", 893700, False)
    assert len(preview.sha256) == 64
    assert not OwnerRoll.objects.exists() and not OwnerUnit.objects.exists()
    bad = owner_roll_preview(place=tree.community, by=personas.staff, upload=csv_upload(
        [*REGISTER, ["1-101", "赵六", "70"], ["1-401", "钱七", "七十"]]))
    assert not bad.ok and [(e.row, e.reason) for e in bad.errors] == [
        (7, "房屋与第 2 行重复"), (8, "面积不是有效数字（最多四位小数）")]
    with pytest.raises(PermissionDenied):
        owner_roll_preview(place=tree.community, by=personas.auditor, upload=csv_upload(REGISTER))


def _form(personas_tree: Tree, rows: list[list[str]], **extra: str) -> dict[str, object]:
    return {"place": personas_tree.community.pk, "name": "", "developer_name": "", "file": csv_upload(rows), **extra}


def test_import_previews_first_then_imports_the_same_file(tree: Tree, personas: Personas) -> None:
    client = as_user(personas.staff)
    url = reverse("votes:owner_roll_import")
    assert client.get(url).status_code == 200
    # HTMX: only the preview comes back, under the form, with the file's fingerprint.
    response = client.post(url, {**_form(tree, REGISTER), "step": "preview"}, **HTMX)
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert "预览：可以导入" in body and "<strong>3</strong>" in body and "449.87" in body
    sha = owner_roll_preview(place=tree.community, by=personas.staff, upload=csv_upload(REGISTER)).sha256
    assert f'name="previewed" value="{sha}"' in body
    assert not OwnerRoll.objects.exists()
    # Importing a file other than the one previewed is refused.
    other = [*REGISTER, ["1-401", "钱七", "70"]]
    response = client.post(url, {**_form(tree, other), "step": "import", "previewed": sha})
    assert response.status_code == 400 and "预览过的同一文件" in text(response)
    assert not OwnerRoll.objects.exists()
    response = client.post(url, {**_form(tree, REGISTER, name="樱花园业主名册"), "step": "import", "previewed": sha})
    roll = OwnerRoll.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("votes:owner_roll", args=[roll.pk])
    assert (roll.name, roll.owners_count, roll.units_count) == ("樱花园业主名册", 3, 5)


def test_bad_rows_are_listed_with_their_numbers_and_nothing_is_imported(tree: Tree, personas: Personas) -> None:
    client = as_user(personas.staff)
    rows = [*REGISTER, ["", "赵六", "70"], ["1-401", "钱七", "0"]]
    response = client.post(reverse("votes:owner_roll_import"), {**_form(tree, rows), "step": "preview"})
    body = text(response)
    assert response.status_code == 400 and "有问题的行，不能导入" in body
    assert "缺少房屋" in body and "面积须大于 0" in body and "确认导入" not in body
    response = client.post(reverse("votes:owner_roll_import"), {**_form(tree, [["名字", "年龄"], ["张三", "3"]]),
                                                                "step": "preview"})
    assert response.status_code == 400 and "找不到表头" in text(response)
    assert not OwnerRoll.objects.exists()


def test_import_is_for_those_who_manage(tree: Tree, personas: Personas) -> None:
    url = reverse("votes:owner_roll_import")
    for user in (personas.auditor, personas.grid_worker, personas.street_supervisor, personas.resident):
        assert as_user(user).get(url).status_code == 403, user
    response = as_user(personas.staff).post(url, {**_form(tree, REGISTER, place=str(tree.other_community.pk)),
                                                  "step": "preview"})
    assert response.status_code == 400 and not OwnerRoll.objects.exists()


def test_roll_page_links_owners_to_accounts(tree: Tree, personas: Personas) -> None:
    from linli.deliberation import services

    roll = services.owner_roll_import(place=tree.community, by=personas.staff, upload=csv_upload(REGISTER)).roll
    assert roll is not None
    staff = as_user(personas.staff)
    url = reverse("votes:owner_roll", args=[roll.pk])
    body = text(staff.get(url))
    assert "张三" in body and "149.87" in body and "建设单位未售出" in body
    owner = Owner.objects.get(roll=roll, name="张三")
    response = staff.post(reverse("votes:owner_link", args=[owner.pk]), {"username": "nobody"}, follow=True)
    assert "没有账号“nobody”" in text(response)
    staff.post(reverse("votes:owner_link", args=[owner.pk]), {"username": personas.resident.username})
    owner.refresh_from_db()
    assert owner.user == personas.resident
    assert "李四" not in text(staff.get(url, {"linked": "yes"}))
    staff.post(reverse("votes:owner_link", args=[owner.pk]), {"username": ""})
    owner.refresh_from_db()
    assert owner.user is None
    # Readers see the roll but cannot link; outsiders do not see it.
    auditor = as_user(personas.auditor)
    assert auditor.get(url).status_code == 200
    assert auditor.post(reverse("votes:owner_link", args=[owner.pk]), {"username": "x"}).status_code == 403
    assert as_user(personas.outside_staff).get(url).status_code == 404
    assert as_user(personas.outside_staff).post(reverse("votes:owner_link", args=[owner.pk])).status_code == 404
    # The page costs the same however many owners it shows.
    staff.get(url)  # the messages of the posts above are shown (and cleared) here
    one = queries(staff, url)
    more = services.owner_roll_import(place=tree.community, by=personas.staff, upload=csv_upload(
        [*REGISTER, *[[f"2-{i}", f"业主{i}", "50"] for i in range(10)]])).roll
    assert more is not None
    assert queries(staff, reverse("votes:owner_roll", args=[more.pk])) == one
    lists = text(staff.get(reverse("votes:owner_rolls")))
    assert roll.name in lists and "导入业主名册" in lists
