"""Reads of the place tree that are more than a get.

Each function is a fixed number of queries, whatever the size of the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count

from linli.places.models import KIND_ORDER, Place, PlaceKind, PlaceQuerySet, path_ids


def children(place: Place, *, active_only: bool = False) -> PlaceQuerySet:
    """The nodes directly below ``place``, in tree order, each with ``children_count``."""
    qs = Place.objects.children_of(place).with_children_count().order_by("path")
    return qs.active() if active_only else qs


def descendants(place: Place, *, include_self: bool = False) -> PlaceQuerySet:
    """Everything below ``place`` (one indexed prefix query)."""
    return Place.objects.below(place, include_self=include_self).order_by("path")


def ancestors(place: Place) -> list[Place]:
    """The nodes above ``place``, top first (one query, by the ids in its path)."""
    ids = path_ids(place.path)[:-1]
    if not ids:
        return []
    by_id = {node.pk: node for node in Place.objects.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def breadcrumb(place: Place) -> list[Place]:
    """Ancestors then the node itself: 朝阳区 › 和平街道 › 樱花园社区."""
    return [*ancestors(place), place]


def counts_below(place: Place, *, active_only: bool = True) -> dict[str, int]:
    """How many nodes of each kind lie below ``place`` (not counting itself), in
    tree order of kinds, kinds with none left out (one query)."""
    qs = Place.objects.below(place, include_self=False)
    if active_only:
        qs = qs.active()
    rows = {row["kind"]: row["n"] for row in qs.order_by().values("kind").annotate(n=Count("pk"))}
    return {kind: rows[kind] for kind in KIND_ORDER if rows.get(kind)}


def labelled_counts(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"kind": kind, "label": str(PlaceKind(kind).label), "count": n} for kind, n in counts.items()]


def minimal_paths(paths: Iterable[str]) -> list[str]:
    """Drop every path that lies below another one in the list."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(top) for top in kept):
            kept.append(path)
    return kept


def scope_roots(paths: Iterable[str]) -> PlaceQuerySet:
    """The top nodes of a scope (given as grant paths), each with ``children_count``."""
    tops = minimal_paths(paths)
    if not tops:
        return Place.objects.none()
    return Place.objects.filter(path__in=tops).with_children_count().order_by("path")


def places_by_code(codes: Iterable[str], *, batch: int = 900) -> dict[str, Place]:
    """Existing places for a set of codes, in as few queries as the database allows."""
    wanted = sorted({code for code in codes if code})
    found: dict[str, Place] = {}
    for start in range(0, len(wanted), batch):
        for place in Place.objects.filter(code__in=wanted[start : start + batch]):
            found[place.code] = place
    return found
