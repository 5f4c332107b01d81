"""The filters of the rates pages, read the same way by the HTML views, the Excel
export and the JSON API (``read_query``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from linli.insights.periods import (
    Period,
    PeriodError,
    custom_period,
    default_period,
    parse_period,
    period_choices,
)
from linli.insights.selectors import (
    RANKING_KINDS,
    RATES_KINDS,
    Filters,
    RatesScope,
    rates_nodes,
    rates_scope,
)
from linli.places.models import Place
from linli.requests.calendar import TIME_ZONE
from linli.requests.models import Category

CUSTOM = "custom"
MAX_ID = 2**63 - 1


class QuickSelect(forms.Select):
    """A select rendered in Python: a street's filters offer a few hundred options, and
    Django renders each option through a template of its own."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        chosen = "" if value is None else str(value)
        options = "".join(
            f'<option value="{escape(str(key))}"{" selected" if str(key) == chosen else ""}>{escape(str(label))}</option>'
            for key, label in self.choices
        )
        return mark_safe(f'<select name="{escape(name)}"{flatatt(final)}>{options}</select>')  # noqa: S308 - escaped


class _IdSelect(QuickSelect):
    """A select whose options are filled after the data is read (handlers and partners
    that have cases in view)."""


class RatesFilterForm(forms.Form):
    place = forms.IntegerField(label=_("地点"), required=False, min_value=1, max_value=MAX_ID, widget=QuickSelect)
    # Any period key is read (an old month typed into the URL too), not only the offered ones.
    period = forms.CharField(label=_("统计期"), required=False, widget=QuickSelect)
    start = forms.DateField(label=_("开始日期"), required=False, help_text=_("选择“自定义”时填写"),
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("结束日期"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    category = forms.ChoiceField(label=_("类别"), required=False, widget=QuickSelect)
    handler = forms.IntegerField(label=_("承办人"), required=False, min_value=1, max_value=MAX_ID, widget=_IdSelect)
    partner = forms.IntegerField(label=_("合作单位"), required=False, min_value=1, max_value=MAX_ID,
                                 widget=_IdSelect)

    def __init__(self, *args: Any, nodes: list[Place], categories: list[Category], today: date,
                 ranking: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.ranking = ranking
        self.categories = {c.code: c for c in categories}
        kinds = RANKING_KINDS if ranking else RATES_KINDS
        self.fields["place"].widget.choices = [
            (p.pk, ("\u3000" * max(0, p.depth - nodes[0].depth)) + p.name + ("" if p.is_active else _("（已停用）")))
            for p in nodes if p.kind in kinds
        ]
        self.fields["category"].choices = [("", _("全部类别"))] + [  # type: ignore[attr-defined]
            (c.code, c.name) for c in categories
        ]
        self.set_period_choices(None)
        if ranking:
            for name in ("handler", "partner"):
                del self.fields[name]

    def set_period_choices(self, current: Period | None) -> None:
        self.fields["period"].widget.choices = [
            *period_choices(self.today, current=current), (CUSTOM, _("自定义起止日期"))
        ]

    def set_people_choices(self, field: str, rows: list[Any], everyone: str) -> None:
        if field in self.fields:
            self.fields[field].widget.choices = [("", everyone)] + [(r.key, r.label) for r in rows if r.key]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        period_key = (data.get("period") or "").strip()[:40]
        start, end = data.get("start"), data.get("end")
        period: Period | None = None
        try:
            if period_key == CUSTOM or (not period_key and (start or end)):
                if not start or not end:
                    self.add_error("start" if not start else "end", _("自定义时段请填写开始和结束日期。"))
                else:
                    period = custom_period(start, end, today=self.today)
            elif period_key:
                period = parse_period(period_key, today=self.today)
            else:
                period = default_period(self.today)
        except PeriodError as exc:
            self.add_error("period" if period_key != CUSTOM else "end", str(exc))
        data["period_value"] = period
        if period is not None:
            self.set_period_choices(period)
        code = data.get("category") or ""
        data["category_value"] = self.categories.get(code) if code else None
        return data


@dataclass
class RatesQuery:
    form: RatesFilterForm
    scope: RatesScope
    categories: list[Category]
    today: date
    filters: Filters | None  # None when the form has errors

    @property
    def node(self) -> Place:
        return self.scope.node


def local_today() -> date:
    from django.utils import timezone

    return timezone.now().astimezone(TIME_ZONE).date()


def read_query(principal: Any, data: Any, *, ranking: bool = False) -> RatesQuery:
    """Check access (403 without rates, 404 for a place outside the scope) and read the
    filters. A bad filter leaves ``filters`` None and its message on the form."""
    nodes = rates_nodes(principal, ranking=ranking)
    categories = list(Category.objects.order_by("order", "code"))
    today = local_today()
    form = RatesFilterForm(data or None, nodes=nodes, categories=categories, today=today, ranking=ranking)
    valid = form.is_valid() if form.is_bound else True
    cleaned = form.cleaned_data if form.is_bound else {}
    place_id = cleaned.get("place") if "place" not in form.errors else None
    scope = rates_scope(nodes, place_id, ranking=ranking)
    if not form.is_bound:
        form = RatesFilterForm({"place": scope.node.pk, "period": default_period(today).key}, nodes=nodes,
                               categories=categories, today=today, ranking=ranking)
        form.is_valid()
        cleaned = form.cleaned_data
    filters = None
    if valid and cleaned.get("period_value") is not None:
        filters = Filters(period=cleaned["period_value"], category=cleaned.get("category_value"),
                          handler=cleaned.get("handler"), partner=cleaned.get("partner"))
    return RatesQuery(form=form, scope=scope, categories=categories, today=today, filters=filters)
