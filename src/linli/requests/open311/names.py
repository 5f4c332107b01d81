"""Names the lists show (service codes and names, community and partner names), kept in
each process for a few minutes.

A page of requests is one query on one table; joining the three small tables these
names live in made PostgreSQL plan four tables for every page, and reading them with
one more query per table cost as much again. They change rarely: a save or delete in
this process clears the copy at once, other processes see the change within ``TTL``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from linli.accounts.models import Organisation
from linli.places.models import Place
from linli.places.signals import place_moved, place_switched
from linli.requests.models import Category

TTL = 300.0
MAX_ENTRIES = 50_000  # a city has about 5,000 communities; past this the copy starts afresh


class NameCache:
    def __init__(self, model: type[Model], *fields: str) -> None:
        self.model = model
        self.fields = fields
        self.values: dict[int, tuple[Any, ...]] = {}
        self.born = 0.0

    def get(self, ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
        now = time.monotonic()
        if now - self.born > TTL or len(self.values) > MAX_ENTRIES:
            self.values, self.born = {}, now
        # Threads share the copy: read it once, and answer from what this call holds
        # (another thread may replace or clear the shared one meanwhile).
        values = self.values
        missing = set(ids) - values.keys()
        if missing:
            rows = self.model._default_manager.filter(pk__in=missing).values_list("pk", *self.fields)
            values = {**values, **{row[0]: tuple(row[1:]) for row in rows}}
            self.values = values
        return values

    def clear(self, **_kwargs: Any) -> None:
        self.values = {}
        _after_commit(self._reset)

    def _reset(self) -> None:
        self.values = {}


class ActiveCategories:
    """The active categories by service code, for POSTs: the catalogue is a few dozen
    rows, read once per ``ACTIVE_TTL`` instead of once per submission. A category closed
    in another process may still be accepted for that long: the queue's filing, and a
    POST filed at once, read it again and refuse it with the reason."""

    def __init__(self) -> None:
        self.values: dict[str, Category] = {}
        self.born = -ACTIVE_TTL

    def get(self, code: str) -> Category | None:
        now = time.monotonic()
        values = self.values
        if now - self.born > ACTIVE_TTL:
            values = {c.code: c for c in Category.objects.filter(is_active=True)}
            self.values, self.born = values, now
        return values.get(code)

    def clear(self, **_kwargs: Any) -> None:
        self._reset()
        _after_commit(self._reset)

    def _reset(self) -> None:
        self.values, self.born = {}, -ACTIVE_TTL


class PlacesByCode:
    """Places by code, for POSTs' ``address_id`` (a street has some ten thousand
    households; each is read once per ``ACTIVE_TTL`` instead of once per submission).
    A code not found is not kept (a place just imported is found at once). Any place
    saved, moved, closed, opened or deleted in this process clears the copy; a change
    made in another process may go unseen for up to ``ACTIVE_TTL``, and the queue's
    filing, and a POST filed at once, read the place again."""

    def __init__(self) -> None:
        self.values: dict[str, Place] = {}
        self.born = 0.0

    def get(self, code: str) -> Place | None:
        now = time.monotonic()
        if now - self.born > ACTIVE_TTL or len(self.values) > PLACES_MAX:
            self.values, self.born = {}, now
        values = self.values  # one dict per call: setting one key is atomic, threads share it
        place = values.get(code)
        if place is None:
            place = next(iter(Place.objects.filter(code=code).order_by()[:1]), None)
            if place is not None:
                values[code] = place
        return place

    def clear(self, **_kwargs: Any) -> None:
        self._reset()
        _after_commit(self._reset)

    def _reset(self) -> None:
        self.values = {}


def _after_commit(reset: Callable[[], None]) -> None:
    """Clear again once the change commits: a thread that read the old row meanwhile
    may have put it back."""
    transaction.on_commit(reset, robust=True)


ACTIVE_TTL = 60.0
PLACES_MAX = 20_000  # a street's households; past this the copy starts afresh
active_categories = ActiveCategories()
places_by_code = PlacesByCode()
post_save.connect(places_by_code.clear, sender=Place, weak=False, dispatch_uid="open311-places-by-code")
post_delete.connect(places_by_code.clear, sender=Place, weak=False, dispatch_uid="open311-places-by-code-del")
place_moved.connect(places_by_code.clear, weak=False, dispatch_uid="open311-places-by-code-moved")
place_switched.connect(places_by_code.clear, weak=False, dispatch_uid="open311-places-by-code-switched")
post_save.connect(active_categories.clear, sender=Category, weak=False, dispatch_uid="open311-active-categories")
post_delete.connect(active_categories.clear, sender=Category, weak=False, dispatch_uid="open311-active-categories-del")

categories = NameCache(Category, "code", "name", "name_en")
communities = NameCache(Place, "name")
organisations = NameCache(Organisation, "name")

for _cache in (categories, communities, organisations):
    post_save.connect(_cache.clear, sender=_cache.model, weak=False, dispatch_uid=f"open311-names-{_cache.model}")
    post_delete.connect(_cache.clear, sender=_cache.model, weak=False, dispatch_uid=f"open311-names-del-{_cache.model}")


def clear_all() -> None:
    for cache in (categories, communities, organisations, active_categories, places_by_code):
        cache.clear()
