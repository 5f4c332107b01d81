"""Forms of the deliberation pages: proposals and their answers, meetings (times, the
poll, the agenda, sign-in, comments, minutes), decisions, actions and their progress,
and a community's settings. Each only checks what a person typed; the services decide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.deliberation.models import (
    ActionStatus,
    BodyKind,
    MeetingKind,
    PollAnswer,
    ProposalStatus,
)
from linli.deliberation.models.proposals import ANSWER_STATUSES
from linli.requests.forms import PhotosField

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
POLL_OPTIONS = 4  # candidate times offered when convening; more can be added on the meeting's page
DURATIONS = [(60, _("1 小时")), (90, _("1 个半小时")), (120, _("2 小时")), (180, _("3 小时")), (240, _("4 小时"))]
REQUEST_IDS_MAX = 20


def text_field(label: Any, *, required: bool = True, rows: int = 4, max_length: int = 4000,
               help_text: Any = "") -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}))


def when_field(label: Any, *, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, required=required, input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def duration_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=_("时长"), choices=DURATIONS, coerce=int, initial=120)


def place_choices(places: Sequence[Any]) -> list[tuple[int, str]]:
    return [(p.pk, p.address or p.name) for p in places]


class PickForm(forms.Form):
    """A form with choice fields whose choices come from the page (``choices`` maps
    field name → choices); a value not offered is refused in words."""

    def __init__(self, *args: Any, choices: Mapping[str, Sequence[tuple[Any, Any]]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, rows in (choices or {}).items():
            field = self.fields[name]
            blank = [] if isinstance(field, forms.MultipleChoiceField) or field.widget.input_type == "radio" \
                else [("", _("请选择"))]
            field.choices = blank + list(rows)  # type: ignore[attr-defined]


# Proposals --------------------------------------------------------------------------------------

class ProposalForm(PickForm):
    title = forms.CharField(label=_("提议标题"), max_length=120,
                            help_text=_("一句话说明您希望社区做什么，例如“在3号楼前增设休息座椅”。"))
    body = text_field(_("具体内容"), rows=6, help_text=_("为什么需要、建议怎么做。请不要填写他人的姓名、电话等个人信息。"))
    place = forms.TypedChoiceField(label=_("涉及范围"), coerce=int, widget=forms.RadioSelect)


class AnswerForm(PickForm):
    outcome = forms.ChoiceField(label=_("答复结果"), widget=forms.RadioSelect,
                                choices=[(s.value, s.label) for s in ANSWER_STATUSES])
    answer = text_field(_("答复内容（公开，须说明理由）"), rows=4)
    merged_into = forms.TypedChoiceField(label=_("合并到（仅“已合并”时填写）"), coerce=int, empty_value=None,
                                         required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") == ProposalStatus.MERGED and not data.get("merged_into"):
            self.add_error("merged_into", _("请选择合并到哪一项提议。"))
        return data


class AgendaPickForm(PickForm):
    """On a proposal's page: put it on a coming meeting's agenda."""

    meeting = forms.TypedChoiceField(label=_("列入哪次会议的议程"), coerce=int)


# Meetings ---------------------------------------------------------------------------------------

TIMING_CHOICES = [("fixed", _("已确定时间")), ("poll", _("给出几个备选时间，请居民投票"))]
BODY_CHOICES = [("", _("按会议类型默认（居民会议：年满十八周岁的居民）")),
                (BodyKind.ADULTS.value, BodyKind.ADULTS.label), (BodyKind.HOUSEHOLDS.value, BodyKind.HOUSEHOLDS.label),
                (BodyKind.REPRESENTATIVES.value, BodyKind.REPRESENTATIVES.label)]


class MeetingForm(PickForm):
    place = forms.TypedChoiceField(label=_("范围"), coerce=int)
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices, widget=forms.RadioSelect,
                             initial=MeetingKind.COUNCIL)
    body_kind = forms.ChoiceField(
        label=_("参会范围（计算法定人数）"), choices=BODY_CHOICES, required=False, widget=forms.RadioSelect,
        help_text=_("居民会议须过半数参会者到会方为有效；议事会、座谈会不计法定人数。"))
    representatives = forms.CharField(
        label=_("居民代表名单（参会范围为居民代表时）"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("每行一位：姓名；同名时在姓名后空一格写门牌，如“张三 502室”。"),
    )
    title = forms.CharField(label=_("会议名称"), max_length=120)
    description = text_field(_("说明（可选）"), required=False, rows=3)
    location = forms.CharField(label=_("地点（可选）"), max_length=200, required=False)
    timing = forms.ChoiceField(label=_("会议时间"), choices=TIMING_CHOICES, widget=forms.RadioSelect, initial="fixed")
    starts_at = when_field(_("开始时间"))
    duration = duration_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(1, POLL_OPTIONS + 1):
            self.fields[f"option_{i}"] = when_field(_("备选时间 %(n)s") % {"n": i})

    def option_fields(self) -> list[forms.BoundField]:
        return [self[f"option_{i}"] for i in range(1, POLL_OPTIONS + 1)]

    def clean_representatives(self) -> list[str]:
        text = self.cleaned_data.get("representatives") or ""
        return [line.strip() for line in text.splitlines() if line.strip()][:500]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        minutes = data.get("duration") or 120
        if data.get("timing") == "fixed":
            if not data.get("starts_at") and "starts_at" not in self.errors:
                self.add_error("starts_at", _("请填写开始时间，或选择“请居民投票”。"))
        elif data.get("timing") == "poll":
            starts = sorted({data[f"option_{i}"] for i in range(1, POLL_OPTIONS + 1) if data.get(f"option_{i}")})
            if not starts and not any(f"option_{i}" in self.errors for i in range(1, POLL_OPTIONS + 1)):
                self.add_error("option_1", _("请至少给出一个备选时间。"))
            data["time_options"] = [(s, s + timedelta(minutes=minutes)) for s in starts]
        return data

    def times(self) -> dict[str, Any]:
        """What ``meeting_create`` takes for the time: a start and end, or the options."""
        data = self.cleaned_data
        if data.get("timing") == "fixed":
            start: datetime = data["starts_at"]
            return {"starts_at": start, "ends_at": start + timedelta(minutes=data.get("duration") or 120)}
        return {"time_options": data.get("time_options") or []}


class PollForm(forms.Form):
    """A resident's answers to the candidate times, one question per time."""

    def __init__(self, *args: Any, options: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = list(options)
        for option in self.options:
            self.fields[f"option_{option.pk}"] = forms.ChoiceField(
                label=option, choices=PollAnswer.choices, widget=forms.RadioSelect, required=False)

    def answers(self) -> list[tuple[Any, str]]:
        return [(option, self.cleaned_data[f"option_{option.pk}"]) for option in self.options
                if self.cleaned_data.get(f"option_{option.pk}")]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(f"option_{o.pk}") for o in self.options):
            raise forms.ValidationError(_("请至少对一个时间作出选择。"))
        return data


