"""The place tree in Django's admin. Every change goes through the services, so
paths, addresses and the audit log stay right; nothing is ever deleted (switch off
instead)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.places import services
from linli.places.models import Place

_ADD_FIELDS = ["parent", "kind", "name", "code", "region", "households_count"]
_CHANGE_FIELDS = ["parent", "name", "region", "households_count", "is_active"]
_DERIVED = ["path", "depth", "address", "community", "created_at"]


class PlaceAdminForm(forms.ModelForm):
    class Meta:
        model = Place
        fields = [*_ADD_FIELDS, "is_active"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        parent = cleaned.get("parent")
        try:
            if self.instance.pk is None:
                services.validate_place(
                    parent=parent, kind=cleaned.get("kind", ""), name=cleaned.get("name", ""),
                    code=cleaned.get("code", ""), region=cleaned.get("region", ""),
                    households_count=cleaned.get("households_count") or 0,
                )
            else:
                original = Place.objects.get(pk=self.instance.pk)
                services.validate_name(cleaned.get("name", ""))
                services.validate_region(cleaned.get("region", ""), parent)
                if parent is None and original.parent_id is not None:
                    raise ValidationError({"parent": _("已有上级的地点不能改为最上级。")})
                if parent is not None and parent.pk != original.parent_id:
                    services.validate_move(original, parent)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    self.add_error(name if name in self.fields else None, errors)
            else:
                self.add_error(None, exc)
        return cleaned


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    form = PlaceAdminForm
    list_display = ["name", "kind", "code", "address", "households_count", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    ordering = ["path"]
    autocomplete_fields = ["parent"]
    actions = ["deactivate", "activate"]
    list_per_page = 100

    def get_fields(self, request: HttpRequest, obj: Place | None = None) -> tuple[str, ...]:
        return tuple(_ADD_FIELDS) if obj is None else ("kind", "code", *_CHANGE_FIELDS, *_DERIVED)

    def get_readonly_fields(self, request: HttpRequest, obj: Place | None = None) -> tuple[str, ...]:
        return () if obj is None else ("kind", "code", *_DERIVED)

    def has_delete_permission(self, request: HttpRequest, obj: Place | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Place, form: Any, change: bool) -> None:
        data = form.cleaned_data
        by = request.user
        if not change:
            created = services.place_create(
                parent=data.get("parent"), kind=data["kind"], name=data["name"], code=data["code"],
                region=data.get("region", ""), households_count=data.get("households_count") or 0,
                by=by,  # type: ignore[arg-type]
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        original = Place.objects.get(pk=obj.pk)
        if data["name"] != original.name or data.get("region", "") != original.region:
            services.place_rename(place=original, name=data["name"], region=data.get("region", ""), by=by)  # type: ignore[arg-type]
        if data.get("households_count") is not None and data["households_count"] != original.households_count:
            services.place_set_households(place=original, households_count=data["households_count"], by=by)  # type: ignore[arg-type]
        parent = data.get("parent")
        if parent is not None and parent.pk != original.parent_id:
            services.place_move(place=original, parent=parent, by=by)  # type: ignore[arg-type]
        if data.get("is_active") is False and original.is_active:
            services.place_deactivate(place=original, by=by)  # type: ignore[arg-type]
        elif data.get("is_active") and not original.is_active:
            services.place_activate(place=original, by=by)  # type: ignore[arg-type]
        obj.refresh_from_db()

    @admin.action(description=_("停用所选地点（连同下级）"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Place]) -> None:
        for place in queryset.order_by("path"):
            services.place_deactivate(place=place, by=request.user)  # type: ignore[arg-type]
        self.message_user(request, _("已停用。"), messages.SUCCESS)

    @admin.action(description=_("启用所选地点"))
    def activate(self, request: HttpRequest, queryset: QuerySet[Place]) -> None:
        failed = 0
        for place in queryset.order_by("path"):
            try:
                services.place_activate(place=place, by=request.user)  # type: ignore[arg-type]
            except ValidationError:
                failed += 1
        if failed:
            self.message_user(request, _("%(n)d 个地点的上级已停用，未能启用。") % {"n": failed}, messages.WARNING)
        else:
            self.message_user(request, _("已启用。"), messages.SUCCESS)
