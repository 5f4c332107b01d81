from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from linli.accounts.services import user_create
from linli.people.models import Resident
from linli.people.services import correction_request_create
from tests.conftest import login
from tests.people.conftest import MY_HEALTH, MY_ID, MY_PHONE, People

pytestmark = pytest.mark.django_db


def test_admin_never_shows_sensitive_values_and_changes_nothing(client: Client, people: People) -> None:
    correction_request_create(resident=people.me, field="phone", requested_value="13511112222", by=None)
    admin = user_create(username="root", password="x-very-long-password-1", is_superuser=True)
    login(client, admin)
    pages = [
        reverse("admin:people_resident_changelist"),
        reverse("admin:people_resident_change", args=[people.me.pk]),
        reverse("admin:people_correctionrequest_changelist"),
        reverse("admin:people_correctionrequest_change", args=[people.me.corrections.get().pk]),
    ]
    for url in pages:
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 200, url
        for plain in (MY_ID, MY_PHONE, MY_HEALTH, "13511112222"):
            assert plain not in body, url
    assert "王秀英" in client.get(pages[0]).content.decode()
    response = client.post(pages[1], {"name": "改名"})
    assert response.status_code == 403
    assert Resident.objects.get(pk=people.me.pk).name == "王秀英"
    assert client.get(reverse("admin:people_resident_add")).status_code == 403
