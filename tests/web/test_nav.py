from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linli.accounts.models import Role
from linli.accounts.services import role_grant
from tests.conftest import Personas, Tree, login, make_user
from tests.web.pages import read

HOME = "首页"
SETTINGS = "设置"
MY_DATA = "我的信息"
RESIDENTS = "居民档案"
CORRECTIONS = "更正申请"
IMPORT = "数据导入"
PLACES = "地点"
AUDIT = "审计日志"
ADMIN = "管理后台"
REPORT = "反映问题"
MY_REQUESTS = "我的诉求"
QUEUE = "诉求工作台"
RATES = "三率考核"
RANKING = "社区排名"
INBOX = "消息"
SURVEYS = "调查问卷"
MY_SURVEYS = "我的问卷"
SATISFACTION = "满意度分析"
PROPOSALS = "居民提议"
DESK = "议事协商"
PUBLIC_RECORD = "议事公开"
VOTES = "投票表决"
RESULTS = "公开结果"


def nav_of(client: Client) -> list[str]:
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    return read(response.content).nav_labels


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("resident", [HOME, REPORT, MY_REQUESTS, MY_DATA, MY_SURVEYS, PROPOSALS, PUBLIC_RECORD, VOTES, RESULTS, INBOX,
                      SETTINGS]),
        ("grid_worker", [HOME, QUEUE, DESK, PUBLIC_RECORD, VOTES, RESULTS, RESIDENTS, CORRECTIONS, PLACES, INBOX,
                         SETTINGS]),
        ("staff", [HOME, QUEUE, RATES, SURVEYS, SATISFACTION, DESK, PUBLIC_RECORD, VOTES, RESULTS, RESIDENTS,
                   CORRECTIONS, IMPORT, PLACES, INBOX, SETTINGS]),
        ("lead", [HOME, QUEUE, RATES, SURVEYS, SATISFACTION, DESK, PUBLIC_RECORD, VOTES, RESULTS, RESIDENTS,
                  CORRECTIONS, IMPORT, PLACES, AUDIT, INBOX, SETTINGS]),
        ("street_supervisor", [HOME, QUEUE, RATES, RANKING, SURVEYS, SATISFACTION, DESK, PUBLIC_RECORD, VOTES,
                               RESULTS, RESIDENTS, CORRECTIONS, PLACES, AUDIT, INBOX, SETTINGS]),
        ("auditor", [HOME, QUEUE, RATES, SURVEYS, SATISFACTION, DESK, PUBLIC_RECORD, VOTES, RESULTS, RESIDENTS,
                     CORRECTIONS, PLACES, AUDIT, INBOX, SETTINGS]),
        ("partner", [HOME, QUEUE, PUBLIC_RECORD, RESULTS, INBOX, SETTINGS]),
        ("outsider", [HOME, PUBLIC_RECORD, RESULTS, INBOX, SETTINGS]),
    ],
)
def test_navigation_follows_the_roles_held(client: Client, personas: Personas, persona: str, expected: list[str]) -> None:
    login(client, getattr(personas, persona))
    assert nav_of(client) == expected


def test_signed_out_navigation_is_public_only(client: Client, db: None) -> None:
    assert nav_of(client) == [HOME, PUBLIC_RECORD, RESULTS, SETTINGS]


def test_staff_owing_the_second_factor_are_offered_no_staff_pages(client: Client, personas: Personas) -> None:
    client.force_login(personas.staff)  # password given, one-time code not yet
    response = client.get(reverse("web:settings"))  # reachable before the second factor
    assert response.status_code == 200
    assert read(response.content).nav_labels == [HOME, PUBLIC_RECORD, RESULTS, SETTINGS]


def test_superuser_also_sees_the_audit_log_and_the_admin(client: Client, superuser: object) -> None:
    login(client, superuser)  # type: ignore[arg-type]
    assert nav_of(client) == [HOME, PUBLIC_RECORD, RESULTS, AUDIT, INBOX, SETTINGS, ADMIN]


def test_current_page_is_marked(client: Client, personas: Personas) -> None:
    login(client, personas.resident)
    response = client.get(reverse("web:settings"))
    assert f'<a href="{reverse("web:settings")}" aria-current="page">' in response.content.decode()
    assert f'<a href="{reverse("web:home")}" aria-current="page">' not in response.content.decode()


def test_every_nav_entry_leads_somewhere_the_role_may_go(client: Client, personas: Personas) -> None:
    """A link in the navigation never ends in a 403 or 404 for whoever sees it."""
    for persona in ("resident", "grid_worker", "staff", "lead", "street_supervisor", "auditor", "partner"):
        client.logout()
        login(client, getattr(personas, persona))
        page = read(client.get(reverse("web:home")).content)
        nav_urls = [u for u in page.links if u.startswith("/") and not u.startswith("/static/")]
        for url in set(nav_urls):
            assert client.get(url).status_code == 200, (persona, url)


def test_elder_mode_keeps_the_top_bar_short_but_home_lists_everything(client: Client, personas: Personas) -> None:
    login(client, personas.lead)
    client.cookies["linli_elder"] = "1"
    page = read(client.get(reverse("web:home")).content)
    assert page.nav_labels == [HOME, SETTINGS]
    assert page.tile_labels == [QUEUE, RATES, SURVEYS, SATISFACTION, DESK, PUBLIC_RECORD, VOTES, RESULTS, RESIDENTS,
                                CORRECTIONS, IMPORT, PLACES, AUDIT, INBOX, SETTINGS]


def test_home_names_each_role_and_place(client: Client, personas: Personas, tree: Tree) -> None:
    login(client, personas.staff)
    body = client.get(reverse("web:home")).content.decode()
    assert "社区工作者" in body
    assert "樱花园社区" in body


def test_home_looks_places_up_in_one_query_whatever_the_number_of_grants(client: Client, tree: Tree) -> None:
    user = make_user("many_hats", Role.COMMUNITY_STAFF, tree.community)
    login(client, user)
    client.get(reverse("web:home"))  # warm the session

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("web:home")).status_code == 200
        return len(queries)

    one = count()
    for role, place in ((Role.GRID_WORKER, tree.grid), (Role.AUDITOR, tree.other_community), (Role.RESIDENT, tree.household)):
        role_grant(user=user, role=role, place=place)
    many = count()
    assert many == one
    body = client.get(reverse("web:home")).content.decode()
    for label in ("社区工作者", "网格员", "监督审计", "居民", "樱花园社区", "第一网格", "和平里社区", "502室"):
        assert label in body
