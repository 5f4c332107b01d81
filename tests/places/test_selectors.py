from __future__ import annotations

import pytest

from linli.places import selectors
from linli.places.models import Place, PlaceKind
from linli.places.services import place_deactivate
from tests.conftest import Tree

pytestmark = pytest.mark.django_db


def test_children_in_tree_order_with_counts(tree: Tree, django_assert_num_queries: object) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        nodes = list(selectors.children(tree.community))
    assert [n.code for n in nodes] == ["g1", "g2"]
    assert [n.children_count for n in nodes] == [1, 1]


def test_descendants_is_a_prefix_query(tree: Tree) -> None:
    codes = set(selectors.descendants(tree.community).values_list("code", flat=True))
    assert codes == {"g1", "g2", "b1", "u1", "h1", "h2", "b2"}
    assert "c1" in set(selectors.descendants(tree.community, include_self=True).values_list("code", flat=True))
    # Place.objects.below is the same query.
    assert set(Place.objects.below(tree.community, include_self=False).values_list("code", flat=True)) == codes


def test_ancestors_in_one_query(tree: Tree, django_assert_num_queries: object) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        chain = selectors.ancestors(tree.household)
    assert [p.code for p in chain] == ["d1", "s1", "c1", "g1", "b1", "u1"]
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert selectors.ancestors(tree.district) == []


def test_breadcrumb(tree: Tree) -> None:
    assert [p.name for p in selectors.breadcrumb(tree.unit)] == ["朝阳区", "和平街道", "樱花园社区", "第一网格", "3号楼", "2单元"]


def test_counts_below(tree: Tree, django_assert_num_queries: object) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        counts = selectors.counts_below(tree.street)
    assert counts == {"community": 2, "grid": 3, "building": 3, "unit": 1, "household": 3}
    assert list(counts) == ["community", "grid", "building", "unit", "household"]
    place_deactivate(place=tree.other_community)
    assert selectors.counts_below(tree.street)["community"] == 1
    assert selectors.counts_below(tree.street, active_only=False)["community"] == 2
    labelled = selectors.labelled_counts(selectors.counts_below(tree.unit))
    assert labelled == [{"kind": PlaceKind.HOUSEHOLD, "label": str(PlaceKind.HOUSEHOLD.label), "count": 2}]


def test_scope_roots_drop_nested_grants(tree: Tree) -> None:
    roots = list(selectors.scope_roots([tree.community.path, tree.grid.path, tree.far_household.path]))
    assert [r.code for r in roots] == ["c1", "h3"]
    assert list(selectors.scope_roots([])) == []


def test_places_by_code_in_batches(tree: Tree, django_assert_num_queries: object) -> None:
    with django_assert_num_queries(2):  # type: ignore[operator]
        found = selectors.places_by_code(["c1", "h1", "nope", ""], batch=1 + 1)
    assert set(found) == {"c1", "h1"}
