from __future__ import annotations

import io

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from linli.accounts.models import Role
from linli.accounts.services import role_grant
from linli.places.models import Place, PlaceKind
from linli.places.services import place_create
from tests.conftest import Personas, Tree, login

pytestmark = pytest.mark.django_db


def _get(client: Client, name: str, *args: object, **extra: str):  # type: ignore[no-untyped-def]
    return client.get(reverse(name, args=args), **extra)


class TestTree:
    def test_scope_roots(self, client: Client, tree: Tree, personas: Personas) -> None:
        response = _get(login(client, personas.staff), "places:tree")
        assert response.status_code == 200
        assert [p.code for p in response.context["nodes"]] == ["c1"]
        body = response.content.decode()
        assert reverse("places:children", args=[tree.community.pk]) in body
        # Without JavaScript the same control is a plain link to the node's page.
        assert f'href="{reverse("places:detail", args=[tree.community.pk])}"' in body

    def test_street_supervisor_sees_the_street(self, client: Client, tree: Tree, personas: Personas) -> None:
        response = _get(login(client, personas.street_supervisor), "places:tree")
        assert [p.code for p in response.context["nodes"]] == ["s1"]
        assert response.context["can_import"]

    @pytest.mark.parametrize("who", ["resident", "outsider", "partner"])
    def test_no_place_role_is_403(self, client: Client, personas: Personas, who: str) -> None:
        assert _get(login(client, getattr(personas, who)), "places:tree").status_code == 403

    def test_anonymous_goes_to_login(self, client: Client, tree: Tree) -> None:
        response = _get(client, "places:tree")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))

    def test_constant_queries_whatever_the_number_of_roots(
        self, client: Client, tree: Tree, personas: Personas, django_assert_num_queries: object
    ) -> None:
        worker = personas.grid_worker
        login(client, worker)
        _get(client, "places:tree")  # warm up (session, content types)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as one:
            assert _get(client, "places:tree").status_code == 200
        for n in range(5):
            grid = place_create(parent=tree.other_community, kind=PlaceKind.GRID, name=f"新网格{n}", code=f"ng{n}")
            role_grant(user=worker, role=Role.GRID_WORKER, place=grid)
        with CaptureQueriesContext(connection) as many:
            response = _get(client, "places:tree")
        assert len(response.context["nodes"]) == 6
        assert len(many) == len(one)