class ScheduleForm(PickForm):
    option = forms.TypedChoiceField(label=_("选定的时间"), coerce=int, empty_value=None, required=False,
                                    widget=forms.RadioSelect)
    starts_at = when_field(_("或另定时间"))
    duration = duration_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("option") and not data.get("starts_at") and not self.errors:
            raise forms.ValidationError(_("请选择一个备选时间，或另填开始时间。"))
        return data


class OptionAddForm(forms.Form):
    starts_at = when_field(_("新的备选时间"), required=True)
    duration = duration_field()


class AgendaForm(PickForm):
    proposal = forms.TypedChoiceField(label=_("居民提议"), coerce=int, empty_value=None, required=False,
                                      help_text=_("选择一项提议，或在下面填写居委会的动议。"))
    title = forms.CharField(label=_("议题（动议）"), max_length=120, required=False)
    body = text_field(_("说明（可选）"), required=False, rows=3)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("proposal") and not (data.get("title") or "").strip() and not self.errors:
            self.add_error("title", _("请选择一项提议，或填写议题。"))
        return data


class SearchForm(forms.Form):
    q = forms.CharField(label=_("姓名或房号"), max_length=60, required=False)


class SignInForm(forms.Form):
    resident = forms.IntegerField(min_value=1, max_value=2**62, widget=forms.HiddenInput)


class CommentForm(forms.Form):
    body = text_field(_("您的意见"), rows=3, max_length=2000,
                      help_text=_("本社区居民和工作人员可以看到。请不要填写他人的个人信息。"))


class MinutesForm(forms.Form):
    minutes = text_field(_("会议纪要"), rows=12, max_length=20000,
                         help_text=_("公开后任何人都能在公开页面看到：只写议定事项和人数，不写个人信息。"))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("取消原因（会告知已参加时间投票的居民）"), max_length=200)


