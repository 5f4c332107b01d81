"""Accounts in Django's admin. Every change goes through the services (and so the
audit log); secrets never reach a page: no password hash, no TOTP secret, no key,
and the phone only masked."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.accounts import services
from linli.accounts.backends import looks_like_phone
from linli.accounts.models import ApiKey, Organisation, RoleAssignment, User
from linli.audit.services import audit_record
from linli.core.crypto import lookup_hash, mask, normalise


def _add_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class UserAddForm(forms.ModelForm):
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    password1 = forms.CharField(label=_("密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("再次输入密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    class Meta:
        model = User
        fields = ["username", "display_name", "email"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, check in (("username", services.validate_username), ("phone", services.validate_phone)):
            if name in cleaned and name not in self.errors:
                try:
                    check(cleaned[name])
                except ValidationError as exc:
                    _add_errors(self, exc)
        if cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif cleaned.get("password1"):
            try:
                validate_password(cleaned["password1"], User(username=cleaned.get("username", "")))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class UserChangeForm(forms.ModelForm):
    new_phone = forms.CharField(
        label=_("新手机号"), max_length=20, required=False,
        help_text=_("留空则不变；填写 - 解除绑定。"),
    )

    class Meta:
        model = User
        fields = ["display_name", "email", "is_active", "is_staff", "organisation"]

    def clean_organisation(self) -> Organisation | None:
        organisation: Organisation | None = self.cleaned_data.get("organisation")
        if organisation is not None and not organisation.is_active and organisation.pk != self.instance.organisation_id:
            raise ValidationError(_("该合作单位已停用。"))
        return organisation

    def clean_new_phone(self) -> str:
        value = self.cleaned_data.get("new_phone", "").strip()
        if value and value != "-":
            try:
                services.validate_phone(value, user=self.instance)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["phone"]) from None
        return value


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["username", "display_name", "masked_phone", "is_active", "is_staff", "two_factor", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "display_name", "email"]
    ordering = ["username"]
    actions = ["issue_enrol_code", "reset_two_factor"]
    change_readonly = ("username", "masked_phone", "two_factor", "is_superuser", "last_login", "date_joined")

    def get_form(self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = UserChangeForm if obj is not None else UserAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("username", "display_name", "email", "phone", "password1", "password2")
        return ("username", "display_name", "email", "masked_phone", "new_phone", "is_active", "is_staff",
                "organisation", "is_superuser", "two_factor", "last_login", "date_joined")

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        return () if obj is None else self.change_readonly

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[User], search_term: str) -> tuple[QuerySet[User], bool]:
        # Phones are stored sealed: find one by its keyed hash, never by scanning.
        if looks_like_phone(search_term):
            digits = normalise(search_term).removeprefix("+86")
            return queryset.filter(phone_hash=lookup_hash(digits)), False
        return super().get_search_results(request, queryset, search_term)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: User) -> str:
        return mask(obj.phone) or "—"

    @admin.display(description=_("两步验证"), boolean=True)
    def two_factor(self, obj: User) -> bool:
        return obj.has_totp

    def _save_add(self, request: HttpRequest, obj: User, form: Any) -> None:
        data = form.cleaned_data
        created = services.user_create(
            username=data["username"], password=data["password1"], display_name=data.get("display_name", ""),
            phone=data.get("phone", ""), email=data.get("email", ""), by=request.user,  # type: ignore[arg-type]
        )
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def _save_change(self, request: HttpRequest, obj: User, form: Any) -> None:
        data = form.cleaned_data
        original = User.objects.get(pk=obj.pk)
        by: User = request.user  # type: ignore[assignment]
        services.user_update(user=original, by=by, **{name: data[name] for name in services.USER_EDITABLE if name in data})
        phone = data.get("new_phone", "")
        if phone:
            services.user_set_phone(user=original, phone="" if phone == "-" else phone, by=by)
        organisation = data.get("organisation")
        if "organisation" in data and (organisation.pk if organisation else None) != original.organisation_id:
            # accounts.services has no service for this yet; audited here like one.
            before = original.organisation_id
            User.objects.filter(pk=original.pk).update(organisation=organisation)
            audit_record(actor=by, action="user.set_organisation", obj=original,
                         before={"organisation": before}, after={"organisation": organisation.pk if organisation else None})
        obj.refresh_from_db()

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            self._save_change(request, obj, form)
        else:
            self._save_add(request, obj, form)

    def _show_codes(self, request: HttpRequest, codes: list[tuple[User, str]]) -> None:
        # Shown this once: only a hash is kept.
        for user, code in codes:
            self.message_user(
                request,
                _("%(user)s 的两步验证开通码：%(code)s（一次有效，72 小时内使用；请当面或电话告知本人，此处只显示一次）")
                % {"user": user.username, "code": code},
                messages.WARNING,
            )

    @admin.action(description=_("发放两步验证开通码"))
    def issue_enrol_code(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        by: User = request.user  # type: ignore[assignment]
        codes: list[tuple[User, str]] = []
        for user in queryset.order_by("username"):
            try:
                codes.append((user, services.enrol_code_issue(user=user, by=by)))
            except ValidationError as exc:
                self.message_user(request, f"{user.username}: {'; '.join(exc.messages)}", messages.ERROR)
        self._show_codes(request, codes)

    @admin.action(description=_("重置两步验证（下次登录重新绑定）"))
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        by: User = request.user  # type: ignore[assignment]
        codes: list[tuple[User, str]] = []
        for user in queryset.order_by("username"):
            code = services.totp_reset(user=user, by=by)
            if code:
                codes.append((user, code))
        self.message_user(request, _("已重置所选用户的两步验证。"), messages.SUCCESS)
        self._show_codes(request, codes)


class RoleAssignmentAddForm(forms.ModelForm):
    class Meta:
        model = RoleAssignment
        fields = ["user", "role", "place"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        place = cleaned.get("place")
        if place is not None and not place.is_active:
            self.add_error("place", _("该地点已停用。"))
        user, role = cleaned.get("user"), cleaned.get("role")
        if user is not None and role and place is not None and RoleAssignment.objects.active().filter(
            user=user, role=role, place=place
        ).exists():
            self.add_error(None, _("该用户已在此地点拥有这个角色。"))
        return cleaned

    def validate_constraints(self) -> None:  # the partial unique constraint is checked in clean()
        return None


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    form = RoleAssignmentAddForm
    list_display = ["user", "role", "place", "is_active", "granted_at", "granted_by"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__username", "user__display_name", "place__name", "place__code"]
    list_select_related = ["user", "place", "granted_by"]
    autocomplete_fields = ["user", "place"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: RoleAssignment | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "role", "place")
        return ("user", "role", "place", "is_active", "granted_at", "granted_by")

    def get_readonly_fields(self, request: HttpRequest, obj: RoleAssignment | None = None) -> tuple[str, ...]:
        return () if obj is None else ("user", "role", "place", "is_active", "granted_at", "granted_by")

    def has_change_permission(self, request: HttpRequest, obj: RoleAssignment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RoleAssignment | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RoleAssignment, form: Any, change: bool) -> None:
        data = form.cleaned_data
        assignment = services.role_grant(user=data["user"], role=data["role"], place=data["place"], by=request.user)  # type: ignore[arg-type]
        obj.pk = assignment.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.action(description=_("撤销所选角色"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[RoleAssignment]) -> None:
        for assignment in queryset.select_related("user", "place"):
            services.role_revoke(assignment=assignment, by=request.user)  # type: ignore[arg-type]
        self.message_user(request, _("已撤销。"), messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """List and revoke only: keys are created with `linli apikey create`, which shows
    the key once; only its hash is kept."""

    list_display = ["name", "prefix", "role", "place", "created_at", "created_by", "last_used_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["name", "prefix", "place__name", "place__code"]
    list_select_related = ["place", "created_by"]
    fields = ("name", "prefix", "role", "place", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = ("name", "prefix", "role", "place", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    @admin.action(description=_("吊销所选 API 密钥"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset.select_related("place"):
            services.apikey_revoke(key=key, by=request.user)  # type: ignore[arg-type]
        self.message_user(request, _("已吊销。"), messages.SUCCESS)


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "kind", "place", "contact", "is_active"]

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise ValidationError(_("请填写名称。"))
        return name

    def clean_place(self) -> Any:
        place = self.cleaned_data.get("place")
        if place is not None and not place.is_active and place.pk != self.instance.place_id:
            raise ValidationError(_("该地点已停用。"))
        return place


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Partners that requests are dispatched to (物业, 社会组织, 驻区单位, departments).
    Never deleted (requests and members keep pointing at them): switch one off instead."""

    form = OrganisationForm
    list_display = ["name", "kind", "place", "contact", "member_count", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "contact", "place__name", "place__code"]
    list_select_related = ["place"]
    autocomplete_fields = ["place"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        return super().get_queryset(request).annotate(members_total=Count("members"))

    @admin.display(description=_("成员"), ordering="members_total")
    def member_count(self, obj: Organisation) -> int:
        return getattr(obj, "members_total", 0)

    def has_delete_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Organisation, form: Any, change: bool) -> None:
        changed = list(form.changed_data) if change else list(form.cleaned_data)
        before = {name: getattr(form.initial.get(name), "pk", form.initial.get(name)) for name in changed} if change else None
        super().save_model(request, obj, form, change)
        if changed:
            after = {name: getattr(form.cleaned_data.get(name), "pk", form.cleaned_data.get(name)) for name in changed}
            audit_record(actor=request.user, action="organisation.update" if change else "organisation.create",
                         obj=obj, before=before, after=after)
