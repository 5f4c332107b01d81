"""A node created while one of its ancestors moves must end up under the moved path
(on PostgreSQL the two transactions really overlap; on SQLite they serialise)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from linli.places.models import Place, PlaceKind
from linli.places.services import place_create, place_move
from tests.conftest import make_tree


@pytest.mark.django_db(transaction=True)
def test_child_created_during_an_ancestor_move_follows_the_move() -> None:
    tree = make_tree()
    building = place_create(parent=tree.grid, kind=PlaceKind.BUILDING, name="9号楼", code="b9")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)  # both transactions start together

    def move() -> None:
        try:
            barrier.wait()
            place_move(place=building, parent=tree.other_grid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def create(i: int) -> None:
        try:
            barrier.wait()
            place_create(parent=building, kind=PlaceKind.UNIT, name=f"{i + 1}单元", code=f"b9-u{i}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    if connection.vendor == "postgresql":
        threads = [threading.Thread(target=move), threading.Thread(target=create, args=(0,))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:
        # SQLite has one writer at a time (and the in-memory test database cannot be
        # shared by threads): the two writes can only come one after the other.
        barrier = threading.Barrier(1)
        create(0)
        move()
    assert errors == []
    building.refresh_from_db()
    assert building.parent_id == tree.other_grid.pk
    for unit in Place.objects.filter(parent=building):
        assert unit.path.startswith(building.path), (unit.path, building.path)
