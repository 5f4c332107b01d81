"""Forms of the surveys pages: the builder, distribution and the sample-size calculator,
and the answer sheet built from a questionnaire's questions (the same sheet serves the
resident online and the member of staff entering a paper questionnaire)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.places.models import Place
from linli.requests.models import Rating
from linli.surveys.models import (
    SCALES,
    Dimension,
    DistributionMode,
    Kind,
    Mechanism,
    Question,
    Questionnaire,
    Strata,
    Template,
)
from linli.surveys.responses import ANSWER_TEXT_MAX, field_name
from linli.surveys.services import (
    INTRO_MAX,
    LABEL_MAX,
    PURPOSE_MAX,
    RETENTION_MAX,
    TEXT_MAX,
    TITLE_MAX,
    QuestionInput,
)

REQUIRED = {"required": _("请回答这道题。")}


class CreateForm(forms.Form):
    place = forms.TypedChoiceField(label=_("范围"), coerce=int)
    template = forms.ChoiceField(
        label=_("从哪里开始"), widget=forms.RadioSelect, initial=Template.SATISFACTION,
        choices=[(Template.SATISFACTION, _("模板：社区居民满意度测评（12 个维度，36 道评分题和背景题）")),
                 (Template.NEEDS, _("模板：居民需求调查（服务、活动、时间、渠道）")),
                 ("", _("空白问卷"))], required=False,
    )
    title = forms.CharField(label=_("标题"), max_length=TITLE_MAX, required=False,
                            help_text=_("空白问卷必填；使用模板时可留空，沿用模板标题。"))

    def __init__(self, *args: Any, places: list[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [(p.pk, p.address or p.name) for p in places]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("template") and not (data.get("title") or "").strip():
            self.add_error("title", _("空白问卷请填写标题。"))
        return data


class SettingsForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=TITLE_MAX)
    intro = forms.CharField(label=_("开头说明"), max_length=INTRO_MAX, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))
    purpose = forms.CharField(label=_("调查目的（向居民说明）"), max_length=PURPOSE_MAX, required=False)
    retention_months = forms.IntegerField(label=_("答卷保存期限（月）"), min_value=1, max_value=RETENTION_MAX)
    anonymous = forms.BooleanField(label=_("匿名问卷：答卷不与居民的姓名、住址或账号关联"), required=False)
    opens_at = forms.DateTimeField(label=_("开始时间"), required=False,
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    closes_at = forms.DateTimeField(label=_("截止时间"), required=False,
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))

    @classmethod
    def initial_for(cls, questionnaire: Questionnaire) -> dict[str, Any]:
        return {name: getattr(questionnaire, name) for name in
                ("title", "intro", "purpose", "retention_months", "anonymous", "opens_at", "closes_at")}


class DimensionForm(forms.Form):
    code = forms.CharField(label=_("编码"), max_length=16, help_text=_("如 COMM、RESP；SAT、TRUST、PART 是模型的结果变量"))
    name = forms.CharField(label=_("名称"), max_length=60)
    mechanism = forms.ChoiceField(label=_("对应工作机制"), choices=Mechanism.choices, initial=Mechanism.OTHER)
    mode = forms.ChoiceField(label=_("测量模式"), choices=[("A", _("A（反映型，默认）")), ("B", _("B（形成型）"))],
                             initial="A")


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("题型"), choices=Kind.choices, initial=Kind.SCALE_1_10)
    text = forms.CharField(label=_("题目"), max_length=TEXT_MAX)
    dimension = forms.TypedChoiceField(label=_("维度"), coerce=int, required=False, empty_value=None)
    code = forms.CharField(label=_("题目编码"), max_length=24, required=False,
                           help_text=_("模型的题目编码，如 COMM1；不进入满意度模型的题可留空"))
    help = forms.CharField(label=_("提示"), max_length=TEXT_MAX, required=False)
    required = forms.BooleanField(label=_("必答"), required=False, initial=True)
    options = forms.CharField(label=_("选项（单选、多选题填写，每行一个）"), required=False,
                              widget=forms.Textarea(attrs={"rows": 5}))
    max_choices = forms.IntegerField(label=_("多选题最多选几项（0 表示不限）"), min_value=0, max_value=30,
                                     required=False, initial=0)
    low_label = forms.CharField(label=_("最低分含义（评分题）"), max_length=LABEL_MAX, required=False,
                                help_text=_("如：完全不同意"))
    high_label = forms.CharField(label=_("最高分含义（评分题）"), max_length=LABEL_MAX, required=False,
                                 help_text=_("如：完全同意"))

    def __init__(self, *args: Any, dimensions: list[Dimension], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dimensions = dimensions
        self.fields["dimension"].choices = [("", _("（不属于任何维度）"))] + [  # type: ignore[attr-defined]
            (d.pk, f"{d.code} {d.name}") for d in dimensions]

    @classmethod
    def initial_for(cls, question: Question) -> dict[str, Any]:
        return {
            "kind": question.kind, "text": question.text, "dimension": question.dimension_id, "code": question.code,
            "help": question.help, "required": question.required, "max_choices": question.max_choices,
            "low_label": question.low_label, "high_label": question.high_label,
            "options": "\n".join(option.label for option in question.options.all()),
        }

    def to_input(self) -> QuestionInput:
        data = self.cleaned_data
        dimension = next((d for d in self.dimensions if d.pk == data.get("dimension")), None)
        return QuestionInput(
            kind=data["kind"], text=data["text"], dimension=dimension, code=data.get("code") or "",
            help=data.get("help") or "", required=bool(data.get("required")), max_choices=data.get("max_choices") or 0,
            low_label=data.get("low_label") or "", high_label=data.get("high_label") or "",
            options=(data.get("options") or "").splitlines(),
        )


PERCENT = {"invalid": _("请输入数字。")}


class SampleSizeForm(forms.Form):
    margin = forms.DecimalField(label=_("允许误差（±%）"), min_value=0.5, max_value=20, decimal_places=2,
                                initial=5, error_messages=PERCENT)
    confidence = forms.TypedChoiceField(label=_("置信水平"), coerce=float, initial="0.95",
                                        choices=[("0.9", "90%"), ("0.95", "95%"), ("0.99", "99%")])
    proportion = forms.DecimalField(label=_("预期比例（不知道时用 0.5）"), min_value=0.01, max_value=0.99,
                                    decimal_places=2, initial=0.5, error_messages=PERCENT)
    population = forms.IntegerField(label=_("总体人数（留空表示很大）"), min_value=1, max_value=10_000_000,
                                    required=False)

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"margin": float(data["margin"]) / 100, "confidence": float(data["confidence"]),
                "proportion": float(data["proportion"]), "population": data.get("population")}


class DistributeForm(forms.Form):
    mode = forms.ChoiceField(label=_("发放给"), widget=forms.RadioSelect, choices=DistributionMode.choices,
                             initial=DistributionMode.SAMPLE)
    strata = forms.ChoiceField(label=_("分层"), widget=forms.RadioSelect, choices=Strata.choices, initial=Strata.GRID)
    margin = SampleSizeForm.base_fields["margin"]
    confidence = SampleSizeForm.base_fields["confidence"]
    proportion = SampleSizeForm.base_fields["proportion"]
    n = forms.IntegerField(label=_("样本量（留空按计算结果）"), min_value=1, max_value=1_000_000, required=False)
    seed = forms.IntegerField(label=_("随机种子（留空自动生成并记录）"), min_value=0, max_value=2**31 - 1, required=False)

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"mode": data["mode"], "strata": data["strata"], "margin": float(data["margin"]) / 100,
                "confidence": float(data["confidence"]), "proportion": float(data["proportion"]),
                "n": data.get("n"), "seed": data.get("seed")}


class PaperCodeForm(forms.Form):
    code = forms.CharField(label=_("纸质问卷上的编号"), max_length=20,
                           help_text=_("印在问卷右上角的 8 位编号，如 K7MP-3QXA（不区分大小写）"))


# The answer sheet ---------------------------------------------------------------------------

@dataclass
class Item:
    question: Question
    field: forms.BoundField
    number: int

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def is_scale(self) -> bool:
        return self.question.kind in SCALES

    @property
    def points(self) -> int:
        scale = SCALES.get(self.question.kind)
        return scale[1] - scale[0] + 1 if scale else 0


@dataclass
class Group:
    dimension: Dimension | None
    items: list[Item]


def _scale_choices(question: Question) -> list[tuple[int, str]]:
    if question.kind == Kind.FIVE_LEVEL:
        return [(rating.value, str(rating.label)) for rating in Rating]  # 5 非常满意 … 1 非常不满意
    low, high = SCALES[question.kind]
    return [(value, str(value)) for value in range(low, high + 1)]


class AnswerForm(forms.Form):
    """One field per question, named ``q<id>``. Pages render it with ``novalidate``, so
    a missing answer comes back from the server in words next to its question, with
    every other answer kept."""

    def __init__(self, *args: Any, questions: list[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[field_name(question)] = self._field(question)

    @staticmethod
    def _field(question: Question) -> forms.Field:
        common: dict[str, Any] = {"label": question.text, "required": question.required,
                                  "help_text": question.help, "error_messages": REQUIRED}
        if question.kind in SCALES:
            return forms.TypedChoiceField(choices=_scale_choices(question), coerce=int, widget=forms.RadioSelect,
                                          **common)
        options = [(option.pk, option.label) for option in question.options.all()]
        if question.kind == Kind.SINGLE:
            return forms.TypedChoiceField(choices=options, coerce=int, widget=forms.RadioSelect, **common)
        if question.kind == Kind.MULTIPLE:
            return forms.TypedMultipleChoiceField(choices=options, coerce=int, widget=forms.CheckboxSelectMultiple,
                                                  **common)
        return forms.CharField(max_length=ANSWER_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}), **common)

    def answers(self) -> dict[int, Any]:
        return {question.pk: self.cleaned_data.get(field_name(question)) for question in self.questions}

    def groups(self) -> list[Group]:
        """Consecutive questions of one dimension form a group (a fieldset on the page)."""
        groups: list[Group] = []
        for number, question in enumerate(self.questions, 1):
            item = Item(question, self[field_name(question)], number)
            if groups and groups[-1].dimension is not None and groups[-1].dimension == question.dimension or groups and groups[-1].dimension is None and question.dimension is None:
                groups[-1].items.append(item)
            else:
                groups.append(Group(question.dimension, [item]))
        return groups
