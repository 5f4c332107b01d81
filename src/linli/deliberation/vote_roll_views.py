"""The owners' roll (业主名册) for votes weighted by exclusive area (民法典 Art. 278):
import from the property register with a preview first, the counted owners, and the
link between an owner and the account they vote with.

The import is whole or not at all (``owner_roll_import``), so the page previews the
file first — the owners as the law counts them, the total area, the first rows and
every bad row with its row number — and then imports exactly the file previewed (the
import is refused if the file differs from the one previewed). With HTMX the preview
swaps in under the form and the chosen file stays chosen; without JavaScript the page
asks to choose the same file again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.access import scope_paths
from linli.core.uploads import UploadError
from linli.deliberation import services
from linli.deliberation.access import check_scope
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_VIEW_ROLES,
    Owner,
    OwnerRoll,
)
from linli.deliberation.owner_roll import owner_roll_preview
from linli.deliberation.vote_forms import OwnerRollForm, RollSearchForm
from linli.deliberation.vote_views import (
    VOTE_PLACE_KINDS,
    _bound,
    _paths_q,
    _user,
    area_text,
    first_error,
    form_errors,
)
from linli.places.models import Place

PAGE_SIZE = 25
OWNERS_PAGE = 50


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
def owner_rolls(request: HttpRequest) -> HttpResponse:
    paths = scope_paths(request.user, roles=DELIBERATION_VIEW_ROLES)
    if not paths:
        raise PermissionDenied
    rows = OwnerRoll.objects.filter(_paths_q(paths)).select_related("place", "imported_by").order_by(
        "-imported_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deliberation/vote_owner_rolls.html", {
        "page": page, "can_import": bool(scope_paths(request.user, roles=DELIBERATION_MANAGE_ROLES, write=True)),
    })


def _places(user: Any) -> list[Place]:
    paths = scope_paths(user, roles=DELIBERATION_MANAGE_ROLES, write=True)
    return list(Place.objects.active().below_any(paths).filter(kind__in=VOTE_PLACE_KINDS).order_by("path")[:200])


def _sha256(upload: Any) -> str:
    digest = hashlib.sha256(upload.read(settings.UPLOAD_MAX_BYTES + 1)).hexdigest()
    upload.seek(0)
    return digest


@require_http_methods(["GET", "POST"])
def owner_roll_import(request: HttpRequest) -> HttpResponse:
    places = _places(request.user)
    if not places:
        raise PermissionDenied
    form = OwnerRollForm(*_bound(request),
                         choices={"place": [(p.pk, p.address or p.name) for p in places]})
    preview = None
    step = request.POST.get("step", "preview")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        place = next(p for p in places if p.pk == data["place"])
        check_scope(request.user, place.path, write=True, roles=DELIBERATION_MANAGE_ROLES)
        upload = data["file"]
        try:
            if step == "import" and data["previewed"] == _sha256(upload):
                report = services.owner_roll_import(place=place, by=_user(request), upload=upload,
                                                    name=data["name"], developer_name=data["developer_name"])
                if report.roll is not None:
                    messages.success(request, _("名册已导入：%(units)d 套专有部分，按规定计为 %(owners)d 名业主。") % {
                        "units": report.units, "owners": report.owners})
                    return redirect("votes:owner_roll", pk=report.roll.pk)
                preview = owner_roll_preview(place=place, by=_user(request), upload=upload,
                                             developer_name=data["developer_name"])
            else:
                if step == "import":
                    form.add_error("file", _("请先预览这个文件，核对无误后再导入（导入的须是预览过的同一文件）。"))
                preview = owner_roll_preview(place=place, by=_user(request), upload=upload,
                                             developer_name=data["developer_name"])
        except UploadError as exc:
            form.add_error("file", exc.message)
        except ValidationError as exc:
            form_errors(form, exc)
    status = 400 if form.errors or (preview is not None and not preview.ok) else 200
    context = {"form": form, "preview": preview, "area": area_text(preview.total_area) if preview else "",
               "preview_rows": [(row, unit, owner, area_text(a), dev) for row, unit, owner, a, dev in preview.sample]
               if preview else []}
    if _is_htmx(request) and request.method == "POST":
        # HTMX swaps only 2xx answers: the preview with its errors is still the answer to show.
        return render(request, "deliberation/vote_owner_import.html#preview", context)
    return render(request, "deliberation/vote_owner_import.html", context, status=status)


def _roll(request: HttpRequest, pk: int) -> OwnerRoll:
    roll = OwnerRoll.objects.select_related("place", "imported_by").filter(pk=pk).first()
    if roll is None:
        raise Http404
    check_scope(request.user, roll.place_path, roles=DELIBERATION_MANAGE_ROLES)
    return roll


@require_GET
def owner_roll_detail(request: HttpRequest, pk: int) -> HttpResponse:
    roll = _roll(request, pk)
    search = RollSearchForm(request.GET or None)
    owners = Owner.objects.filter(roll=roll).select_related("user", "resident").order_by("pk")
    if search.is_valid() and search.cleaned_data["q"].strip():
        owners = owners.filter(name__contains=search.cleaned_data["q"].strip())
    if request.GET.get("linked") in ("yes", "no"):
        owners = owners.filter(user__isnull=request.GET["linked"] == "no")
    page = Paginator(owners, OWNERS_PAGE).get_page(request.GET.get("page"))
    rows = [{"owner": o, "area": area_text(o.area)} for o in page.object_list]
    can_link = bool([1 for _g in scope_paths(request.user, roles=DELIBERATION_MANAGE_ROLES, write=True)
                     if roll.place_path.startswith(_g)])
    return render(request, "deliberation/vote_owner_roll.html", {
        "roll": roll, "page": page, "rows": rows, "search": search, "area": area_text(roll.total_area),
        "can_link": can_link, "linked": request.GET.get("linked", ""),
    })


@require_POST
def owner_link(request: HttpRequest, pk: int) -> HttpResponse:
    owner = Owner.objects.select_related("roll").filter(pk=pk).first()
    if owner is None:
        raise Http404
    check_scope(request.user, owner.roll.place_path, write=True, roles=DELIBERATION_MANAGE_ROLES)
    username = request.POST.get("username", "").strip()
    user = None
    if username:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            messages.error(request, _("没有账号“%(u)s”，请核对后再关联。") % {"u": username[:150]})
            return redirect("votes:owner_roll", pk=owner.roll_id)
    try:
        services.owner_link(owner=owner, by=_user(request), user=user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, first_error(exc))
    else:
        if user is None:
            messages.success(request, _("已解除“%(o)s”与账号的关联。") % {"o": owner.name})
        else:
            messages.success(request, _("“%(o)s”今后用账号 %(u)s 投票。") % {"o": owner.name, "u": user.get_username()})
    return redirect("votes:owner_roll", pk=owner.roll_id)
