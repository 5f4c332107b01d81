"""Read-only admin pages for the people registry.

Sensitive fields are never shown here, and nothing is edited here: every change to a
resident goes through the services (validation, lookup hashes, audit), which the
app's own pages call. The admin is for looking things up.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.people.models import (
    Consent,
    CorrectionRequest,
    Household,
    Relation,
    Resident,
    SensitiveAccess,
    SpecialGroupTag,
)
from linli.people.selectors import tag_display

SENSITIVE = ("id_number", "id_number_hash", "phone", "phone_hash", "health", "disability", "income_status")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("ref", "place", "community", "created_at")
    search_fields = ("ref",)
    list_select_related = ("place", "community")
    raw_id_fields = ("place", "community")


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    list_display = ("name", "gender", "birth_date", "household_role", "status", "household", "community")
    list_filter = ("status", "gender")
    search_fields = ("name",)
    list_select_related = ("household__place", "community")
    exclude = SENSITIVE
    raw_id_fields = ("household", "community", "user")

    def get_queryset(self, request: HttpRequest) -> Any:
        # The sealed columns are not even read (and so never decrypted) for these pages.
        return super().get_queryset(request).defer(*SENSITIVE)


@admin.register(Relation)
class RelationAdmin(ReadOnlyAdmin):
    list_display = ("from_resident", "kind", "to_resident")
    list_select_related = ("from_resident", "to_resident")
    raw_id_fields = ("from_resident", "to_resident", "community")


@admin.register(SpecialGroupTag)
class SpecialGroupTagAdmin(ReadOnlyAdmin):
    """Sensitive groups (disability, dibao, ...) reveal health or income: the admin, which
    logs no reveal, shows them as "已隐藏", offers no filter by group, and no page per tag
    (whose title would name the group)."""

    list_display = ("resident", "group_shown", "label", "since", "ended_on")
    list_display_links = None
    list_select_related = ("resident",)
    raw_id_fields = ("resident", "community")

    @admin.display(description=_("群体"))
    def group_shown(self, tag: SpecialGroupTag) -> str:
        return tag_display(tag, revealable=False)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_view_permission(request, obj)


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("resident", "purpose", "basis", "given_on", "withdrawn_at")
    list_filter = ("basis",)
    list_select_related = ("resident",)
    raw_id_fields = ("resident", "community", "recorded_by")


@admin.register(SensitiveAccess)
class SensitiveAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "resident", "field", "reason")
    list_filter = ("field",)
    list_select_related = ("resident",)
    raw_id_fields = ("user", "resident", "community")


@admin.register(CorrectionRequest)
class CorrectionRequestAdmin(ReadOnlyAdmin):
    list_display = ("resident", "field", "status", "created_at", "handled_at")
    list_filter = ("status", "field")
    list_select_related = ("resident",)
    exclude = ("requested_value",)
    raw_id_fields = ("resident", "community", "handled_by")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("requested_value")
