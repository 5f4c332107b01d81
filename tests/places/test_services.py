from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from linli.audit.models import AuditEvent
from linli.places.models import SEGMENT, Place, PlaceKind, encode_segment, path_ids
from linli.places.services import (
    address_part,
    place_activate,
    place_create,
    place_deactivate,
    place_move,
    place_rename,
    place_set_households,
)
from tests.conftest import Tree

pytestmark = pytest.mark.django_db


def _fresh(place: Place) -> Place:
    return Place.objects.get(pk=place.pk)


class TestCreate:
    def test_paths_depths_and_community_keys(self, tree: Tree) -> None:
        assert tree.district.path == encode_segment(tree.district.pk)
        assert tree.household.path == "".join(
            encode_segment(p.pk) for p in (tree.district, tree.street, tree.community, tree.grid, tree.building,
                                           tree.unit, tree.household)
        )
        assert len(tree.household.path) == 7 * SEGMENT
        assert path_ids(tree.household.path)[-1] == tree.household.pk
        assert [tree.district.depth, tree.street.depth, tree.household.depth] == [0, 1, 6]
        assert tree.district.community_id is None
        assert tree.community.community_id == tree.community.pk
        assert _fresh(tree.household).community_id == tree.community.pk
        assert _fresh(tree.far_household).community_id == tree.other_community.pk

    def test_chinese_address_skips_grids(self, tree: Tree) -> None:
        assert _fresh(tree.household).address == "朝阳区和平街道樱花园社区3号楼2单元502室"
        assert _fresh(tree.grid).address == "朝阳区和平街道樱花园社区"
        # A building filed straight under the community reads the same way.
        direct = place_create(parent=tree.community, kind=PlaceKind.BUILDING, name="9号楼", code="b9")
        assert direct.address == "朝阳区和平街道樱花园社区9号楼"

    def test_region_starts_the_address_of_a_root(self, db: None) -> None:
        district = place_create(parent=None, kind=PlaceKind.DISTRICT, name="朝阳区", code="x", region="北京市")
        street = place_create(parent=district, kind=PlaceKind.STREET, name="和平街道", code="x1")
        community = place_create(parent=street, kind=PlaceKind.COMMUNITY, name="樱花园社区", code="x2")
        grid = place_create(parent=community, kind=PlaceKind.GRID, name="第一网格", code="x3")
        building = place_create(parent=grid, kind=PlaceKind.BUILDING, name="3", code="x4")
        unit = place_create(parent=building, kind=PlaceKind.UNIT, name="2", code="x5")
        home = place_create(parent=unit, kind=PlaceKind.HOUSEHOLD, name="502", code="x6")
        assert home.address == "北京市朝阳区和平街道樱花园社区3号楼2单元502室"
        assert home.name == "502"

    @pytest.mark.parametrize(
        ("kind", "name", "part"),
        [
            (PlaceKind.BUILDING, "3", "3号楼"),
            (PlaceKind.BUILDING, "A3", "A3号楼"),
            (PlaceKind.BUILDING, "3号楼", "3号楼"),
            (PlaceKind.BUILDING, "综合楼", "综合楼"),
            (PlaceKind.UNIT, "2", "2单元"),
            (PlaceKind.HOUSEHOLD, "502", "502室"),
            (PlaceKind.HOUSEHOLD, "3-502", "3-502室"),
            (PlaceKind.HOUSEHOLD, "502室", "502室"),
            (PlaceKind.GRID, "第一网格", ""),
            (PlaceKind.COMMUNITY, "樱花园社区", "樱花园社区"),
        ],
    )
    def test_address_parts(self, kind: str, name: str, part: str) -> None:
        assert address_part(kind, name) == part

    def test_region_only_on_roots(self, tree: Tree) -> None:
        with pytest.raises(ValidationError) as exc:
            place_create(parent=tree.street, kind=PlaceKind.COMMUNITY, name="新社区", code="c9", region="北京市")
        assert "region" in exc.value.message_dict

    @pytest.mark.parametrize(
        ("parent_attr", "kind", "field"),
        [
            ("community", PlaceKind.HOUSEHOLD, "kind"),
            ("grid", PlaceKind.UNIT, "kind"),
            ("household", PlaceKind.HOUSEHOLD, "kind"),
            ("street", PlaceKind.GRID, "kind"),
            (None, PlaceKind.COMMUNITY, "parent"),
            ("street", "village", "kind"),
        ],
    )
    def test_kinds_must_fit_their_parent(self, tree: Tree, parent_attr: str | None, kind: str, field: str) -> None:
        parent = getattr(tree, parent_attr) if parent_attr else None
        with pytest.raises(ValidationError) as exc:
            place_create(parent=parent, kind=kind, name="新地点", code="new1")
        assert field in exc.value.message_dict

    def test_allowed_children(self, tree: Tree) -> None:
        place_create(parent=tree.building, kind=PlaceKind.HOUSEHOLD, name="101", code="direct-home")
        place_create(parent=None, kind=PlaceKind.STREET, name="独立街道", code="root-street")

    def test_duplicate_code_and_empty_name(self, tree: Tree) -> None:
        with pytest.raises(ValidationError) as exc:
            place_create(parent=tree.street, kind=PlaceKind.COMMUNITY, name="重复", code="c1")
        assert "code" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            place_create(parent=tree.street, kind=PlaceKind.COMMUNITY, name="   ", code="c8")
        assert "name" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            place_create(parent=tree.street, kind=PlaceKind.COMMUNITY, name="新", code="  ")
        assert "code" in exc.value.message_dict

    def test_long_code_is_a_field_error_not_a_crash(self, tree: Tree) -> None:
        # The placeholder path once embedded the code and overflowed the path column.
        code = "c" * 64
        place = place_create(parent=tree.street, kind=PlaceKind.COMMUNITY, name="长编码社区", code=code)
        assert _fresh(place).code == code
        with pytest.raises(ValidationError):
            place_create(parent=tree.street, kind=PlaceKind.COMMUNITY, name="太长", code="c" * 65)

    def test_not_below_an_inactive_parent(self, tree: Tree) -> None:
        place_deactivate(place=tree.other_grid)
        with pytest.raises(ValidationError) as exc:
            place_create(parent=_fresh(tree.other_grid), kind=PlaceKind.BUILDING, name="8号楼", code="b8")
        assert "parent" in exc.value.message_dict

    def test_audited(self, tree: Tree) -> None:
        event = AuditEvent.objects.filter(action="place.create", object_id=str(tree.household.pk)).get()
        assert event.after["code"] == "h1"
        assert event.community_id == tree.community.pk


