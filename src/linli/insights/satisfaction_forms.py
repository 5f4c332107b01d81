"""The forms of the satisfaction pages: the place picker, and starting a run from a
survey's responses or from an uploaded file (with a model, or the default one)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.insights.forms import QuickSelect
from linli.insights.pls_io import MODEL_MAX_BYTES
from linli.insights.satisfaction import BOOTSTRAP_CHOICES, DEFAULT_BOOTSTRAP
from linli.places.models import Place
from linli.surveys.models import Questionnaire

MAX_ID = 2**63 - 1
SEED_MAX = 2**62 - 1


def _bootstrap_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=_("自助法重抽样次数"), coerce=int, initial=DEFAULT_BOOTSTRAP,
        choices=[(n, str(n)) for n in BOOTSTRAP_CHOICES],
        help_text=_("用于计算每个指数的 95% 区间；次数越多区间越稳定，计算也越久（1000 次约需几秒）。"),
    )


def _seed_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("随机种子（选填）"), required=False, min_value=0, max_value=SEED_MAX,
        help_text=_("填同一个种子，可以精确重现同样的区间；留空则随机选取并记录在结果里。"),
    )


class PlaceForm(forms.Form):
    place = forms.IntegerField(label=_("地点"), required=False, min_value=1, max_value=MAX_ID, widget=QuickSelect)

    def __init__(self, *args: Any, nodes: list[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        top = min((p.depth for p in nodes), default=0)
        self.fields["place"].widget.choices = [
            (p.pk, ("\u3000" * max(0, p.depth - top)) + p.name + ("" if p.is_active else str(_("（已停用）"))))
            for p in nodes
        ]


class SurveyRunForm(forms.Form):
    questionnaire = forms.TypedChoiceField(label=_("问卷"), coerce=int)
    bootstrap = _bootstrap_field()
    seed = _seed_field()

    def __init__(self, *args: Any, questionnaires: list[Questionnaire], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "survey")
        super().__init__(*args, **kwargs)
        self.fields["questionnaire"].choices = [  # type: ignore[attr-defined]
            (q.pk, f"{q.title}（{q.place.name} · {q.get_status_display()}）") for q in questionnaires
        ]


class UploadRunForm(forms.Form):
    place = forms.TypedChoiceField(label=_("数据所属的社区或街道"), coerce=int)
    title = forms.CharField(label=_("名称（选填）"), required=False, max_length=160,
                            help_text=_("例如“2026 年第三季度入户调查”；留空则用文件名。"))
    period_date = forms.DateField(label=_("调查时间"), required=False,
                                  help_text=_("答卷是哪一天（或哪一轮开始时）收集的；用于趋势图，留空为今天。"),
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    file = forms.FileField(
        label=_("答卷数据（.xlsx 或 .csv）"),
        help_text=_("第一行是列名，每行一位受访者。使用默认模型时，列名用“满意度测评”模板的题目编码："
                    "COMM1–3、RESP1–3、DEMO1–3、SERV1–3、ENV1–3、ACT1–3、CARE1–3、STAFF1–3、OPEN1–3、"
                    "SAT1–3、TRUST1–3、PART1–3（1–10 分）；缺少整组的维度会自动略去。其他列会被忽略。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
    model = forms.CharField(
        label=_("模型（JSON，选填）"), required=False, max_length=MODEL_MAX_BYTES,
        help_text=_("留空使用默认的社区满意度模型。格式见使用说明：{\"blocks\": {\"SAT\": {\"items\": [...], "
                    "\"scale\": [1, 10]}, …}, \"paths\": [[\"RESP\", \"SAT\"], …]}"),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
    )
    bootstrap = _bootstrap_field()
    seed = _seed_field()

    def __init__(self, *args: Any, places: list[Place], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "upload")
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [(p.pk, p.address or p.name) for p in places]  # type: ignore[attr-defined]

    def clean_period_date(self) -> date | None:
        value: date | None = self.cleaned_data.get("period_date")
        if value is not None and not date(2000, 1, 1) <= value <= date(2100, 12, 31):
            raise forms.ValidationError(_("请填写 2000 年到 2100 年之间的日期。"))
        return value
