from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.accounts.access import scope_paths
from linli.accounts.models import Role
from linli.places.models import Place

VIEW_ROLES = {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.AUDITOR}


def tree(request: HttpRequest) -> HttpResponse:
    paths = scope_paths(request.user, roles=VIEW_ROLES)
    roots = Place.objects.filter(path__in=paths).order_by("path")
    return render(request, "places/tree.html", {"roots": roots})
