from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from linli.accounts.models import User
from linli.audit.models import AuditEvent
from linli.places.models import Place, PlaceKind
from tests.conftest import Tree

pytestmark = pytest.mark.django_db



def test_changelist_search_and_filter(admin_client: Client, tree: Tree) -> None:
    url = reverse("admin:places_place_changelist")
    response = admin_client.get(url, {"q": "樱花园"})
    assert response.status_code == 200
    assert [p.code for p in response.context["cl"].result_list] == ["c1"]
    response = admin_client.get(url, {"q": "h3"})
    assert [p.code for p in response.context["cl"].result_list] == ["h3"]
    response = admin_client.get(url, {"kind__exact": "grid"})
    assert {p.code for p in response.context["cl"].result_list} == {"g1", "g2", "g3"}


def test_add_goes_through_the_service(admin_client: Client, tree: Tree, admin_user: User) -> None:
    response = admin_client.post(reverse("admin:places_place_add"), {
        "parent": tree.unit.pk, "kind": PlaceKind.HOUSEHOLD, "name": "702", "code": "h7",
        "region": "", "households_count": 0,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    place = Place.objects.get(code="h7")
    assert place.path.startswith(tree.unit.path) and len(place.path) == len(tree.household.path)
    assert place.depth == 6
    assert place.address == "朝阳区和平街道樱花园社区3号楼2单元702室"
    assert place.community_id == tree.community.pk
    assert AuditEvent.objects.filter(action="place.create", object_id=str(place.pk), actor_id=admin_user.pk).exists()


def test_add_refuses_a_kind_that_does_not_fit(admin_client: Client, tree: Tree) -> None:
    response = admin_client.post(reverse("admin:places_place_add"), {
        "parent": tree.community.pk, "kind": PlaceKind.HOUSEHOLD, "name": "702", "code": "h7",
        "region": "", "households_count": 0,
    })
    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    assert not Place.objects.filter(code="h7").exists()


def test_change_renames_through_the_service(admin_client: Client, tree: Tree) -> None:
    url = reverse("admin:places_place_change", args=[tree.community.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "path" not in form.fields and "address" not in form.fields and "depth" not in form.fields
    response = admin_client.post(url, {
        "parent": tree.street.pk, "name": "玉兰园社区", "region": "", "households_count": 1500,
        "is_active": "on", "path": "hacked", "address": "hacked",
    })
    assert response.status_code == 302
    community = Place.objects.get(pk=tree.community.pk)
    assert community.name == "玉兰园社区" and community.households_count == 1500
    assert community.path == tree.community.path
    assert Place.objects.get(pk=tree.household.pk).address == "朝阳区和平街道玉兰园社区3号楼2单元502室"
    assert AuditEvent.objects.filter(action="place.rename", object_id=str(tree.community.pk)).exists()


def test_change_can_move_within_the_community(admin_client: Client, tree: Tree) -> None:
    url = reverse("admin:places_place_change", args=[tree.building.pk])
    response = admin_client.post(url, {
        "parent": tree.other_grid.pk, "name": "3号楼", "region": "", "households_count": 0, "is_active": "on",
    })
    assert response.status_code == 302
    assert Place.objects.get(pk=tree.household.pk).path.startswith(tree.other_grid.path)
    far_grid = Place.objects.get(code="g3")
    response = admin_client.post(url, {
        "parent": far_grid.pk, "name": "3号楼", "region": "", "households_count": 0, "is_active": "on",
    })
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors


def test_no_delete_but_deactivate(admin_client: Client, tree: Tree) -> None:
    assert admin_client.get(reverse("admin:places_place_delete", args=[tree.grid.pk])).status_code == 403
    response = admin_client.post(reverse("admin:places_place_changelist"), {
        "action": "deactivate", "_selected_action": [tree.grid.pk],
    })
    assert response.status_code == 302
    assert not Place.objects.below(tree.grid).active().exists()


def test_admin_needs_the_second_factor(client: Client, tree: Tree, admin_user: User) -> None:
    client.force_login(admin_user)
    response = client.get(reverse("admin:places_place_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor"))
