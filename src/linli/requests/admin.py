"""The requests configuration in Django's admin: categories and their extra questions
(Open311 attributes), SLA policies, working hours, holidays and adjusted working days,
reply templates and the weights of the three rates.

Requests themselves are read-only here: every write to a request is a lifecycle
service. Working hours and calendar days are saved through ``calendar_admin`` (which
audits and clears the calendar cache); the other settings have no service of their
own, so the admin audits each save itself. Every check runs in the form, so bad input
comes back as a form error, never a server error.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import OrganisationKind
from linli.audit.services import audit_record
from linli.core.crypto import mask
from linli.places.models import Place, PlaceKind
from linli.requests import calendar_admin
from linli.requests.models import (
    CalendarDay,
    Category,
    RatesConfig,
    ReplyTemplate,
    Request,
    SlaPolicy,
    TimeUnit,
    WorkingHours,
)

WEEKDAY_CHOICES = [(0, _("周一")), (1, _("周二")), (2, _("周三")), (3, _("周四")), (4, _("周五")),
                   (5, _("周六")), (6, _("周日"))]


def _add_errors(form: forms.BaseForm, exc: ValidationError, *, default: str | None = None) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else default, errors)
    else:
        form.add_error(default, exc)


def _plain(value: Any) -> Any:
    """A form value as it goes into the audit log (an object by its id)."""
    if isinstance(value, models.Model):
        return value.pk
    return value


def _audit_save(request: HttpRequest, obj: models.Model, form: forms.ModelForm[Any], change: bool) -> None:
    """Audit an admin save of a setting that has no service: what changed, before and after."""
    changed = list(form.changed_data) if change else list(form.cleaned_data)
    if change and not changed:
        return
    before = {name: _plain(form.initial.get(name)) for name in changed} if change else None
    after = {name: _plain(form.cleaned_data.get(name)) for name in changed}
    action = "change" if change else "add"
    audit_record(actor=request.user, action=f"requests.{obj._meta.model_name}_{action}", obj=obj,
                 before=before, after=after, community_id=getattr(obj, "place_id", None))


def _audit_delete(request: HttpRequest, obj: models.Model) -> None:
    audit_record(actor=request.user, action=f"requests.{obj._meta.model_name}_delete", obj=obj,
                 before={"str": str(obj)}, community_id=getattr(obj, "place_id", None))


def communities() -> QuerySet[Place]:
    return Place.objects.filter(kind=PlaceKind.COMMUNITY, is_active=True).order_by("path")


class CommunityChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("empty_label", _("（全部社区 / 默认）"))
        super().__init__(queryset=communities(), **kwargs)


class PrettyJSONField(forms.JSONField):
    """A JSON textarea that shows the value indented, Chinese unescaped, and keeps the
    text exactly as typed when it does not parse (so nothing is lost on an error)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={
            "rows": 18, "cols": 90, "class": "vLargeTextField", "spellcheck": "false", "autocomplete": "off",
        }))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


