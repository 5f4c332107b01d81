"""Forms of the vote pages: drafting a vote, the ballot (the same form serves the voter on
the web and the member of staff typing in a paper ballot), proxies, paper entries and
the owners' roll upload. Each form checks only what a person typed, in words; the
services decide everything else (who may, when, single counting)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.deliberation import rules
from linli.deliberation.models import Eligibility, OutcomeRule, QuestionKind, Vote, VoteOption
from linli.deliberation.voting import MAX_OPTIONS, OPTION_MAX, normalise_receipt

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
SECRET, NAMED = "secret", "named"


def _when(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": _("请填写时间。"), "invalid": _("请按“年-月-日 时:分”填写时间。")},
    )


class ChoicesForm(forms.Form):
    """Choice fields whose choices come from the page (``choices`` maps field name →
    choices); a value not offered is refused in words."""

    def __init__(self, *args: Any, choices: Mapping[str, Sequence[tuple[Any, Any]]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, rows in (choices or {}).items():
            field = self.fields[name]
            blank = [] if field.required else [("", _("（不选）"))]
            field.choices = blank + list(rows)  # type: ignore[attr-defined]


class VoteForm(ChoicesForm):
    """Drafting a vote: the question, who may vote, how it is counted, when."""

    title = forms.CharField(label=_("表决事项"), max_length=200)
    description = forms.CharField(label=_("说明"), max_length=8000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}),
                                  help_text=_("向投票人说明背景、方案和费用等。"))
    place = forms.TypedChoiceField(label=_("范围"), coerce=int, help_text=_("谁有投票资格，按这个范围确定。"))
    question_kind = forms.ChoiceField(label=_("表决方式"), choices=QuestionKind.choices, widget=forms.RadioSelect,
                                      initial=QuestionKind.YES_NO)
    options = forms.CharField(
        label=_("选项（每行一个）"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("“赞成/反对/弃权”不需要填写；单选、多选、排序选择至少两个选项，每个不超过 %(n)d 字。")
        % {"n": OPTION_MAX},
    )
    min_choices = forms.IntegerField(label=_("至少选择（多选）"), min_value=1, max_value=MAX_OPTIONS, required=False,
                                     initial=1)
    max_choices = forms.IntegerField(label=_("至多选择（多选）"), min_value=1, max_value=MAX_OPTIONS, required=False,
                                     initial=1)
    seats = forms.IntegerField(label=_("当选名额（多选）"), min_value=1, max_value=MAX_OPTIONS, required=False,
                               help_text=_("留空则等于“至多选择”。"))
    eligibility = forms.ChoiceField(label=_("投票资格"), choices=Eligibility.choices, widget=forms.RadioSelect,
                                    initial=Eligibility.ADULTS)
    owner_roll = forms.TypedChoiceField(label=_("业主名册（业主表决）"), coerce=int, required=False, empty_value=None)
    representatives = forms.CharField(
        label=_("居民代表名单（居民代表表决）"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("每行一位：姓名；同名时在姓名后空一格写门牌，如“张三 502室”。"),
    )
    rule = forms.ChoiceField(label=_("表决规则"), choices=OutcomeRule.choices, widget=forms.RadioSelect,
                             initial=OutcomeRule.SIMPLE_MAJORITY)
    ballot = forms.ChoiceField(
        label=_("投票方式"), widget=forms.RadioSelect, initial=SECRET,
        choices=[(SECRET, _("无记名投票：选票不与投票人关联，截止前任何人（包括工作人员）都看不到结果")),
                 (NAMED, _("记名投票：工作人员可查看每人的选票；截止前可修改，保留修改记录（业主表决一律记名）"))],
    )
    opens_at = _when(_("开始时间"))
    closes_at = _when(_("截止时间"))
    meeting = forms.TypedChoiceField(label=_("所属会议（可不选）"), coerce=int, required=False, empty_value=None)
    agenda_item = forms.TypedChoiceField(label=_("议程（可不选）"), coerce=int, required=False, empty_value=None)

    def clean_options(self) -> list[str]:
        text = self.cleaned_data.get("options") or ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) > MAX_OPTIONS:
            raise forms.ValidationError(_("选项最多 %(n)d 个。") % {"n": MAX_OPTIONS})
        long = [line for line in lines if len(line) > OPTION_MAX]
        if long:
            raise forms.ValidationError(_("每个选项不超过 %(n)d 字。") % {"n": OPTION_MAX})
        return lines

    def clean_representatives(self) -> list[str]:
        text = self.cleaned_data.get("representatives") or ""
        return [line.strip() for line in text.splitlines() if line.strip()][:500]


class BallotForm(forms.Form):
    """The ballot of one vote, built from its question. ``choice()`` gives what
    ``rules.choice_key`` takes; the form refuses, in words, what the question does not
    allow, and keeps every mark made."""

    def __init__(self, *args: Any, vote: Vote, options: list[VoteOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vote = vote
        self.options = options
        self.question = vote.question(options)
        self.labels = {o.key: o.label for o in options}
        kind = vote.question_kind
        if kind == QuestionKind.YES_NO:
            self.fields["choice"] = forms.ChoiceField(
                label=_("您的意见"), widget=forms.RadioSelect,
                choices=[(rules.FOR, _("赞成")), (rules.AGAINST, _("反对")), (rules.ABSTAIN, _("弃权"))],
                error_messages={"required": _("请选择赞成、反对或弃权。")},
            )
        elif kind == QuestionKind.SINGLE:
            self.fields["choice"] = forms.ChoiceField(
                label=_("请选择一项"), widget=forms.RadioSelect,
                choices=[(o.key, o.label) for o in options] + [(rules.BLANK, _("弃权（不选任何一项）"))],
                error_messages={"required": _("请选择一项；如要弃权，请选“弃权”。")},
            )
        elif kind == QuestionKind.MULTIPLE:
            if vote.min_choices == vote.max_choices:
                label = _("请选择 %(n)d 项") % {"n": vote.min_choices}
            else:
                label = _("请选择 %(min)d 至 %(max)d 项") % {"min": vote.min_choices, "max": vote.max_choices}
            self.fields["choices"] = forms.MultipleChoiceField(
                label=label, widget=forms.CheckboxSelectMultiple, required=False,
                choices=[(o.key, o.label) for o in options],
            )
            self.fields["blank"] = forms.BooleanField(label=_("弃权（不选任何一项）"), required=False)
        else:
            for position in range(1, len(options) + 1):
                self.fields[f"rank_{position}"] = forms.ChoiceField(
                    label=_("第 %(n)d 位") % {"n": position}, required=False,
                    choices=[("", _("（不排）"))] + [(o.key, o.label) for o in options],
                )
            self.fields["blank"] = forms.BooleanField(label=_("弃权（不排任何一项）"), required=False)

    @property
    def rank_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("rank_")]

    def _raw_choice(self) -> Any:
        data = self.cleaned_data
        kind = self.vote.question_kind
        if kind in (QuestionKind.YES_NO, QuestionKind.SINGLE):
            value = data.get("choice")
            return None if value == rules.BLANK else value
        if kind == QuestionKind.MULTIPLE:
            picked = list(data.get("choices") or [])
            if data.get("blank"):
                if picked:
                    raise forms.ValidationError(_("已勾选弃权，就不要再选选项；或者取消弃权。"))
                return None
            if not picked:
                raise forms.ValidationError(_("请选择选项；如要弃权，请勾选“弃权”。"))
            return picked
        ranks = [data.get(f"rank_{i}") or "" for i in range(1, len(self.options) + 1)]
        while ranks and not ranks[-1]:
            ranks.pop()
        if data.get("blank"):
            if ranks:
                raise forms.ValidationError(_("已勾选弃权，就不要再排序；或者取消弃权。"))
            return None
        if not ranks:
            raise forms.ValidationError(_("请至少排出第 1 位；如要弃权，请勾选“弃权”。"))
        if "" in ranks:
            raise forms.ValidationError(_("请从第 1 位开始依次排，中间不要空位。"))
        return ranks

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            data["key"] = rules.choice_key(self.question, self._raw_choice())
        except rules.ChoiceError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def canonical(self) -> str:
        """The canonical choice (after ``is_valid``)."""
        return str(self.cleaned_data["key"])


class PaperBallotForm(BallotForm):
    """A paper ballot typed in: for a named vote the roll row (chosen on the page), for a
    secret vote the code printed on the paper."""

    def __init__(self, *args: Any, vote: Vote, options: list[VoteOption], **kwargs: Any) -> None:
        super().__init__(*args, vote=vote, options=options, **kwargs)
        if vote.secret:
            self.fields["code"] = forms.CharField(label=_("选票上印的编码"), max_length=40,
                                                  help_text=_("如 7K3M-Q9PX-2D4R-8VTA，大小写、空格不限。"))
        else:
            self.fields["entry"] = forms.IntegerField(widget=forms.HiddenInput)
            self.fields["proxy"] = forms.TypedChoiceField(label=_("由受托人代填（可不选）"), coerce=int, required=False,
                                                          empty_value=None)

    def clean_code(self) -> str:
        code = normalise_receipt(self.cleaned_data.get("code") or "")
        if not code:
            raise forms.ValidationError(_("编码应为 16 位字母和数字，请核对选票。"))
        return code


class RollSearchForm(forms.Form):
    q = forms.CharField(label=_("查找投票人"), max_length=60, required=False,
                        help_text=_("输入姓名、门牌或业主名称的一部分。"))


class ProxyForm(forms.Form):
    principal = forms.IntegerField(widget=forms.HiddenInput)
    proxy_name = forms.CharField(label=_("受托人姓名"), max_length=60)
    proxy_username = forms.CharField(label=_("受托人的账号（可不填）"), max_length=150, required=False,
                                     help_text=_("填写后受托人可以在网上代为投票；不填则只能代填纸质选票。"))
    authorisation_ref = forms.CharField(label=_("授权委托书编号"), max_length=100,
                                        help_text=_("工作人员看过书面授权委托书后登记；请写委托书上的编号或存档号。"))
    authorisation_file = forms.ImageField(label=_("委托书照片（可不传）"), required=False,
                                          help_text=_("照片会重新压缩，不保留拍摄位置等信息。"))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200)


class PaperCodesForm(forms.Form):
    count = forms.IntegerField(label=_("要印制的选票张数"), min_value=1, max_value=20_000)


class ReceiptLookupForm(forms.Form):
    receipt = forms.CharField(label=_("回执码"), max_length=40,
                              help_text=_("16 位字母和数字，如 7K3M-Q9PX-2D4R-8VTA；大小写、空格、横线不限。"))

    def clean_receipt(self) -> str:
        code = normalise_receipt(self.cleaned_data.get("receipt") or "")
        if not code:
            raise forms.ValidationError(_("回执码应为 16 位字母和数字，请核对。"))
        return code


class OwnerRollForm(ChoicesForm):
    place = forms.TypedChoiceField(label=_("物业管理区域"), coerce=int,
                                   help_text=_("本名册覆盖的社区、网格或楼栋。"))
    name = forms.CharField(label=_("名册名称（可不填）"), max_length=120, required=False)
    developer_name = forms.CharField(
        label=_("建设单位名称（可不填）"), max_length=120, required=False,
        help_text=_("登记册中“业主”为此名称的房屋，视为建设单位未售出的房屋，合计算一名业主。"),
    )
    file = forms.FileField(label=_("房产登记册（.xlsx 或 .csv）"),
                           help_text=_("须有“房屋”“业主”“面积”三列；可选“证件号码”“未售”列。"))
    previewed = forms.CharField(widget=forms.HiddenInput, required=False)

