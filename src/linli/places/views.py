from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts.access import access_place, check_path, grant_covering, scope_paths
from linli.accounts.models import User
from linli.places import selectors
from linli.places.access import PLACE_IMPORT_ROLES, PLACE_VIEW_ROLES, can_import, import_targets
from linli.places.forms import ImportForm
from linli.places.importer import ImportReport, UploadError, import_file

CHILDREN_PER_PAGE = 100


def _view_paths(request: HttpRequest) -> list[str]:
    paths = scope_paths(request.user, roles=PLACE_VIEW_ROLES)
    if not paths:
        raise PermissionDenied
    return paths


@require_GET
def tree(request: HttpRequest) -> HttpResponse:
    """The user's scope roots; each opens in place (HTMX) or on its own page (no JS)."""
    roots = selectors.scope_roots(_view_paths(request))
    return render(request, "places/tree.html", {"nodes": roots, "can_import": can_import(request.user)})


@require_GET
def children(request: HttpRequest, pk: int) -> HttpResponse:
    """The nodes directly below one node, as a fragment to swap into the tree."""
    place = access_place(request.user, pk, roles=PLACE_VIEW_ROLES)
    nodes = list(selectors.children(place)[: CHILDREN_PER_PAGE + 1])
    more = len(nodes) > CHILDREN_PER_PAGE
    return render(request, "places/tree.html#nodes",
                  {"nodes": nodes[:CHILDREN_PER_PAGE], "more": more, "parent": place})


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    place = access_place(request.user, pk, roles=PLACE_VIEW_ROLES)
    crumbs = [
        {"place": node, "linked": bool(grant_covering(request.user, node.path, roles=PLACE_VIEW_ROLES))}
        for node in selectors.breadcrumb(place)
    ]
    page = Paginator(selectors.children(place), CHILDREN_PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.labelled_counts(selectors.counts_below(place))
    return render(request, "places/detail.html", {
        "place": place, "crumbs": crumbs, "page": page, "nodes": page.object_list, "counts": counts,
        "can_import": can_import(request.user),
    })


@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest) -> HttpResponse:
    if not can_import(request.user):
        raise PermissionDenied
    user: User = request.user  # type: ignore[assignment]
    form = ImportForm(request.POST or None, request.FILES or None, targets=import_targets(user))
    report: ImportReport | None = None
    if request.method == "POST" and form.is_valid():
        under = form.cleaned_data["under"]
        check_path(user, under.path, write=True, roles=PLACE_IMPORT_ROLES)
        upload = form.cleaned_data["file"]
        try:
            report = import_file(upload.name, upload, size=upload.size, under=under, by=user,
                                 dry_run=form.cleaned_data["dry_run"])
        except UploadError as exc:
            form.add_error("file", exc.message)
        except ValidationError as exc:
            form.add_error(None, exc)
    status = 400 if form.errors else 200
    return render(request, "places/import.html", {"form": form, "report": report}, status=status)
