"""The in-app inbox: own notices only, newest first, unread marked, paginated with a
constant number of queries, marked read one at a time or all at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.template import engines
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from linli.accounts.models import User
from linli.notifications.context import unread_count
from linli.notifications.models import Notification
from linli.notifications.services import notification_mark_read, notify
from linli.notifications.views import PAGE_SIZE
from tests.conftest import Personas, login

pytestmark = pytest.mark.django_db


def give(user: User, n: int, *, url: str = "/requests/mine/1/") -> list[Notification]:
    start = timezone.now() - timedelta(hours=n)
    rows = []
    for i in range(n):
        rows += notify(users=[user], title=f"通知 {i}", body=f"内容 {i}", url=url, email=False,
                       at=start + timedelta(minutes=i))
    return rows


def titles(response: Any) -> list[str]:
    return [n.title for n in response.context["items"]]


def test_inbox_lists_own_notices_newest_first_with_unread_marked(client: Client, personas: Personas) -> None:
    mine = give(personas.resident, 3)
    give(personas.other_resident, 2)
    notification_mark_read(user=personas.resident, ids=[mine[0].pk])
    response = login(client, personas.resident).get(reverse("notifications:inbox"))
    assert response.status_code == 200
    assert titles(response) == ["通知 2", "通知 1", "通知 0"]
    assert response.context["unread"] == 2
    body = response.content.decode()
    assert body.count(">未读</span>") == 2 and "2 条未读" in body
    assert 'href="/requests/mine/1/"' in body
    unread = client.get(reverse("notifications:inbox"), {"show": "unread"})
    assert titles(unread) == ["通知 2", "通知 1"]


def test_inbox_queries_do_not_grow_with_the_page(client: Client, personas: Personas,
                                                 django_assert_num_queries: Any,
                                                 django_assert_max_num_queries: Any) -> None:
    login(client, personas.staff)
    give(personas.staff, 2)
    client.get(reverse("notifications:inbox"))  # warm the session
    with django_assert_max_num_queries(8) as small:
        client.get(reverse("notifications:inbox"))
    give(personas.staff, PAGE_SIZE * 2)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("notifications:inbox"), {"page": 2})
    assert len(response.context["items"]) == PAGE_SIZE and response.context["page"].number == 2


def test_a_link_that_leaves_the_site_is_not_shown(client: Client, personas: Personas) -> None:
    give(personas.resident, 1, url="//evil.example/x")
    give(personas.resident, 1, url="javascript:alert(1)")
    body = login(client, personas.resident).get(reverse("notifications:inbox")).content.decode()
    assert "evil.example" not in body and "javascript:" not in body


def test_mark_one_read(client: Client, personas: Personas) -> None:
    first, second = give(personas.resident, 2)
    login(client, personas.resident)
    response = client.post(reverse("notifications:mark_read"), {"id": second.pk, "page": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("notifications:inbox") + "?page=1"
    assert Notification.objects.get(pk=second.pk).read_at is not None
    assert Notification.objects.get(pk=first.pk).read_at is None
    # "查看" marks it read and opens what it is about.
    response = client.post(reverse("notifications:mark_read"), {"id": first.pk, "go": "1"})
    assert response.status_code == 302 and response["Location"] == "/requests/mine/1/"
    assert Notification.objects.get(pk=first.pk).read_at is not None


def test_mark_read_with_htmx_swaps_the_item(client: Client, personas: Personas) -> None:
    (notice,) = give(personas.resident, 1)
    login(client, personas.resident)
    response = client.post(reverse("notifications:mark_read"), {"id": notice.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li id="notification-{notice.pk}"') and "已读" in body and "<html" not in body
    (other,) = give(personas.resident, 1)
    response = client.post(reverse("notifications:mark_read"), {"id": other.pk, "go": "1"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Redirect"] == "/requests/mine/1/"


def test_another_persons_notice_is_404_and_untouched(client: Client, personas: Personas) -> None:
    (theirs,) = give(personas.other_resident, 1)
    for persona in ("resident", "staff", "auditor"):
        response = login(Client(), getattr(personas, persona)).post(reverse("notifications:mark_read"),
                                                                      {"id": theirs.pk})
        assert response.status_code == 404, persona
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    login(client, personas.resident)
    for bad in ("", "abc", "-1", "9" * 30):
        assert client.post(reverse("notifications:mark_read"), {"id": bad}).status_code == 400
    assert client.get(reverse("notifications:mark_read")).status_code == 405


def test_read_only_staff_still_keep_their_own_inbox(client: Client, personas: Personas) -> None:
    # An auditor reads scope data without changing it; their own inbox is theirs to tidy.
    (notice,) = give(personas.auditor, 1)
    login(client, personas.auditor)
    assert client.get(reverse("notifications:inbox")).status_code == 200
    assert client.post(reverse("notifications:mark_read"), {"id": notice.pk}).status_code == 302
    assert Notification.objects.get(pk=notice.pk).read_at is not None


def test_mark_all_read_touches_only_ones_own(client: Client, personas: Personas) -> None:
    give(personas.resident, 3)
    give(personas.other_resident, 2)
    response = login(client, personas.resident).post(reverse("notifications:mark_all_read"), follow=True)
    assert "已将 3 条消息标为已读" in response.content.decode()
    assert not Notification.objects.filter(user=personas.resident, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=personas.other_resident, read_at__isnull=True).count() == 2


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, db: None) -> None:
    for name, method in (("notifications:inbox", "get"), ("notifications:mark_all_read", "post")):
        response = getattr(client, method)(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unread_count_context_processor(personas: Personas, django_assert_num_queries: Any) -> None:
    give(personas.staff, 4)
    notification_mark_read(user=personas.staff, ids=[Notification.objects.filter(user=personas.staff).first().pk])
    request = RequestFactory().get("/")
    request.user = personas.staff
    context = unread_count(request)
    template = engines["django"].from_string(
        "{% with n=unread_notifications %}{{ n }}/{{ n }}{% endwith %}{{ unread_notifications }}")
    with django_assert_num_queries(1):  # counted once, however often it is shown
        assert template.render(context) == "3/33"
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    assert unread_count(request) == {"unread_notifications": 0}


def test_badge_template(client: Client, personas: Personas) -> None:
    give(personas.staff, 2)
    request = RequestFactory().get("/")
    request.user = personas.staff
    html = engines["django"].get_template("notifications/badge.html").render({
        "user": personas.staff, **unread_count(request)})
    assert reverse("notifications:inbox") in html and ">2<" in html