class TestRename:
    def test_rebuilds_addresses_below(self, tree: Tree) -> None:
        place_rename(place=tree.community, name="玉兰园社区")
        assert _fresh(tree.community).address == "朝阳区和平街道玉兰园社区"
        assert _fresh(tree.household).address == "朝阳区和平街道玉兰园社区3号楼2单元502室"
        assert _fresh(tree.unit).address == "朝阳区和平街道玉兰园社区3号楼2单元"
        # Other branches keep theirs.
        assert _fresh(tree.far_household).address == "朝阳区和平街道和平里社区1号楼101室"
        assert AuditEvent.objects.filter(action="place.rename", object_id=str(tree.community.pk)).count() == 1

    def test_updates_the_callers_instance(self, tree: Tree) -> None:
        place = tree.building
        place_rename(place=place, name="5")
        assert place.name == "5"
        assert place.address == "朝阳区和平街道樱花园社区5号楼"
        assert _fresh(tree.household).address == "朝阳区和平街道樱花园社区5号楼2单元502室"

    def test_renaming_a_grid_changes_no_address(self, tree: Tree) -> None:
        place_rename(place=tree.grid, name="一网格")
        assert _fresh(tree.household).address == "朝阳区和平街道樱花园社区3号楼2单元502室"

    def test_region_of_a_root(self, tree: Tree) -> None:
        place_rename(place=tree.district, name="朝阳区", region="北京市")
        assert _fresh(tree.household).address == "北京市朝阳区和平街道樱花园社区3号楼2单元502室"

    def test_same_name_writes_nothing(self, tree: Tree) -> None:
        before = AuditEvent.objects.count()
        place_rename(place=tree.community, name=" 樱花园社区 ")
        assert AuditEvent.objects.count() == before

    def test_empty_name_refused(self, tree: Tree) -> None:
        with pytest.raises(ValidationError):
            place_rename(place=tree.community, name=" ")

    def test_constant_queries_for_a_subtree(self, tree: Tree, django_assert_max_num_queries: object) -> None:
        for n in range(30):
            place_create(parent=tree.unit, kind=PlaceKind.HOUSEHOLD, name=f"{n + 700}", code=f"extra{n}")
        with django_assert_max_num_queries(12):  # type: ignore[operator]
            place_rename(place=tree.community, name="新名社区")
        assert _fresh(Place.objects.get(code="extra0")).address == "朝阳区和平街道新名社区3号楼2单元700室"


class TestMoveAndSwitchOff:
    def test_move_within_community_rewrites_paths(self, tree: Tree) -> None:
        place_move(place=tree.building, parent=tree.other_grid)
        building = _fresh(tree.building)
        assert building.parent_id == tree.other_grid.pk
        assert building.path.startswith(tree.other_grid.path)
        household = _fresh(tree.household)
        assert household.path.startswith(building.path)
        assert household.depth == 6
        assert list(Place.objects.below(tree.grid, include_self=False)) == []
        assert tree.household.pk in {p.pk for p in Place.objects.below(tree.other_grid)}

    def test_move_a_community_to_another_street(self, tree: Tree) -> None:
        street2 = place_create(parent=tree.district, kind=PlaceKind.STREET, name="光明街道", code="s2")
        place_move(place=tree.community, parent=street2)
        assert _fresh(tree.household).address == "朝阳区光明街道樱花园社区3号楼2单元502室"
        assert _fresh(tree.household).community_id == tree.community.pk

    @pytest.mark.parametrize(
        ("node", "target", "field"),
        [
            ("building", "far_household", "kind"),  # a building cannot sit under a household
            ("grid", "unit", "parent"),  # not below itself
            ("building", "other_community", "parent"),  # grids and below stay in their community
        ],
    )
    def test_move_refused(self, tree: Tree, node: str, target: str, field: str) -> None:
        if target == "other_community":
            target_place = Place.objects.get(code="g3")
        else:
            target_place = getattr(tree, target)
        with pytest.raises(ValidationError) as exc:
            place_move(place=getattr(tree, node), parent=target_place)
        assert field in exc.value.message_dict

    def test_deactivate_covers_everything_below(self, tree: Tree) -> None:
        place_deactivate(place=tree.grid)
        assert not Place.objects.below(tree.grid).active().exists()
        assert _fresh(tree.other_grid).is_active
        with pytest.raises(ValidationError):
            place_activate(place=_fresh(tree.building))
        place_activate(place=_fresh(tree.grid))
        assert _fresh(tree.grid).is_active
        assert not _fresh(tree.building).is_active

    def test_households_count(self, tree: Tree) -> None:
        place_set_households(place=tree.grid, households_count=420)
        assert _fresh(tree.grid).households_count == 420
        with pytest.raises(ValidationError):
            place_set_households(place=tree.grid, households_count=-1)