# Category -------------------------------------------------------------------------------

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
ATTRIBUTE_KEYS = ("variable", "code", "datatype", "required", "datatype_description", "order", "description",
                  "values")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def attributes_validate(raw: Any) -> list[dict[str, Any]]:
    """Check a category's extra questions against the Open311 attribute shape and return
    them with the optional keys filled in: ``code`` (unique), ``datatype`` (one of
    ``DATATYPES``), ``description``, and for the list types ``values`` of ``{key, name}``."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError(gettext("补充问题应为 JSON 数组（[...]），每一项是一个问题。"))
    errors: list[str] = []
    clean: list[dict[str, Any]] = []
    codes: set[str] = set()
    for number, item in enumerate(raw, start=1):
        where = gettext("第 %(n)d 个问题") % {"n": number}

        def bad(message: str, where: str = where) -> None:
            errors.append(f"{where}：{message}")

        if not isinstance(item, dict):
            bad(gettext("应为对象（{...}）。"))
            continue
        unknown = sorted(set(item) - set(ATTRIBUTE_KEYS))
        if unknown:
            bad(gettext("未知的键 %(keys)s（可用：%(allowed)s）。") % {"keys": ", ".join(unknown),
                                                                  "allowed": ", ".join(ATTRIBUTE_KEYS)})
        code = item.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            bad(gettext("code 必填，只能用字母、数字、下划线和连字符，最多 40 个字符。"))
        elif code in codes:
            bad(gettext("code “%(code)s” 重复。") % {"code": code})
        else:
            codes.add(code)
            where = f"{where}（{code}）"
        datatype = item.get("datatype")
        if datatype not in DATATYPES:
            bad(gettext("datatype 应为 %(types)s 之一。") % {"types": "、".join(DATATYPES)}, where)
        description = item.get("description")
        if not isinstance(description, str) or not description.strip() or len(description) > 300:
            bad(gettext("description（问题）必填，最多 300 字。"), where)
        for flag in ("required", "variable"):
            if flag in item and not isinstance(item[flag], bool):
                bad(gettext("%(key)s 应为 true 或 false。") % {"key": flag}, where)
        order = item.get("order", number)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 1000:
            bad(gettext("order 应为 0–1000 的整数。"), where)
        if not isinstance(item.get("datatype_description", ""), str):
            bad(gettext("datatype_description 应为文字。"), where)
        values = item.get("values")
        cleaned_values: list[dict[str, str]] = []
        if datatype in LIST_DATATYPES:
            if not isinstance(values, list) or not values:
                bad(gettext("选择题须有 values：[{\"key\": \"…\", \"name\": \"…\"}, …]。"), where)
            else:
                keys: set[str] = set()
                for value in values:
                    key = value.get("key") if isinstance(value, dict) else None
                    name = value.get("name") if isinstance(value, dict) else None
                    if isinstance(key, bool) or not isinstance(key, str | int) or str(key).strip() == "" \
                            or not isinstance(name, str) or not name.strip() or set(value) - {"key", "name"}:
                        bad(gettext("values 的每一项应为 {\"key\": \"…\", \"name\": \"…\"}。"), where)
                        break
                    if str(key) in keys:
                        bad(gettext("values 中的 key “%(key)s” 重复。") % {"key": key}, where)
                        break
                    keys.add(str(key))
                    cleaned_values.append({"key": str(key), "name": name.strip()})
        elif values not in (None, []):
            bad(gettext("只有选择题（singlevaluelist、multivaluelist）才有 values。"), where)
        attribute: dict[str, Any] = {
            "variable": item.get("variable", True), "code": code, "datatype": datatype,
            "required": item.get("required", False), "datatype_description": item.get("datatype_description", ""),
            "order": order, "description": description.strip() if isinstance(description, str) else description,
        }
        if datatype in LIST_DATATYPES:
            attribute["values"] = cleaned_values
        clean.append(attribute)
    if errors:
        raise ValidationError(errors)
    return clean


class CategoryForm(forms.ModelForm[Category]):
    attributes = PrettyJSONField(
        label=_("补充问题（Open311 attributes）"), required=False,
        help_text=_('JSON 数组，每项一个问题，如 {"code": "floor", "datatype": "string", "required": false, '
                    '"description": "所在楼层"}；选择题（singlevaluelist / multivaluelist）另加 '
                    '"values": [{"key": "light", "name": "楼道灯"}]。datatype 可选 string、number、datetime、text、'
                    'singlevaluelist、multivaluelist。'),
    )
    default_organisation_kind = forms.ChoiceField(
        label=_("默认派往的合作单位类型"), required=False,
        choices=[("", "—"), *OrganisationKind.choices],
    )

    class Meta:
        model = Category
        fields = ["code", "name", "name_en", "group", "description", "keywords", "attributes", "default_priority",
                  "default_handler_role", "default_organisation_kind", "allow_anonymous", "excluded_from_satisfaction",
                  "is_active", "order"]

    def clean_attributes(self) -> list[dict[str, Any]]:
        return attributes_validate(self.cleaned_data.get("attributes"))


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    form = CategoryForm
    list_display = ["name", "code", "group", "default_priority", "default_handler_role", "allow_anonymous",
                    "excluded_from_satisfaction", "is_active", "order"]
    list_filter = ["group", "is_active", "default_priority", "allow_anonymous"]
    search_fields = ["name", "code", "keywords"]
    ordering = ["order", "code"]

    def get_readonly_fields(self, request: HttpRequest, obj: Category | None = None) -> tuple[str, ...]:
        # The code is the Open311 service_code that clients keep: fixed once created.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False  # requests keep their category: switch it off instead

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_save(request, obj, form, change)


# SLA policies ---------------------------------------------------------------------------

# The longest target each unit may have: about a year, so no deadline runs off the calendar.
UNIT_MAX = {TimeUnit.HOURS: 24 * 366, TimeUnit.WORKING_HOURS: 2000, TimeUnit.WORKING_DAYS: 250}


class SlaPolicyForm(forms.ModelForm[SlaPolicy]):
    place = CommunityChoiceField(label=_("适用社区"), help_text=_("留空则适用所有社区"))

    class Meta:
        model = SlaPolicy
        fields = ["place", "category", "priority", "accept_amount", "accept_unit", "contact_amount", "contact_unit",
                  "resolve_amount", "resolve_unit", "warn_at_percent", "street_after_days"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for target in ("accept", "contact", "resolve"):
            amount, unit = cleaned.get(f"{target}_amount"), cleaned.get(f"{target}_unit")
            if amount is None or not unit:
                continue
            if amount < 1:
                self.add_error(f"{target}_amount", gettext("时限至少为 1。"))
            elif amount > UNIT_MAX[TimeUnit(unit)]:
                self.add_error(f"{target}_amount", gettext("时限过长：按此单位最多 %(n)d。") % {"n": UNIT_MAX[TimeUnit(unit)]})
        warn = cleaned.get("warn_at_percent")
        if warn is not None and not 0 < warn < 100:
            self.add_error("warn_at_percent", gettext("提醒节点应在 1–99 之间。"))
        street = cleaned.get("street_after_days")
        if street is not None and street > 60:
            self.add_error("street_after_days", gettext("最多 60 个工作日。"))
        priority = cleaned.get("priority")
        if priority and "place" not in self.errors and "category" not in self.errors:
            place, category = cleaned.get("place"), cleaned.get("category")
            same = SlaPolicy.objects.filter(priority=priority).exclude(pk=self.instance.pk)
            same = same.filter(place=place) if place else same.filter(place__isnull=True)
            same = same.filter(category=category) if category else same.filter(category__isnull=True)
            if same.exists():
                self.add_error(None, gettext("同一社区、类别和紧急程度已有时限标准，请直接修改那一条。"))
        return cleaned

    def validate_constraints(self) -> None:
        # Checked in clean() with messages people can read; the database still enforces them.
        return None


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    form = SlaPolicyForm
    list_display = ["__str__", "scope", "priority", "accept", "contact", "resolve", "warn_at_percent",
                    "street_after_days"]
    list_filter = ["priority", "category", ("place", admin.EmptyFieldListFilter)]
    list_select_related = ["place", "category"]
    ordering = ["place__path", "category__order", "priority"]

    @admin.display(description=_("适用社区"))
    def scope(self, obj: SlaPolicy) -> str:
        return str(obj.place) if obj.place_id else gettext("全部社区")

    def _target(self, amount: int, unit: str) -> str:
        return f"{amount} {TimeUnit(unit).label}"

    @admin.display(description=_("受理"))
    def accept(self, obj: SlaPolicy) -> str:
        return self._target(obj.accept_amount, obj.accept_unit)

    @admin.display(description=_("首次联系"))
    def contact(self, obj: SlaPolicy) -> str:
        return self._target(obj.contact_amount, obj.contact_unit)

    @admin.display(description=_("办结"))
    def resolve(self, obj: SlaPolicy) -> str:
        return self._target(obj.resolve_amount, obj.resolve_unit)

    def save_model(self, request: HttpRequest, obj: SlaPolicy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_save(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: SlaPolicy) -> None:
        _audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SlaPolicy]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


# Working hours --------------------------------------------------------------------------

class WorkingHoursForm(forms.ModelForm[WorkingHours]):
    place = CommunityChoiceField(label=_("社区"), help_text=_("留空则为默认工作时间（各社区未单独设置时使用）"))
    windows = PrettyJSONField(
        label=_("每周工作时段"),
        help_text=_('JSON：按星期（"0"=周一 … "6"=周日）列出时段，如 {"0": [["09:00", "12:00"], ["13:30", "17:30"]], '
                    '"5": [], "6": []}。未列出的一天为休息日。'),
    )
    workday_template = forms.TypedChoiceField(label=_("调休上班日按星期几的时段"), choices=WEEKDAY_CHOICES,
                                              coerce=int, initial=0)

    class Meta:
        model = WorkingHours
        fields = ["place", "windows", "workday_template"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "windows" in cleaned and "workday_template" in cleaned:
            try:
                cleaned["windows"] = calendar_admin.windows_normalise(
                    cleaned["windows"], workday_template=cleaned["workday_template"])
            except ValidationError as exc:
                _add_errors(self, exc, default="windows")
        if "place" not in self.errors:
            place = cleaned.get("place")
            same = WorkingHours.objects.exclude(pk=self.instance.pk)
            if (same.filter(place=place) if place else same.filter(place__isnull=True)).exists():
                self.add_error("place", gettext("该社区已有工作时间设置，请直接修改那一条。"))
        return cleaned

    def validate_constraints(self) -> None:
        return None  # checked in clean()


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin[WorkingHours]):
    form = WorkingHoursForm
    list_display = ["__str__", "summary", "workday_template"]
    list_select_related = ["place"]

    @admin.display(description=_("每周工作时段"))
    def summary(self, obj: WorkingHours) -> str:
        days = dict(WEEKDAY_CHOICES)
        parts = []
        for key, spans in sorted((obj.windows or {}).items()):
            if spans and str(key).isdigit() and int(key) in days:
                parts.append(f"{days[int(key)]} " + "，".join(f"{s}–{e}" for s, e in spans))
        return "；".join(parts) or "—"

    def save_model(self, request: HttpRequest, obj: WorkingHours, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = calendar_admin.working_hours_set(
            windows=data["windows"], workday_template=data["workday_template"], place=data.get("place"),
            by=request.user, row=obj if change else None,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: WorkingHours) -> None:
        calendar_admin.working_hours_delete(row=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WorkingHours]) -> None:
        for obj in queryset:
            calendar_admin.working_hours_delete(row=obj, by=request.user)


# Holidays and adjusted working days --------------------------------------------------

class CalendarDayForm(forms.ModelForm[CalendarDay]):
    place = CommunityChoiceField(label=_("社区"), empty_label=_("（全国）"),
                                 help_text=_("留空为全国安排；选择社区则只对该社区生效，优先于全国安排。"))

    class Meta:
        model = CalendarDay
        fields = ["place", "date", "kind", "name"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        day = cleaned.get("date")
        if day is not None and "place" not in self.errors:
            place = cleaned.get("place")
            same = CalendarDay.objects.filter(date=day).exclude(pk=self.instance.pk)
            if (same.filter(place=place) if place else same.filter(place__isnull=True)).exists():
                self.add_error("date", gettext("该日期已有记录，请直接修改那一条。"))
        return cleaned

    def validate_constraints(self) -> None:
        return None  # checked in clean()


class ScopeFilter(admin.SimpleListFilter):
    title = _("范围")
    parameter_name = "scope"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("national", gettext("全国")), ("community", gettext("社区自设"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "national":
            return queryset.filter(place__isnull=True)
        if self.value() == "community":
            return queryset.filter(place__isnull=False)
        return queryset


def _year_field(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(min_value=2000, max_value=2100, **kwargs)


class SyncForm(forms.Form):
    year = _year_field(label=_("年份"))


class LoadForm(forms.Form):
    file = forms.FileField(label=_("CSV 文件"), help_text=_(
        "每行：日期,类型,名称，如 2027-01-01,放假,元旦；类型为 holiday/放假 或 workday/上班。可有表头行。"))
    place = CommunityChoiceField(label=_("社区"), empty_label=_("（全国）"))
    replace_year = _year_field(label=_("整年替换"), required=False, help_text=_(
        "填写年份则文件即为该年的完整安排：该年不在文件中的记录会被删除。"))


MAX_UPLOAD_BYTES = 256 * 1024


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin[CalendarDay]):
    form = CalendarDayForm
    change_list_template = "admin/requests/calendarday/change_list.html"
    list_display = ["date", "weekday", "kind", "name", "scope"]
    list_filter = ["kind", ScopeFilter]
    date_hierarchy = "date"
    search_fields = ["name"]
    list_select_related = ["place"]
    ordering = ["date"]
    list_per_page = 100

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return str(WEEKDAY_CHOICES[obj.date.weekday()][1])

    @admin.display(description=_("范围"), ordering="place__path")
    def scope(self, obj: CalendarDay) -> str:
        return str(obj.place) if obj.place_id else gettext("全国")

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = calendar_admin.calendar_day_set(
            day=data["date"], kind=data["kind"], name=data.get("name", ""), place=data.get("place"),
            by=request.user, row=obj if change else None,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        calendar_admin.calendar_day_delete(row=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        for obj in queryset:
            calendar_admin.calendar_day_delete(row=obj, by=request.user)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("sync/", wrap(self.sync_view), name="requests_calendarday_sync"),
            path("load/", wrap(self.load_view), name="requests_calendarday_load"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **extra}

    def _changelist(self, year: int | None = None) -> HttpResponseRedirect:
        url = reverse("admin:requests_calendarday_changelist")
        return HttpResponseRedirect(f"{url}?date__year={year}" if year else url)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        """Copy a year of the holiday library into national rows (idempotent)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        years = calendar_admin.library_years()
        this_year = timezone.localdate().year
        form = SyncForm(request.POST or None, initial={"year": min(this_year + 1, max(years, default=this_year))})
        if request.method == "POST" and form.is_valid():
            year = form.cleaned_data["year"]
            try:
                result = calendar_admin.calendar_year_sync(year=year, by=request.user)
            except ValidationError as exc:
                form.add_error("year", exc)
            else:
                self.message_user(request, gettext("%(year)d 年：新增 %(added)d 条，已有且一致 %(same)d 条。")
                                  % {"year": year, "added": result.added, "same": result.same}, messages.SUCCESS)
                for row in result.kept:
                    self.message_user(request, gettext("保留了与节假日库不同的记录：%(day)s %(kind)s")
                                      % {"day": row.date.isoformat(), "kind": row.get_kind_display()},
                                      messages.WARNING)
                return self._changelist(year)
        context = self._context(request, gettext("从节假日库同步一年"), form=form,
                                first_year=years[0] if years else None, last_year=years[-1] if years else None)
        return TemplateResponse(request, "admin/requests/calendarday/sync.html", context,
                                status=400 if form.errors else 200)

    def load_view(self, request: HttpRequest) -> HttpResponse:
        """Load days from a CSV file (a year the State Council published before the
        library knows it); every bad row is listed and nothing is written."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = LoadForm(request.POST or None, request.FILES or None)
        row_errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            replace_year = form.cleaned_data.get("replace_year")
            if upload.size > MAX_UPLOAD_BYTES:
                form.add_error("file", gettext("文件过大：节假日安排的 CSV 不应超过 256 KB。"))
            else:
                rows, errors = calendar_admin.calendar_csv_parse(upload.read(), year=replace_year)
                row_errors = [str(error) for error in errors]
                if not errors:
                    try:
                        result = calendar_admin.calendar_year_load(
                            rows=rows, place=form.cleaned_data.get("place"), replace_year=replace_year,
                            by=request.user, source=f"upload:{upload.name}",
                        )
                    except ValidationError as exc:
                        row_errors = list(exc.messages)
                    else:
                        self.message_user(
                            request,
                            gettext("已导入：新增 %(added)d，更新 %(updated)d，未变 %(unchanged)d，删除 %(removed)d。")
                            % {"added": result.added, "updated": result.updated, "unchanged": result.unchanged,
                               "removed": result.removed},
                            messages.SUCCESS,
                        )
                        return self._changelist(result.years[0] if len(result.years) == 1 else None)
        context = self._context(request, gettext("导入节假日安排（CSV）"), form=form, row_errors=row_errors)
        failed = bool(form.errors or row_errors)
        return render(request, "admin/requests/calendarday/load.html", context, status=400 if failed else 200)


# Reply templates and rates ---------------------------------------------------------------

class ReplyTemplateForm(forms.ModelForm[ReplyTemplate]):
    place = CommunityChoiceField(label=_("社区"), help_text=_("留空则所有社区可用"))

    class Meta:
        model = ReplyTemplate
        fields = ["place", "category", "title", "body"]


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin[ReplyTemplate]):
    form = ReplyTemplateForm
    list_display = ["title", "category", "scope"]
    list_filter = ["category", ("place", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body"]
    list_select_related = ["place", "category"]

    @admin.display(description=_("社区"))
    def scope(self, obj: ReplyTemplate) -> str:
        return str(obj.place) if obj.place_id else gettext("所有社区")

    def save_model(self, request: HttpRequest, obj: ReplyTemplate, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_save(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: ReplyTemplate) -> None:
        _audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ReplyTemplate]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


WEIGHT_FIELDS = ("response_weight", "resolution_weight", "satisfaction_weight")


class RatesConfigForm(forms.ModelForm[RatesConfig]):
    class Meta:
        model = RatesConfig
        fields = ["place", *WEIGHT_FIELDS, "basic_weight"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in WEIGHT_FIELDS:
            value = cleaned.get(name)
            if value is not None and value < 0:
                self.add_error(name, gettext("权重不能为负数。"))
        basic = cleaned.get("basic_weight")
        if basic is not None and not 0 <= basic <= 1:
            self.add_error("basic_weight", gettext("系数应在 0–1 之间。"))
        weights = [cleaned.get(name) for name in WEIGHT_FIELDS]
        if all(w is not None for w in weights) and not any(weights):
            self.add_error(None, gettext("三项权重不能全为 0。"))
        if "place" not in self.errors:
            place = cleaned.get("place")
            same = RatesConfig.objects.exclude(pk=self.instance.pk)
            if (same.filter(place=place) if place else same.filter(place__isnull=True)).exists():
                self.add_error("place", gettext("该地点已有权重设置，请直接修改那一条。"))
        return cleaned

    def validate_constraints(self) -> None:
        return None  # checked in clean()


@admin.register(RatesConfig)
class RatesConfigAdmin(admin.ModelAdmin[RatesConfig]):
    form = RatesConfigForm
    list_display = ["__str__", *WEIGHT_FIELDS, "basic_weight"]
    list_select_related = ["place"]
    autocomplete_fields = ["place"]

    def save_model(self, request: HttpRequest, obj: RatesConfig, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_save(request, obj, form, change)
        total = sum((Decimal(getattr(obj, name)) for name in WEIGHT_FIELDS), Decimal(0))
        if total != 1:
            self.message_user(
                request,
                gettext("三项权重之和为 %(total)s，不等于 1：综合得分将不在 0–100 分之间，请确认。") % {"total": total},
                messages.WARNING,
            )

    def delete_model(self, request: HttpRequest, obj: RatesConfig) -> None:
        _audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RatesConfig]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


# Requests: read-only -------------------------------------------------------------------

@admin.register(Request)
class RequestAdmin(admin.ModelAdmin[Request]):
    """To look, not to change: every write to a request is a lifecycle service, which
    keeps its history, the rollups and the residents informed."""

    list_display = ["id", "title", "community", "category", "status", "priority", "channel", "submitted_at",
                    "resolve_due_at", "escalation"]
    list_filter = ["status", "priority", "channel", "category", "needs_review", "escalation"]
    search_fields = ["=id", "title"]
    list_select_related = ["community", "category"]
    date_hierarchy = "submitted_at"
    show_full_result_count = False
    list_per_page = 50
    # The contact details are sealed: shown masked, never in the clear.
    fields = ("community", "place", "grid", "category", "priority", "status", "channel", "title", "description",
              "address", "lat", "long", "attributes", "reporter", "anonymous", "masked_contact_name",
              "masked_contact_phone", "masked_contact_email", "entered_by", "handler", "organisation",
              "merged_into", "submitted_at", "accepted_at", "first_contact_at", "resolved_at", "closed_at",
              "accept_due_at", "contact_due_at", "resolve_due_at", "paused_at", "warned_at", "escalation",
              "breached_at", "resolution", "close_reason", "answer", "rating", "solved", "rated_at",
              "reopen_count", "needs_review", "version")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Request | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Request | None = None) -> bool:
        return False

    @admin.display(description=_("联系人"))
    def masked_contact_name(self, obj: Request) -> str:
        return mask(obj.contact_name) or "—"

    @admin.display(description=_("联系电话"))
    def masked_contact_phone(self, obj: Request) -> str:
        return mask(obj.contact_phone) or "—"

    @admin.display(description=_("电子邮箱"))
    def masked_contact_email(self, obj: Request) -> str:
        return mask(obj.contact_email) or "—"