# Decisions and actions ----------------------------------------------------------------------

class DecisionForm(PickForm):
    title = forms.CharField(label=_("决定事项"), max_length=200)
    text = text_field(_("决定内容（公开）"), rows=6, max_length=8000,
                      help_text=_("决定将在公开页面显示，请勿填写个人信息。"))
    place = forms.TypedChoiceField(label=_("范围"), coerce=int, empty_value=None, required=False)
    vote = forms.TypedChoiceField(label=_("依据的表决（可选）"), coerce=int, empty_value=None, required=False,
                                  help_text=_("只列出已公布结果、尚未记录决定的表决。"))
    proposals = forms.TypedMultipleChoiceField(label=_("相关居民提议（可选）"), coerce=int, required=False,
                                               widget=forms.CheckboxSelectMultiple)
    requests = forms.CharField(label=_("相关诉求编号（可选）"), max_length=200, required=False,
                               help_text=_("例如：12, 15, 31"))

    def clean_requests(self) -> list[int]:
        return parse_ids(self.cleaned_data.get("requests") or "")


def parse_ids(text: str) -> list[int]:
    ids: list[int] = []
    for part in text.replace("，", ",").replace("、", ",").replace("#", " ").replace(",", " ").split():
        if not part.isdigit() or len(part) > 12:
            raise forms.ValidationError(_("“%(part)s”不是诉求编号，请只填数字，用逗号隔开。"), params={"part": part})
        if int(part) not in ids:
            ids.append(int(part))
    if len(ids) > REQUEST_IDS_MAX:
        raise forms.ValidationError(_("最多关联 %(n)s 件诉求。"), params={"n": REQUEST_IDS_MAX})
    return ids


class ActionForm(PickForm):
    title = forms.CharField(label=_("落实事项"), max_length=200)
    description = text_field(_("说明（可选，公开）"), required=False, rows=3)
    owner = forms.TypedChoiceField(label=_("负责人账号（可选）"), coerce=int, empty_value=None, required=False,
                                   help_text=_("负责人会收到通知，并可以更新进展。"))
    owner_label = forms.CharField(label=_("公开显示的负责人或负责单位"), max_length=150, required=False,
                                  help_text=_("公开页面显示这一项，例如“社区居委会”“安居物业”；不填则显示“××社区居委会”。请勿填写个人姓名。"))
    due_on = forms.DateField(label=_("完成期限"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    parent = forms.TypedChoiceField(label=_("上级事项（可选）"), coerce=int, empty_value=None, required=False)
    proposals = forms.TypedMultipleChoiceField(label=_("关联提议"), coerce=int, required=False,
                                               widget=forms.CheckboxSelectMultiple)
    requests = forms.TypedMultipleChoiceField(label=_("关联诉求"), coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("owner") and not (data.get("owner_label") or "").strip() and not self.errors:
            self.add_error("owner_label", _("请选择负责人账号，或填写负责单位。"))
        return data


class ActionUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=ActionStatus.choices, widget=forms.RadioSelect,
                               required=False)
    progress = forms.IntegerField(label=_("进度（%，可选）"), min_value=0, max_value=100, required=False,
                                  help_text=_("不填时按状态取默认进度。"))
    body = text_field(_("进展说明（公开）"), required=False, rows=3,
                      help_text=_("进展和照片会在公开页面显示，请不要拍摄或填写居民的个人信息。"))
    photos = PhotosField(label=_("现场照片（可选）"))


# Settings ---------------------------------------------------------------------------------------

class ConfigForm(forms.Form):
    """The community is chosen on the page (``?place=``), not in the form."""

    support_threshold = forms.IntegerField(label=_("列入议程所需附议人数"), min_value=1, max_value=100000,
                                           help_text=_("居民提议获得这么多附议后列入居委会议程；已提出的提议不受影响。"))
    progress_planned = forms.IntegerField(label=_("“计划中”默认进度（%）"), min_value=0, max_value=100)
    progress_in_progress = forms.IntegerField(label=_("“进行中”默认进度（%）"), min_value=0, max_value=100)
    progress_done = forms.IntegerField(label=_("“已完成”默认进度（%）"), min_value=0, max_value=100)
    reminder_hours = forms.IntegerField(label=_("投票提醒间隔（小时，0 为不提醒）"), min_value=0, max_value=24 * 30)
