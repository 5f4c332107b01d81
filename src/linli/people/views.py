"""Pages of the people registry (staff) and of a resident's own data.

Every sensitive value is masked; a plain value is shown only after an explicit POST to
a reveal URL (HTMX swaps just that field; without JavaScript the page re-renders), and
every reveal is logged. A resident sees their own values the same way — masked, with a
reveal that is logged as "本人查看" — so a phone held up in a queue shows nothing; their
JSON download carries everything in full (PIPL Art. 45).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.access import grant_covering
from linli.people import services
from linli.people.access import (
    access_correction,
    access_import_community,
    access_resident,
    import_communities,
    require_registry,
)
from linli.people.forms import (
    CorrectionForm,
    ImportForm,
    ResidentSearchForm,
    ResolveForm,
    RevealForm,
)
from linli.people.importer import ImportFileError, import_file
from linli.people.models import REGISTRY_EDIT_ROLES, Consent, CorrectionStatus, Resident
from linli.people.selectors import (
    MaskedField,
    access_log,
    correction_display,
    corrections_in_scope,
    field_label,
    filter_places,
    household_members,
    may_filter_sensitive_groups,
    may_search_numbers,
    number_query,
    relations_of,
    resident_public_view,
    resident_search,
    sensitive_items,
    tag_display,
)

PAGE_SIZE = 50


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _form_errors(form: Any, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form, unknown keys as non-field errors."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _first_error(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else _("输入有误。")


# Staff: the registry -----------------------------------------------------------------------

@require_GET
def resident_list(request: HttpRequest) -> HttpResponse:
    require_registry(request.user)
    places = filter_places(request.user)
    form = ResidentSearchForm(
        request.GET or None, places=places, sensitive_groups=may_filter_sensitive_groups(request.user)
    )
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        place_id = data.get("place")
        filters = {
            "q": data.get("q") or "",
            "place": next((p for p in places if p.pk == place_id), None),
            "group": data.get("group") or "",
            "status": data.get("status") or "",
        }
    number_field = number_query(filters["q"])[0] if filters.get("q") else ""
    number_search = bool(number_field) and may_search_numbers(request.user)
    residents = resident_search(request.user, **filters) if not form.errors else Resident.objects.none()
    page = Paginator(residents, PAGE_SIZE).get_page(request.GET.get("page"))
    hits = list(page.object_list)
    if number_search and not form.errors:
        services.number_search_record(field=number_field, hits=hits, by=request.user)
    rows = [resident_public_view(resident, request.user) for resident in hits]
    context = {
        "form": form, "page": page, "rows": rows,
        # A full number never goes into the pager's links (a number search is one page anyway).
        "number_query": bool(number_field),
        "number_refused": bool(number_field) and not number_search,
    }
    return render(request, "people/resident_list.html", context, status=400 if form.errors else 200)


def _reveal_items(request: HttpRequest, resident: Resident, *, url_name: str, self_view: bool) -> list[MaskedField]:
    allowed = services.may_reveal(request.user, resident)
    items = sensitive_items(resident)
    for item in items:
        item.can_reveal = allowed and item.has_value
        item.needs_reason = not self_view
        item.reveal_url = (
            reverse(url_name, args=[item.field]) if self_view else reverse(url_name, args=[resident.pk, item.field])
        )
    return items


def _detail_context(request: HttpRequest, resident: Resident, items: list[MaskedField]) -> dict[str, Any]:
    members = household_members(resident)
    revealable = services.may_reveal(request.user, resident)
    tags = list(resident.tags.order_by("ended_on", "group"))
    for tag in tags:
        tag.shown = tag_display(tag, revealable=revealable)  # type: ignore[attr-defined]
    return {
        "resident": resident,
        "view": resident_public_view(resident, request.user),
        "items": items,
        "members": [resident_public_view_member(member) for member in members],
        "relations": relations_of(resident, request.user),
        "tags": tags,
        "consents": list(Consent.objects.filter(resident=resident).order_by("-given_on", "-pk")),
        "corrections": [
            (c, field_label(c.field), correction_display(c))
            for c in resident.corrections.select_related("resident").order_by("-created_at")
        ],
        "access_entries": [(entry, field_label(entry.field)) for entry in access_log(resident)],
        "can_edit": bool(
            [g for g in grant_covering(request.user, resident.household.place.path, roles=REGISTRY_EDIT_ROLES) if not g.read_only]
        ),
    }


def resident_public_view_member(member: Resident) -> dict[str, Any]:
    minor = member.is_sensitive_minor()
    return {
        "id": member.pk,
        "name": member.name,
        "age": member.age(),
        "household_role": _("已隐藏") if minor else member.get_household_role_display(),
        "status": member.get_status_display(),
    }


@require_GET
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = access_resident(request.user, pk)
    items = _reveal_items(request, resident, url_name="people:resident_reveal", self_view=False)
    return render(request, "people/resident_detail.html", _detail_context(request, resident, items))


def _reveal_response(
    request: HttpRequest, resident: Resident, field: str, items: list[MaskedField], reason: str | None,
    page: str, context: Any,
) -> HttpResponse:
    item = next((i for i in items if i.field == field), None)
    if item is None or not item.has_value:
        raise Http404
    if not item.can_reveal:
        raise PermissionDenied
    status = 200
    if reason is None:
        item.error = _("请填写查看事由。")
        status = 400
    else:
        try:
            item.value = services.sensitive_reveal(user=request.user, resident=resident, field=field, reason=reason)
        except ValidationError as exc:
            item.error = _first_error(exc)
            status = 400
    if _is_htmx(request):
        # HTMX swaps only 2xx answers: the field with its error is still the answer to show.
        return render(request, "people/resident_detail.html#sensitive", {"item": item})
    return render(request, page, context(), status=status)


@never_cache
@require_POST
def resident_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    resident = access_resident(request.user, pk)
    items = _reveal_items(request, resident, url_name="people:resident_reveal", self_view=False)
    form = RevealForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else None
    return _reveal_response(
        request, resident, field, items, reason, "people/resident_detail.html",
        lambda: _detail_context(request, resident, items),
    )


def _queue_context(request: HttpRequest, errors: dict[int, list[str]] | None = None) -> dict[str, Any]:
    status = request.GET.get("status", CorrectionStatus.OPEN)
    if status not in CorrectionStatus.values and status != "all":
        status = CorrectionStatus.OPEN
    corrections = corrections_in_scope(request.user, status="" if status == "all" else status)
    page = Paginator(corrections, PAGE_SIZE).get_page(request.GET.get("page"))
    entries = []
    for correction in page.object_list:
        path = correction.resident.household.place.path
        editable = bool([g for g in grant_covering(request.user, path, roles=REGISTRY_EDIT_ROLES) if not g.read_only])
        entries.append({
            "correction": correction, "label": field_label(correction.field), "display": correction_display(correction),
            "editable": editable and correction.status == CorrectionStatus.OPEN,
            "errors": (errors or {}).get(correction.pk, []),
        })
    return {
        "page": page, "entries": entries, "status": status, "statuses": [*CorrectionStatus.choices, ("all", _("全部"))],
        "resolve_form": ResolveForm(),
    }


@require_GET
def corrections(request: HttpRequest) -> HttpResponse:
    require_registry(request.user)
    return render(request, "people/corrections.html", _queue_context(request))


@require_POST
def correction_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    correction = access_correction(request.user, pk, write=True)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.correction_resolve(
                correction=correction, accept=form.cleaned_data["decision"] == "accept",
                answer=form.cleaned_data["answer"], by=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            errors = {pk: exc.messages}
        else:
            messages.success(request, _("已处理该更正申请。"))
            return redirect("people:corrections")
    else:
        errors = {pk: [str(e) for field_errors in form.errors.values() for e in field_errors]}
    return render(request, "people/corrections.html", _queue_context(request, errors), status=400)


@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest) -> HttpResponse:
    communities = import_communities(request.user)
    if not communities:
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None, communities=communities)
    report = None
    if request.method == "POST" and form.is_valid():
        community = access_import_community(request.user, form.cleaned_data["community"])
        try:
            report = import_file(community=community, upload=form.cleaned_data["file"], by=request.user)  # type: ignore[arg-type]
        except ImportFileError as exc:
            form.add_error("file", exc.message)
    status = 400 if form.errors else 200
    return render(request, "people/import.html", {"form": form, "report": report}, status=status)


# A resident: their own data --------------------------------------------------------------

def _own_resident(request: HttpRequest) -> Resident | None:
    if not request.user.is_authenticated:
        return None
    return Resident.objects.select_related("household__place").filter(user=request.user).first()


def _require_own(request: HttpRequest) -> Resident:
    resident = _own_resident(request)
    if resident is None:
        raise Http404
    return resident


def _my_context(request: HttpRequest, resident: Resident, items: list[MaskedField]) -> dict[str, Any]:
    context = _detail_context(request, resident, items)
    context["withdrawable"] = services.WITHDRAWABLE_BASES
    return context


@require_GET
def my_data(request: HttpRequest) -> HttpResponse:
    resident = _own_resident(request)
    if resident is None:
        return render(request, "people/my_data.html", {"resident": None})
    items = _reveal_items(request, resident, url_name="people:my_reveal", self_view=True)
    return render(request, "people/my_data.html", _my_context(request, resident, items))


@never_cache
@require_POST
def my_reveal(request: HttpRequest, field: str) -> HttpResponse:
    resident = _require_own(request)
    items = _reveal_items(request, resident, url_name="people:my_reveal", self_view=True)
    return _reveal_response(
        request, resident, field, items, _("本人查看"), "people/my_data.html",
        lambda: _my_context(request, resident, items),
    )


@never_cache
@require_GET
def my_data_download(request: HttpRequest) -> HttpResponse:
    resident = _require_own(request)
    data = services.resident_data_export(resident=resident, by=request.user)  # type: ignore[arg-type]
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="linli-my-data.json"'
    return response


@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _require_own(request)
    consent = Consent.objects.filter(pk=pk, resident=resident).first()
    if consent is None:
        raise Http404
    try:
        services.consent_withdraw(consent=consent, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, _first_error(exc))
    else:
        messages.success(request, _("已撤回同意。"))
    return redirect("people:my_data")


@require_http_methods(["GET", "POST"])
def correction_new(request: HttpRequest) -> HttpResponse:
    resident = _require_own(request)
    form = CorrectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.correction_request_create(
                resident=resident, field=form.cleaned_data["field"],
                requested_value=form.cleaned_data["requested_value"], note=form.cleaned_data["note"],
                by=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("更正申请已提交，社区工作人员处理后会在此答复。"))
            return redirect("people:my_data")
    status = 400 if form.errors else 200
    return render(request, "people/correction_form.html", {"form": form}, status=status)