class TestChildren:
    def test_partial(self, client: Client, tree: Tree, personas: Personas) -> None:
        response = _get(login(client, personas.staff), "places:children", tree.community.pk, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        body = response.content.decode()
        assert "<html" not in body
        assert "第一网格" in body and "第二网格" in body
        assert reverse("places:children", args=[tree.grid.pk]) in body

    def test_outside_scope_is_404(self, client: Client, tree: Tree, personas: Personas) -> None:
        login(client, personas.outside_staff)
        assert _get(client, "places:children", tree.community.pk).status_code == 404
        assert _get(client, "places:children", tree.street.pk).status_code == 404
        assert _get(client, "places:children", 999999).status_code == 404

    def test_resident_gets_404_even_for_own_household(self, client: Client, tree: Tree, personas: Personas) -> None:
        assert _get(login(client, personas.resident), "places:children", tree.unit.pk).status_code == 404


class TestDetail:
    def test_breadcrumb_children_counts(self, client: Client, tree: Tree, personas: Personas) -> None:
        response = _get(login(client, personas.staff), "places:detail", tree.grid.pk)
        assert response.status_code == 200
        crumbs = [(c["place"].code, c["linked"]) for c in response.context["crumbs"]]
        # Above the staff member's community the names show, but not as links.
        assert crumbs == [("d1", False), ("s1", False), ("c1", True), ("g1", True)]
        body = response.content.decode()
        assert reverse("places:detail", args=[tree.street.pk]) not in body
        assert reverse("places:detail", args=[tree.community.pk]) in body
        assert [n.code for n in response.context["nodes"]] == ["b1"]
        assert {row["kind"]: row["count"] for row in response.context["counts"]} == {
            "building": 1, "unit": 1, "household": 2,
        }

    def test_auditor_reads(self, client: Client, tree: Tree, personas: Personas) -> None:
        assert _get(login(client, personas.auditor), "places:detail", tree.household.pk).status_code == 200

    @pytest.mark.parametrize(("who", "code"), [("outside_staff", "c1"), ("staff", "c2"), ("staff", "s1"), ("grid_worker", "g2")])
    def test_outside_scope_is_404(self, client: Client, tree: Tree, personas: Personas, who: str, code: str) -> None:
        place = Place.objects.get(code=code)
        assert _get(login(client, getattr(personas, who)), "places:detail", place.pk).status_code == 404

    def test_constant_queries_whatever_the_number_of_children(
        self, client: Client, tree: Tree, personas: Personas
    ) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        login(client, personas.staff)
        _get(client, "places:detail", tree.unit.pk)
        with CaptureQueriesContext(connection) as few:
            _get(client, "places:detail", tree.unit.pk)
        for n in range(40):
            place_create(parent=tree.unit, kind=PlaceKind.HOUSEHOLD, name=f"{n + 700}", code=f"hh{n}")
        with CaptureQueriesContext(connection) as many:
            response = _get(client, "places:detail", tree.unit.pk)
        assert len(response.context["nodes"]) == 42
        assert len(many) == len(few)


class TestImportPage:
    def _post(self, client: Client, under: Place, content: bytes, name: str = "places.csv", **data: str):  # type: ignore[no-untyped-def]
        upload = io.BytesIO(content)
        upload.name = name
        return client.post(reverse("places:import"), {"under": under.pk, "file": upload, **data})

    def test_lead_imports_below_the_community(self, client: Client, tree: Tree, personas: Personas) -> None:
        login(client, personas.lead)
        page = client.get(reverse("places:import"))
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.content.decode()
        content = "编码,上级编码,类型,名称\ng9,,网格,第九网格\nb9,g9,楼栋,9\nbad,nowhere,楼栋,10\n".encode()
        response = self._post(client, tree.community, content)
        assert response.status_code == 200
        report = response.context["report"]
        assert (report.created, len(report.errors)) == (2, 1)
        body = response.content.decode()
        assert "nowhere" in body
        assert Place.objects.get(code="b9").address == "朝阳区和平街道樱花园社区9号楼"

    def test_dry_run(self, client: Client, tree: Tree, personas: Personas) -> None:
        login(client, personas.lead)
        response = self._post(client, tree.community, "编码,上级编码,类型,名称\ng9,,网格,第九网格\n".encode(), dry_run="on")
        assert response.context["report"].created == 1
        assert not Place.objects.filter(code="g9").exists()

    @pytest.mark.parametrize("who", ["staff", "grid_worker", "auditor", "resident", "outsider"])
    def test_other_roles_are_refused(self, client: Client, tree: Tree, personas: Personas, who: str) -> None:
        login(client, getattr(personas, who))
        assert client.get(reverse("places:import")).status_code == 403
        assert self._post(client, tree.community, b"x").status_code == 403

    def test_under_outside_scope_is_a_field_error(self, client: Client, tree: Tree, personas: Personas) -> None:
        login(client, personas.lead)
        response = self._post(client, tree.other_community, "编码,上级编码,类型,名称\ng9,,网格,九\n".encode())
        assert response.status_code == 400
        assert "under" in response.context["form"].errors
        assert not Place.objects.filter(code="g9").exists()

    def test_street_supervisor_may_choose_a_community(self, client: Client, tree: Tree, personas: Personas) -> None:
        login(client, personas.street_supervisor)
        response = self._post(client, tree.other_community, "编码,上级编码,类型,名称\ng9,,网格,九\n".encode())
        assert response.status_code == 200
        assert Place.objects.get(code="g9").parent_id == tree.other_community.pk

    @override_settings(UPLOAD_MAX_BYTES=1024)
    def test_oversized_upload(self, client: Client, tree: Tree, personas: Personas) -> None:
        login(client, personas.lead)
        response = self._post(client, tree.community, b"a" * 2048)
        assert response.status_code == 400
        assert "过大" in str(response.context["form"].errors["file"])

    @pytest.mark.parametrize(("name", "content"), [("places.exe", b"MZ"), ("places.xlsx", b"not a zip")])
    def test_wrong_type(self, client: Client, tree: Tree, personas: Personas, name: str, content: bytes) -> None:
        login(client, personas.lead)
        response = self._post(client, tree.community, content, name=name)
        assert response.status_code == 400
        assert ".xlsx" in str(response.context["form"].errors["file"])


def test_import_page_speaks_english(client: Client, tree: Tree, personas: Personas) -> None:
    from django.conf import settings

    login(client, personas.lead)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    upload = io.BytesIO(b"code,parent_code,kind,name\nx1,nowhere,building,1\n")
    upload.name = "places.csv"
    response = client.post(reverse("places:import"), {"under": tree.community.pk, "file": upload})
    assert response.status_code == 200
    assert "Parent code nowhere does not exist" in response.content.decode()
